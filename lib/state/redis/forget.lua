-- forget.lua: removes a key (mailwarden ratelimit reset, reputation forget).
-- KEYS[1]  any mailwarden key
-- ARGV[1]  now, ms since the epoch
-- Returns  1 when a live value was removed, 0 when there was none
local existed = load_text(KEYS[1], tonumber(ARGV[1])) ~= nil
redis.call('DEL', KEYS[1])
return existed and 1 or 0
