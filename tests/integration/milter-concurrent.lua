-- 50 connections open at once, their steps interleaved (every connection sends MAIL, then
-- every connection its headers, ...), so that 50 sessions are open in the daemon at the same
-- time. Even connections send a signed message that passes, odd ones a message that
-- DMARC rejects; each must get its own answer.
dofile(lib)
local count = 50
local conns = {}
for i = 1, count do
    conns[i] = mw.connect("192.0.2." .. (10 + i))
end
local function message_of(i)
    if i % 2 == 0 then
        return "signed", "alice@example.test"
    end
    return "reject", "alice@reject.test"
end
for i = 1, count do
    local _, sender = message_of(i)
    mw.check(mw.envelope(conns[i], sender) == SMFIR_CONTINUE, "mail " .. i)
end
local bodies = {}
for i = 1, count do
    local name = message_of(i)
    local headers, body = mw.message(name)
    mw.headers(conns[i], headers)
    bodies[i] = body
end
for i = 1, count do
    mw.body(conns[i], bodies[i])
end
for i = 1, count do
    mw.check(mt.eom(conns[i]) == nil, "eom " .. i)
end
for i = 1, count do
    local reply = mt.getreply(conns[i])
    if i % 2 == 0 then
        mw.check(reply == SMFIR_CONTINUE, "connection " .. i .. " accepted")
        mw.expect_results(conns[i], {"smtp.mailfrom=alice@example.test", "dkim=pass",
                                     "dmarc=pass", "header.from=example.test"})
    else
        mw.check(reply == SMFIR_REPLYCODE, "connection " .. i .. " rejected")
        mw.check(mt.eom_check(conns[i], MT_SMTPREPLY, "550", "5.7.1",
                              "DMARC policy of reject.test rejects this unauthenticated mail"),
                 "550 5.7.1 " .. i)
    end
end
for i = 1, count do
    mt.disconnect(conns[i])
end
