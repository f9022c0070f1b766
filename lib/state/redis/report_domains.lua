-- report_domains.lua: the domains counted in an interval (ReportDomains, report_ops.hh).
-- KEYS[1]  dmarc:n:I   hash: DH -> rows of the domain
-- KEYS[2]  dmarc:d:I   hash: DH -> "DOMAIN\nPOLICY"
-- ARGV[1]  now, ms since the epoch
-- Returns  {DOMAIN, POLICY, ROWS, DOMAIN, POLICY, ROWS, ...}, ROWS as decimal text
local now = tonumber(ARGV[1])
local at = tonumber(redis.call('HGET', KEYS[2], '~expires') or '')
if at and at <= now then
    return {}
end
local out = {}
local entries = redis.call('HGETALL', KEYS[2])
for i = 1, #entries, 2 do
    local dh, text = entries[i], entries[i + 1]
    local domain, policy = string.match(text, '^([^\n]*)\n(.*)$')
    if dh ~= '~expires' and domain then
        out[#out + 1] = domain
        out[#out + 1] = policy
        out[#out + 1] = redis.call('HGET', KEYS[1], dh) or '0'
    end
end
return out
