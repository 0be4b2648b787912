-- The fleet's callback receiver: an HTTP server on loopback that hands
-- each callback the simulator posts to the shared ledger. /result and
-- /status (payout results, Transaction Status results) go to
-- ledger:applyResult, /timeout to ledger:applyQueueTimeout. Every
-- DROP_EVERY-th callback (0: none) is dropped unanswered and unapplied, so
-- the simulator delivers it again (or, after its last attempt, never).
--   lua5.4 spec/support/fleet_applier.lua DB_URL STOP_FILE DROP_EVERY
-- Prints "listening PORT" once ready; when STOP_FILE exists, prints
--   applied N dropped D errors E paid P failed F unknown U duplicate U2 ... [first error]
-- and exits.
package.path = "lua/?.lua;lua/?/init.lua;spec/?.lua;" .. package.path
package.cpath = "build/?.so;" .. package.cpath
local ledger = require("b2c.ledger")
local socket = require("socket")

local url, stop, drop_every = arg[1], arg[2], tonumber(arg[3])

local book = assert(ledger.open(url))
local listener = assert(socket.bind("127.0.0.1", 0, 1024))
local _, port = listener:getsockname()
io.stdout:write("listening ", port, "\n")
io.stdout:flush()

local counts, applied_as = { applied = 0, dropped = 0, errors = 0 }, {}
local received, first_error = 0, nil

-- One request from conn: path, body (nil when it did not come whole).
local function read_request(conn)
  local line = conn:receive("*l")
  if not line then return nil end
  local length = 0
  repeat
    local h = conn:receive("*l")
    if not h then return nil end
    local n = h:lower():match("^content%-length:%s*(%d+)")
    if n then length = tonumber(n) end
  until h == ""
  local body = length > 0 and conn:receive(length) or ""
  return line:match("^POST (%S+)"), body
end

local function answer(conn, status, text)
  conn:send(string.format("HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
    .. "Connection: close\r\n\r\n%s", status, status == 200 and "OK" or "Error", #text, text))
end

local function apply(path, body)
  if path == "/timeout" then return book:applyQueueTimeout(body) end
  return book:applyResult(body)
end

local function serve(conn)
  conn:settimeout(5)
  local path, body = read_request(conn)
  if not path or not body then return end
  received = received + 1
  if drop_every > 0 and received % drop_every == 0 then
    counts.dropped = counts.dropped + 1
    return
  end
  local r, err = apply(path, body)
  if not r then
    counts.errors = counts.errors + 1
    first_error = first_error or (path .. ": " .. tostring(err))
    -- a store failure: the simulator delivers it again
    return answer(conn, 500, '{"ResultCode":1,"ResultDesc":"not recorded"}')
  end
  counts.applied = counts.applied + 1
  applied_as[r.applied] = (applied_as[r.applied] or 0) + 1
  answer(conn, 200, '{"ResultCode":0,"ResultDesc":"Accepted"}')
end

local function stopping()
  local f = io.open(stop, "rb")
  if f then f:close() end
  return f ~= nil
end

-- The stop file is looked for between callbacks too: a simulator still
-- delivering (repeats, late ones) never leaves the receiver idle.
listener:settimeout(0.2)
local served = 0
repeat
  local conn = listener:accept()
  if conn then
    serve(conn)
    conn:close()
    served = served + 1
  end
until (not conn or served % 20 == 0) and stopping()
listener:close()
book:close()
local parts = {}
for name, n in pairs(applied_as) do parts[#parts + 1] = name .. " " .. n end
table.sort(parts)
io.stdout:write(string.format("applied %d dropped %d errors %d %s %s\n", counts.applied, counts.dropped,
  counts.errors, table.concat(parts, " "), first_error or ""))
