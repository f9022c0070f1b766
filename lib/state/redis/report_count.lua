-- report_count.lua: counts one message in a DMARC aggregate report row (lib/state/report_ops.hh,
-- ReportCount; lmdb_report.cc is the same rules on LMDB).
-- KEYS[1]  dmarc:n:I   hash: DH -> rows of the domain, "total" -> rows of the interval
-- KEYS[2]  dmarc:d:I   hash: DH -> "DOMAIN\nPOLICY"
-- KEYS[3]  dmarc:r:I:DH  hash: ROW -> count
-- ARGV[1]  now, ms since the epoch
-- ARGV[2]  expires, ms since the epoch (the interval's data goes then)
-- ARGV[3]  DH, the domain's hash
-- ARGV[4]  DOMAIN
-- ARGV[5]  POLICY text
-- ARGV[6]  ROW text
-- ARGV[7]  at most this many rows per domain
-- ARGV[8]  at most this many rows per interval
-- Returns  0 counted, 1 not counted: the domain has its rows, 2 not counted: the interval has
-- Each hash keeps its expiry in the field "~expires" (no DH or row starts with "~").
local now, expires = tonumber(ARGV[1]), tonumber(ARGV[2])
local dh, domain, policy, row = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local max_domain, max_interval = tonumber(ARGV[7]), tonumber(ARGV[8])

local function fresh(key)
    local at = tonumber(redis.call('HGET', key, '~expires') or '')
    if at and at <= now then
        redis.call('DEL', key)
    end
end
for i = 1, 3 do
    fresh(KEYS[i])
end
if redis.call('HEXISTS', KEYS[3], row) == 0 then
    local domain_rows = tonumber(redis.call('HGET', KEYS[1], dh) or '0')
    local total = tonumber(redis.call('HGET', KEYS[1], 'total') or '0')
    if domain_rows >= max_domain then
        return 1
    end
    if total >= max_interval then
        return 2
    end
    redis.call('HINCRBY', KEYS[1], dh, 1)
    redis.call('HINCRBY', KEYS[1], 'total', 1)
end
redis.call('HINCRBY', KEYS[3], row, 1)
redis.call('HSET', KEYS[2], dh, domain .. '\n' .. policy)
for i = 1, 3 do
    redis.call('HSET', KEYS[i], '~expires', string.format('%d', expires))
    redis.call('PEXPIRE', KEYS[i], math.max(expires - now, 1))
end
return 0
