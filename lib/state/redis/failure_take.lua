-- failure_take.lua: takes up to ARGV[2] queued failure reports, oldest first (FailureTake,
-- report_ops.hh); expired ones are dropped on the way.
-- KEYS[1]  dmarc:fq  list of "EXPIRES REPORT"
-- ARGV[1]  now, ms since the epoch
-- ARGV[2]  at most this many
-- Returns  {REPORT, REPORT, ...}
local now, max = tonumber(ARGV[1]), tonumber(ARGV[2])
local out = {}
while #out < max do
    local item = redis.call('LPOP', KEYS[1])
    if not item then
        break
    end
    local at, report = string.match(item, '^(%d+) (.*)$')
    if at and tonumber(at) > now then
        out[#out + 1] = report
    end
end
return out
