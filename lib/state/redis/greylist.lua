-- greylist.lua: one greylist triplet check (lib/state/rules.cc, greylist()).
-- KEYS[1]  the triplet
-- ARGV[1]  now, ms since the epoch
-- ARGV[2]  delay: ms before a retry passes
-- ARGV[3]  retry window: ms a refused triplet waits for its retry
-- ARGV[4]  pass lifetime: ms a passed triplet keeps passing
-- Returns  0 first seen (refused), 1 too early (refused), 2 passed, 3 known (allowed),
--          4 allowed without being recorded (Redis full: a triplet that cannot be recorded
--          could never pass, so it is let through)
-- Stores   TEXT = "seen FIRST" while waiting, "pass" after
local now = tonumber(ARGV[1])
local delay = tonumber(ARGV[2])
local retry_window = tonumber(ARGV[3])
local pass_lifetime = tonumber(ARGV[4])

local text = load_text(KEYS[1], now)
if text == 'pass' then
    return store_text(KEYS[1], now, now + pass_lifetime, 'pass') and 3 or 4
end
local first = text and tonumber(string.match(text, '^seen (%d+)$') or '')
if not first or first > now then
    return store_text(KEYS[1], now, now + retry_window, string.format('seen %d', now)) and 0 or 4
end
if now - first < delay then
    return 1
end
return store_text(KEYS[1], now, now + pass_lifetime, 'pass') and 2 or 4
