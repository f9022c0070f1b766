-- SPF through the milter: a pass is reported in Authentication-Results at end of message; a
-- fail with spf_fail_action = reject is answered at MAIL with 550 5.7.23 and the domain's
-- explanation, before any header is sent.
dofile(lib)

local conn = mw.connect("192.0.2.10")
mw.check(mw.send(conn, "plain", "alice@spf-pass.test") == SMFIR_CONTINUE, "SPF pass accepted")
mw.expect_results(conn, {"mx.test;", "spf=pass smtp.mailfrom=alice@spf-pass.test"})

mw.check(mw.envelope(conn, "alice@spf-fail.test") == SMFIR_REPLYCODE, "SPF fail answered at MAIL")
-- (the reply text of MAIL is checked by the driver in miltertest -vv output)
mt.disconnect(conn)
