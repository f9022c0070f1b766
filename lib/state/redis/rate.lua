-- rate.lua: one GCRA rate-limit check (lib/state/rules.cc, rate()).
-- KEYS[1]  the bucket
-- ARGV[1]  now, ms since the epoch
-- ARGV[2]  interval: ms per request
-- ARGV[3]  burst: requests allowed at once
-- ARGV[4]  cost: requests this one counts for
-- Returns  {0, 0} when allowed (and counted); {1, RETRY_AFTER_MS} when limited;
--          {0, 0, 1} when allowed but not counted (Redis full: prelude.lua, store_text)
-- Stores   TEXT = the theoretical arrival time (ms), kept until that time
local now = tonumber(ARGV[1])
local interval = math.max(tonumber(ARGV[2]), 1)
local burst = math.max(tonumber(ARGV[3]), 1)
local cost = math.max(tonumber(ARGV[4]), 0)

local tat = now
local text = load_text(KEYS[1], now)
if text and string.match(text, '^%d+$') then
    tat = math.max(tonumber(text), now)
end
local new_tat = tat + interval * cost
local allow_at = new_tat - interval * burst
if now < allow_at then
    return {1, allow_at - now}
end
if not store_text(KEYS[1], now, new_tat, string.format('%d', new_tat)) then
    return {0, 0, 1}
end
return {0, 0}
