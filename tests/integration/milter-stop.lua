-- SIGTERM in the middle of a transaction: the daemon stops accepting connections but lets
-- the open message end with its normal answer; the driver then sees it exit 0.
dofile(lib)

local conn = mw.connect("192.0.2.10")
mw.check(mw.envelope(conn, "alice@example.test") == SMFIR_CONTINUE, "mail")
local headers, body = mw.message("signed")
mw.headers(conn, headers)
os.execute("kill -TERM " .. pid)
mt.sleep(1)
mw.body(conn, body)
mw.check(mt.eom(conn) == nil, "eom")
mw.check(mt.getreply(conn) == SMFIR_CONTINUE, "the open message ends normally")
mw.expect_results(conn, {"dkim=pass", "dmarc=pass"})
mt.disconnect(conn)
