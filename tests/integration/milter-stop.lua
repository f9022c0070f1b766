-- SIGTERM in the middle of a transaction: the daemon lets the open message end with its
-- normal answer, answers a message begun meanwhile with 451 4.3.2 (the driver checks the log),
-- then exits 0.
dofile(lib)

local conn = mw.connect("192.0.2.10")
local other = mw.connect("192.0.2.11")
mw.check(mw.envelope(conn, "alice@example.test") == SMFIR_CONTINUE, "mail")
local headers, body = mw.message("signed")
mw.headers(conn, headers)
os.execute("kill -TERM " .. pid)
mt.sleep(1)
mw.check(mt.mailfrom(other, "<late@example.test>") == nil, "mail during the stop")
mw.check(mt.getreply(other) == SMFIR_REPLYCODE, "a new message is refused for now")
mw.body(conn, body)
mw.check(mt.eom(conn) == nil, "eom")
mw.check(mt.getreply(conn) == SMFIR_CONTINUE, "the open message ends normally")
mw.expect_results(conn, {"dkim=pass", "dmarc=pass"})
mt.disconnect(conn)
mt.disconnect(other)
