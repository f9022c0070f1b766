-- DKIM through the milter: a signed message passes (and DMARC with it); a copy whose body was
-- changed after signing fails with a body hash mismatch, and DMARC still passes on aligned SPF.
dofile(lib)

local conn = mw.connect("192.0.2.10")
mw.check(mw.send(conn, "signed") == SMFIR_CONTINUE, "signed message accepted")
mw.expect_results(conn, {"mx.test;", "spf=pass", "dkim=pass header.d=example.test header.s=s1",
                         "dmarc=pass"})

mw.check(mw.send(conn, "tampered") == SMFIR_CONTINUE, "tampered message accepted (SPF aligned)")
mw.expect_results(conn, {"dkim=fail", "header.d=example.test", "dmarc=pass"})
mt.disconnect(conn)
