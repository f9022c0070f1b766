-- Aborts (RSET) in the middle of a transaction, in the headers and in the body, leave nothing
-- behind: the next message on the same connection is judged on its own envelope and content.
dofile(lib)

local conn = mw.connect("192.0.2.10")
local headers, body = mw.message("reject")
mw.check(mw.envelope(conn, "alice@reject.test") == SMFIR_CONTINUE, "mail")
mw.check(mt.header(conn, headers[1].name, headers[1].value) == nil, "one header")
mw.check(mt.abort(conn) == nil, "abort in the headers")

mw.check(mw.send(conn, "signed") == SMFIR_CONTINUE, "next message accepted")
mw.expect_results(conn, {"spf=pass smtp.mailfrom=alice@example.test", "dkim=pass", "dmarc=pass"})

mw.check(mw.envelope(conn, "alice@example.test") == SMFIR_CONTINUE, "mail")
mw.headers(conn, headers)
mw.check(mt.bodystring(conn, body) == nil, "body")
mw.check(mt.abort(conn) == nil, "abort in the body")

mw.check(mw.send(conn, "reject", "alice@reject.test") == SMFIR_REPLYCODE, "rejected on its own")
mw.check(mt.eom_check(conn, MT_SMTPREPLY, "550", "5.7.1",
                      "DMARC policy of reject.test rejects this unauthenticated mail"), "550 5.7.1")
mw.check(mw.send(conn, "signed") == SMFIR_CONTINUE, "and the next accepted")
mt.disconnect(conn)
