-- Rate limits through the milter (limits per_client client_ip 2/1h and per_rcpt recipient
-- 1/1h, on the LMDB store): the third message of one client is refused at MAIL; a recipient
-- over its limit is refused at RCPT, which the milter then asks the MTA to wait for.
dofile(lib)

local conn = mw.connect("192.0.2.10")
mw.check(not mt.test_option(conn, SMFIP_NR_RCPT), "RCPT answered: a recipient limit exists")
mw.check(mw.send(conn, "signed") == SMFIR_CONTINUE, "first message")
mw.check(mt.mailfrom(conn, "<alice@example.test>") == nil, "mail")
mw.check(mt.getreply(conn) == SMFIR_CONTINUE, "second message of the client")
mw.check(mt.rcptto(conn, "<bob@example.net>") == nil, "rcpt")
mw.check(mt.getreply(conn) == SMFIR_REPLYCODE, "bob is over his limit")
mw.check(mt.rcptto(conn, "<carol@example.net>") == nil, "rcpt")
mw.check(mt.getreply(conn) == SMFIR_CONTINUE, "carol is not")
mw.check(mt.abort(conn) == nil, "rset")
mw.check(mt.mailfrom(conn, "<alice@example.test>") == nil, "mail")
mw.check(mt.getreply(conn) == SMFIR_REPLYCODE, "third message of the client")
mt.disconnect(conn)
