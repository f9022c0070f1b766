-- A quota that can never pass through the milter (ratelimit quota sender 100/1h burst=2
-- count=recipients): a message to three recipients is refused at end of message for good
-- (550 5.5.3, the log says reject), not deferred; one to two recipients is accepted.
dofile(lib)

local conn = mw.connect("192.0.2.10")
mw.check(mw.envelope(conn, "alice@example.test",
                     {"a@example.net", "b@example.net", "c@example.net"}) == SMFIR_CONTINUE,
         "envelope of three recipients")
local headers, body = mw.message("signed")
mw.headers(conn, headers)
mw.body(conn, body)
mw.check(mt.eom(conn) == nil, "eom")
mw.check(mt.getreply(conn) == SMFIR_REPLYCODE, "three recipients: refused")
mw.check(mt.abort(conn) == nil, "rset")
mw.check(mw.envelope(conn, "alice@example.test", {"a@example.net", "b@example.net"}) ==
         SMFIR_CONTINUE, "envelope of two recipients")
mw.headers(conn, headers)
mw.body(conn, body)
mw.check(mt.eom(conn) == nil, "eom")
mw.check(mt.getreply(conn) == SMFIR_CONTINUE, "two recipients: accepted")
mt.disconnect(conn)
