-- Shared helpers of the miltertest scripts (tests/integration/milter-*.lua). The Boost.Test
-- driver tests/unit/test-milter.cc starts mailwarden-milter and runs each script with
--   miltertest -s SCRIPT -D socket=unix:PATH -D dir=DIR -D lib=THIS_FILE [-D pid=PID]
-- where DIR holds the messages the driver wrote (NAME.eml, CRLF line ends). A failed check
-- raises a Lua error, which makes miltertest exit non-zero.
mw = {}

function mw.check(condition, what)
    if not condition then
        mt.echo("FAILED: " .. what)
        error("check failed: " .. what, 2)
    end
end

-- A connection to the milter, negotiated with miltertest's defaults (the protocol steps and
-- actions of a current MTA), announcing client NAME [IP] that said HELO helo.
function mw.connect(ip, helo, name)
    local conn = mt.connect(socket, 20, 0.25)
    mw.check(conn ~= nil, "connect to " .. socket)
    mw.check(mt.negotiate(conn, nil, nil, nil) == nil, "negotiate")
    mw.check(mt.conninfo(conn, name or "mx.client.test", ip or "192.0.2.10") == nil, "conninfo")
    mw.check(mt.helo(conn, helo or "mx.client.test") == nil, "helo")
    return conn
end

local function read_file(path)
    local file = assert(io.open(path, "rb"))
    local text = file:read("a")
    file:close()
    return text
end

-- The headers (name, value) and body of DIR/NAME.eml.
function mw.message(name)
    local text = read_file(dir .. "/" .. name .. ".eml")
    local split = text:find("\r\n\r\n", 1, true)
    local head, body = text:sub(1, split + 1), text:sub(split + 4)
    local headers = {}
    for line in head:gmatch("(.-)\r\n") do
        if line:match("^[ \t]") then
            -- a continuation: folded with a bare LF, as Postfix passes it
            headers[#headers].value = headers[#headers].value .. "\n" .. line
        else
            local field, value = line:match("^([^:]+):(.*)$")
            headers[#headers + 1] = {name = field, value = value}
        end
    end
    return headers, body
end

-- MAIL FROM and RCPT TO; returns the reply to MAIL.
function mw.envelope(conn, sender, recipients)
    mw.check(mt.mailfrom(conn, "<" .. sender .. ">") == nil, "mailfrom")
    local reply = mt.getreply(conn)
    if reply ~= SMFIR_CONTINUE then
        return reply
    end
    for _, recipient in ipairs(recipients or {"bob@example.net"}) do
        mw.check(mt.rcptto(conn, "<" .. recipient .. ">") == nil, "rcptto")
    end
    return reply
end

-- Sends the headers of a message. Without SMFIP_HDR_LEADSPC the MTA strips the space after
-- the colon, as Postfix and Sendmail do.
function mw.headers(conn, headers)
    local leading_space = mt.test_option(conn, SMFIP_HDR_LEADSPC)
    for _, header in ipairs(headers) do
        local value = header.value
        if not leading_space then
            value = value:gsub("^[ \t]+", "")
        end
        mw.check(mt.header(conn, header.name, value) == nil, "header " .. header.name)
    end
    mw.check(mt.eoh(conn) == nil, "eoh")
end

-- Sends the body in chunks of at most 65535 bytes, as the MTA does; stops early when the
-- milter answers SKIP. Returns the last reply.
function mw.body(conn, body)
    local at = 1
    while at <= #body do
        mw.check(mt.bodystring(conn, body:sub(at, at + 65534)) == nil, "body")
        local reply = mt.getreply(conn)
        if reply == SMFIR_SKIP then
            return reply
        end
        mw.check(reply == SMFIR_CONTINUE, "body reply " .. tostring(reply))
        at = at + 65535
    end
    return SMFIR_CONTINUE
end

-- A whole transaction for DIR/NAME.eml; returns the reply to end of message (or to MAIL when
-- that was final).
function mw.send(conn, name, sender)
    local reply = mw.envelope(conn, sender or "alice@example.test")
    if reply ~= SMFIR_CONTINUE then
        return reply
    end
    local headers, body = mw.message(name)
    mw.headers(conn, headers)
    mw.body(conn, body)
    mw.check(mt.eom(conn) == nil, "eom")
    return mt.getreply(conn)
end

-- The value of the Authentication-Results header the milter inserted, unfolded. With
-- SMFIP_HDR_LEADSPC agreed the MTA adds no space after the colon, so the milter must.
function mw.authentication_results(conn)
    mw.check(mt.eom_check(conn, MT_HDRINSERT, "Authentication-Results"),
             "an Authentication-Results header was inserted")
    local value = mt.getheader(conn, "Authentication-Results", 0)
    mw.check(value ~= nil, "read the inserted header")
    if mt.test_option(conn, SMFIP_HDR_LEADSPC) then
        mw.check(value:sub(1, 1) == " ", "the inserted value starts with its space")
        value = value:sub(2)
    end
    return (value:gsub("\n\t", " "))
end

function mw.expect_results(conn, patterns)
    local value = mw.authentication_results(conn)
    for _, pattern in ipairs(patterns) do
        mw.check(value:find(pattern, 1, true) ~= nil,
                 "Authentication-Results '" .. value .. "' contains '" .. pattern .. "'")
    end
    return value
end

return mw
