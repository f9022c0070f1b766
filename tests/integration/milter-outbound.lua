-- Outbound mail and the queue id: a SASL-authenticated client ({auth_authen} at MAIL) sending
-- mail that DMARC would reject inbound is accepted without Authentication-Results; the queue
-- id the MTA sends (macro i with MAIL, as the milter asks with smfi_setsymlist and Postfix's
-- milter_mail_macros has it) starts the log line, which the driver checks.
dofile(lib)

local conn = mw.connect("192.0.2.10")
mw.check(mt.macro(conn, SMFIC_MAIL, "{auth_authen}", "alice", "i", "4QkZ3T1x") == nil, "macro")
mw.check(mt.mailfrom(conn, "<alice@reject.test>") == nil, "mailfrom")
mw.check(mt.getreply(conn) == SMFIR_CONTINUE, "mail accepted")
mw.check(mt.rcptto(conn, "<bob@example.net>") == nil, "rcptto")
local headers, body = mw.message("reject")
mw.headers(conn, headers)
mw.body(conn, body)
mw.check(mt.eom(conn) == nil, "eom")
mw.check(mt.getreply(conn) == SMFIR_CONTINUE, "outbound accepted")
mw.check(not mt.eom_check(conn, MT_HDRINSERT, "Authentication-Results"), "no A-R on outbound")
mt.disconnect(conn)
