-- reputation.lua: reads and adds to decaying good/bad counters (lib/state/rules.cc,
-- reputation()).
-- KEYS[1]  the counters
-- ARGV[1]  now, ms since the epoch
-- ARGV[2]  good to add (0 to only read)
-- ARGV[3]  bad to add (0 to only read)
-- ARGV[4]  half-life, ms
-- ARGV[5]  lifetime in half-lives: how long changed counters are kept
-- Returns  {GOOD, BAD} as decimal text, the counters at `now` after the change (a number
--          would reach the caller truncated to an integer); a third element 1 when the change
--          could not be stored (Redis full)
-- Stores   TEXT = "GOOD BAD UPDATED" when something was added
local now = tonumber(ARGV[1])
local add_good = math.max(tonumber(ARGV[2]), 0)
local add_bad = math.max(tonumber(ARGV[3]), 0)
local half_life = tonumber(ARGV[4])
local lifetime = tonumber(ARGV[5])

local function counter(text)
    local value = tonumber(text)
    if value and value >= 0 and value < math.huge then
        return value
    end
    return nil
end

local good, bad = 0, 0
local text = load_text(KEYS[1], now)
if text then
    local good_text, bad_text, updated_text = string.match(text, '^(%S+) (%S+) (%d+)$')
    local stored_good, stored_bad = counter(good_text), counter(bad_text)
    local updated = tonumber(updated_text)
    if stored_good and stored_bad and updated then
        good, bad = stored_good, stored_bad
        if now > updated and half_life > 0 then
            local factor = 2 ^ (-(now - updated) / half_life)
            good, bad = good * factor, bad * factor
        end
    end
end
local stored = true
if add_good > 0 or add_bad > 0 then
    good, bad = good + add_good, bad + add_bad
    stored = store_text(KEYS[1], now, now + lifetime * half_life,
                        string.format('%.17g %.17g %d', good, bad, now))
end
if not stored then
    return {string.format('%.17g', good), string.format('%.17g', bad), 1}
end
return {string.format('%.17g', good), string.format('%.17g', bad)}
