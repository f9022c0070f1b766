-- Forged Authentication-Results: the message carries two headers claiming our authserv-id
-- (mx.test) around one from another host. Both forgeries are removed (the driver checks
-- their indexes in the daemon's log), the other host's header is kept, ours is inserted.
dofile(lib)

local conn = mw.connect("192.0.2.10")
mw.check(mw.send(conn, "forged") == SMFIR_CONTINUE, "accepted")
mw.check(mt.eom_check(conn, MT_HDRDELETE, "Authentication-Results") or
         mt.eom_check(conn, MT_HDRCHANGE, "Authentication-Results"), "forged header removed")
mw.expect_results(conn, {"mx.test;", "dkim=pass"})
mt.disconnect(conn)

-- An MTA that cannot change headers: removing the forgery fails inside the milter, which is
-- an internal error: on_internal_error (tempfail), never a silent accept.
local limited = mt.connect(socket, 20, 0.25)
-- Debian's miltertest reads (conn, version, protocol steps, actions), whatever its man page says.
mw.check(mt.negotiate(limited, nil, nil, SMFIF_ADDHDRS + SMFIF_QUARANTINE) == nil, "negotiate")
mw.check(mt.conninfo(limited, "mx.client.test", "192.0.2.10") == nil, "conninfo")
mw.check(mw.send(limited, "forged") == SMFIR_REPLYCODE, "tempfail")
mw.check(mt.eom_check(limited, MT_SMTPREPLY, "451", "4.3.0", "internal error, try again later"),
         "451 4.3.0")
mt.disconnect(limited)
