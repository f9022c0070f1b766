-- One message from client 192.0.2.10, for the reputation tests of test-milter.cc: DIR/NAME.eml
-- (the define `message`) from `sender`, answered at the end of the message with `code`
-- ("continue" for an accepted message, else an SMTP reply code with `status` and `text`, all three
-- checked).
dofile(lib)
mt.set_timeout(30)

local conn = mw.connect("192.0.2.10")
local reply = mw.send(conn, message, sender)
if code == "continue" then
    mw.check(reply == SMFIR_CONTINUE, "accepted")
else
    mw.check(reply == SMFIR_REPLYCODE, "answered with a reply code")
    mw.check(mt.eom_check(conn, MT_SMTPREPLY, code, status, text),
             code .. " " .. status .. " " .. text)
end
mt.disconnect(conn)
