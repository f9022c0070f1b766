-- DNS timeouts: a p=reject domain whose DKIM key lookup never answers cannot be judged, so
-- on_dns_error (tempfail) answers 451 4.4.3 naming that lookup; an SPF record lookup that never answers is
-- spf=temperror in Authentication-Results, and the message (no DMARC policy) is accepted.
dofile(lib)
mt.set_timeout(30)

local conn = mw.connect("192.0.2.10")
mw.check(mw.send(conn, "slow", "alice@slow.test") == SMFIR_REPLYCODE, "tempfail")
mw.check(mt.eom_check(conn, MT_SMTPREPLY, "451", "4.4.3",
                      "DNS error looking up s1._domainkey.slow.test, try again later"),
         "451 4.4.3")

mw.check(mw.send(conn, "plain", "alice@spf-slow.test") == SMFIR_CONTINUE, "accepted")
mw.expect_results(conn, {"spf=temperror"})
mt.disconnect(conn)
