-- report_claim.lua: once-only sending of a report (ReportClaim, report_ops.hh; the same rules
-- as apply_claim() in report_ops.cc).
-- KEYS[1]  dmarc:c:I   hash: DH -> "claimed OWNER UNTIL" | "sending OWNER AT" | "sent AT"
-- ARGV[1]  now, ms since the epoch
-- ARGV[2]  DH, the domain's hash
-- ARGV[3]  OWNER (no spaces)
-- ARGV[4]  step: claim | sending | sent | release
-- ARGV[5]  lease, ms
-- ARGV[6]  expires, ms since the epoch (of the claim)
-- Returns  0 claimed, 1 busy, 2 sending, 3 sent, 4 lost
local now, dh, owner, step = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4]
local lease, expires = tonumber(ARGV[5]), tonumber(ARGV[6])
local CLAIMED, BUSY, SENDING, SENT, LOST = 0, 1, 2, 3, 4

local at_expiry = tonumber(redis.call('HGET', KEYS[1], '~expires') or '')
if at_expiry and at_expiry <= now then
    redis.call('DEL', KEYS[1])
end
local text = redis.call('HGET', KEYS[1], dh)
local state, holder, at
if text then
    state, holder, at = string.match(text, '^(%a+) (%S+) (%d+)$')
    if not state then
        state, at = string.match(text, '^(sent) (%d+)$')
        holder = nil
    end
    at = tonumber(at)
    if state ~= 'claimed' and state ~= 'sending' and state ~= 'sent' then
        state = nil
    end
end
local mine = state ~= nil and holder == owner

local function write(value)
    if value == '' then
        redis.call('HDEL', KEYS[1], dh)
        return
    end
    redis.call('HSET', KEYS[1], dh, value)
    redis.call('HSET', KEYS[1], '~expires', string.format('%d', expires))
    redis.call('PEXPIRE', KEYS[1], math.max(expires - now, 1))
end

if state == 'sent' then
    if step == 'claim' or step == 'sending' then
        return SENT
    end
    return LOST
end
if step == 'claim' then
    if state == 'sending' then
        return SENDING
    end
    if state and not mine and at > now then
        return BUSY
    end
    write(string.format('claimed %s %d', owner, now + lease))
    return CLAIMED
elseif step == 'sending' then
    if state == 'claimed' and mine and at > now then
        write(string.format('sending %s %d', owner, now))
        return CLAIMED
    end
    if state == 'sending' then
        return SENDING
    end
    if state and not mine and at > now then
        return BUSY
    end
    return LOST
elseif step == 'sent' then
    if mine then
        write(string.format('sent %d', now))
        return SENT
    end
    return LOST
elseif step == 'release' then
    if mine then
        write('')
        return CLAIMED
    end
    return LOST
end
return LOST
