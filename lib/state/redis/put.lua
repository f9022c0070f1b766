-- put.lua: stores a value the caller computed (mailwarden reputation set, greylist allow).
-- KEYS[1]  any mailwarden key
-- ARGV[1]  now, ms since the epoch
-- ARGV[2]  expires, ms since the epoch
-- ARGV[3]  TEXT (lib/state/rules.hh)
-- Returns  1, or 0 when Redis is full and did not store it
return store_text(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]) and 1 or 0
