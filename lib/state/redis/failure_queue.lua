-- failure_queue.lua: queues one DMARC failure report for the report job (FailureQueue,
-- report_ops.hh), within the domain's hourly limit and the queue's bound.
-- KEYS[1]  dmarc:fq          list of "EXPIRES REPORT", oldest first
-- KEYS[2]  dmarc:fr:HOUR:DH  reports the domain queued this hour ("EXPIRES COUNT")
-- ARGV[1]  now, ms since the epoch
-- ARGV[2]  REPORT text
-- ARGV[3]  at most this many per domain and hour
-- ARGV[4]  at most this many queued
-- ARGV[5]  expires, ms since the epoch (of the queued report)
-- Returns  0 queued, 1 over the hourly limit, 2 the queue is full
local now, report = tonumber(ARGV[1]), ARGV[2]
local per_hour, max_queued, expires = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local hour = 3600000

local this_hour = tonumber(load_text(KEYS[2], now) or '0') or 0
if this_hour >= per_hour then
    return 1
end
-- Expired reports at the head go first, so they do not hold the queue full.
while true do
    local head = redis.call('LINDEX', KEYS[1], 0)
    local at = head and tonumber(string.match(head, '^(%d+) '))
    if not head or (at and at > now) then
        break
    end
    redis.call('LPOP', KEYS[1])
end
if redis.call('LLEN', KEYS[1]) >= max_queued then
    return 2
end
store_text(KEYS[2], now, (math.floor(now / hour) + 1) * hour, string.format('%d', this_hour + 1))
redis.call('RPUSH', KEYS[1], string.format('%d %s', expires, report))
local ttl = redis.call('PTTL', KEYS[1])
if ttl < expires - now then
    redis.call('PEXPIRE', KEYS[1], math.max(expires - now, 1))
end
return 0
