-- report_rows.lua: a domain's rows in an interval (ReportRows, report_ops.hh).
-- KEYS[1]  dmarc:r:I:DH  hash: ROW -> count
-- ARGV[1]  now, ms since the epoch
-- Returns  {ROW, COUNT, ROW, COUNT, ...}, COUNT as decimal text
local now = tonumber(ARGV[1])
local at = tonumber(redis.call('HGET', KEYS[1], '~expires') or '')
if at and at <= now then
    return {}
end
local out = {}
local entries = redis.call('HGETALL', KEYS[1])
for i = 1, #entries, 2 do
    if entries[i] ~= '~expires' then
        out[#out + 1] = entries[i]
        out[#out + 1] = entries[i + 1]
    end
end
return out
