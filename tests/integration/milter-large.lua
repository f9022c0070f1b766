-- A message with 200 headers and a 20 MB body, streamed in 64 KB chunks as the MTA sends it;
-- the driver compares the daemon's peak memory before and after. The message is signed, so
-- every byte is hashed: the milter cannot skip the body.
dofile(lib)
mt.set_timeout(60)

local conn = mw.connect("192.0.2.10")
mw.check(mw.send(conn, "large") == SMFIR_CONTINUE, "accepted")
mw.expect_results(conn, {"dkim=pass header.d=example.test", "dmarc=pass"})
mt.disconnect(conn)
