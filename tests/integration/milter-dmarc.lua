-- DMARC through the milter: p=reject with neither SPF nor DKIM aligned is rejected at end of
-- message with 550 5.7.1; p=quarantine is accepted, quarantined, and reported dmarc=fail.
dofile(lib)

local conn = mw.connect("192.0.2.10")
mw.check(mw.send(conn, "reject", "alice@reject.test") == SMFIR_REPLYCODE, "DMARC reject")
mw.check(mt.eom_check(conn, MT_SMTPREPLY, "550", "5.7.1",
                      "DMARC policy of reject.test rejects this unauthenticated mail"), "550 5.7.1")

mw.check(mw.send(conn, "quarantine", "alice@quarantine.test") == SMFIR_CONTINUE,
         "DMARC quarantine accepted")
mw.check(mt.eom_check(conn, MT_QUARANTINE), "quarantined")
mw.expect_results(conn, {"dmarc=fail", "header.from=quarantine.test"})
mt.disconnect(conn)
