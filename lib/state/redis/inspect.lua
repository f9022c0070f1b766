-- inspect.lua: what the admin tool shows (mailwarden ratelimit|reputation|greylist show).
-- KEYS[1]  any mailwarden key
-- ARGV[1]  now, ms since the epoch
-- Returns  the stored TEXT, "" when absent or expired
return load_text(KEYS[1], tonumber(ARGV[1])) or ''
