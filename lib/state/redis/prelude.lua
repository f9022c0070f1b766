-- prelude.lua: the two functions every mailwarden script shares; the build puts this text in
-- front of each script (lib/state/local.mk), so each one sent to Redis stands alone.
--
-- A stored value is "EXPIRES TEXT". EXPIRES is when the value stops counting, in ms since
-- the epoch on the caller's clock, the `now` every script takes as ARGV[1] (a fleet of MX
-- hosts shares one Redis; tests move the clock). Redis's own expiry is set from the same
-- difference and only frees the memory. TEXT is described in lib/state/rules.hh.

-- The TEXT of `key` at `now`; nil when absent, expired or not ours.
local function load_text(key, now)
    local stored = redis.call('GET', key)
    if not stored then
        return nil
    end
    local expires, text = string.match(stored, '^(%d+) (.*)$')
    if not expires or tonumber(expires) <= now then
        return nil
    end
    return text
end

-- Stores TEXT until `expires`; a value already expired is removed instead. Returns false when
-- Redis refused to store it because it is full (maxmemory reached under maxmemory-policy
-- noeviction: an OOM error); the caller then answers as if stored and says it was not. Any
-- other error (a replica's READONLY) ends the script as before.
local function store_text(key, now, expires, text)
    if expires <= now then
        redis.call('DEL', key)
        return true
    end
    local reply = redis.pcall('SET', key, string.format('%d %s', expires, text),
                              'PX', string.format('%d', expires - now))
    if type(reply) == 'table' and reply.err then
        if string.sub(reply.err, 1, 3) == 'OOM' then
            return false
        end
        error(reply)
    end
    return true
end
