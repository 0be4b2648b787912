-- A callback receiver for tests: a small HTTP server on 127.0.0.1 that
-- answers every request (200 by default) and keeps what arrived. It runs
-- inside the test's own process, polled while the test waits, so a plain
-- Lua test (no nginx, no web framework) can see the result callbacks of
-- the simulator or of Daraja's sandbox.
--
--   local receiver = require("b2c.sim.receiver")
--   local r = receiver.new()             -- r.url: give it as ResultURL
--   ... send a payout with ResultURL = r.url ...
--   local got = r:wait(1, 10)            -- {method, path, headers, raw, body, answered, at}
--   r:close()
--
-- It runs under Lua 5.1 to 5.4 and LuaJIT (a test under any version may
-- use it), with LuaSocket and lua-cjson.
local socket = require("socket")
local cjson = require("cjson.safe").new()

local M = {}
local Receiver = {}
Receiver.__index = Receiver

--- A callback receiver on 127.0.0.1. opts: port (default: a free one),
-- path (default "/callback"), status (HTTP status answered, default 200),
-- failFirst (answer the first N requests with 500).
function M.new(opts)
  opts = opts or {}
  local server = assert(socket.bind("127.0.0.1", opts.port or 0))
  server:settimeout(0)
  local _, port = server:getsockname()
  local self = setmetatable({
    server = server,
    port = tonumber(port),
    clients = {},
    received = {},
    status = opts.status or 200,
    failFirst = opts.failFirst or 0,
  }, Receiver)
  self.base = "http://127.0.0.1:" .. self.port
  self.url = self.base .. (opts.path or "/callback")
  return self
end

--- URL of another path on this receiver.
function Receiver:urlFor(path)
  return self.base .. path
end

local function try_parse(c)
  local head_end = c.buf:find("\r\n\r\n", 1, true)
  if not head_end then
    return nil
  end
  local head = c.buf:sub(1, head_end - 1)
  local method, path = head:match("^(%u+) (%S+)")
  local headers = {}
  for k, v in head:gmatch("\r\n([^:\r\n]+):%s*([^\r\n]*)") do
    headers[k:lower()] = v
  end
  local len = tonumber(headers["content-length"] or "0") or 0
  if #c.buf < head_end + 3 + len then
    return nil
  end
  local raw = c.buf:sub(head_end + 4, head_end + 3 + len)
  return { method = method, path = path, headers = headers, raw = raw, body = cjson.decode(raw) }
end

--- Serve for up to `timeout` seconds (non-blocking accept and reads).
function Receiver:poll(timeout)
  if not self.server then
    return
  end
  local recvt = { self.server }
  for _, c in ipairs(self.clients) do
    recvt[#recvt + 1] = c.sock
  end
  local ready = socket.select(recvt, nil, timeout or 0)
  local readable = {}
  for _, s in ipairs(ready or {}) do
    readable[s] = true
  end
  if readable[self.server] then
    while true do
      local sock = self.server:accept()
      if not sock then
        break
      end
      sock:settimeout(0)
      self.clients[#self.clients + 1] = { sock = sock, buf = "" }
    end
  end
  local keep = {}
  for _, c in ipairs(self.clients) do
    local done = false
    if readable[c.sock] then
      local data, err, partial = c.sock:receive(65536)
      local chunk = data or partial
      if chunk and #chunk > 0 then
        c.buf = c.buf .. chunk
      elseif err == "closed" then
        done = true
      end
      local req = not done and try_parse(c)
      if req then
        req.at = socket.gettime()
        local status = self.status
        if self.failFirst > 0 then
          self.failFirst = self.failFirst - 1
          status = 500
        end
        req.answered = status
        self.received[#self.received + 1] = req
        local body = status < 300 and '{"ResultCode":0,"ResultDesc":"Accepted"}' or '{"error":"try later"}'
        c.sock:settimeout(1)
        c.sock:send(string.format("HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
          .. "Connection: close\r\n\r\n%s", status, #body, body))
        done = true
      end
    end
    if done then
      c.sock:close()
    else
      keep[#keep + 1] = c
    end
  end
  self.clients = keep
end

--- Wait until at least n requests have arrived or `timeout` seconds pass.
-- Returns the list of all requests received so far: {method, path, headers,
-- raw, body (decoded JSON), answered, at}.
function Receiver:wait(n, timeout)
  local deadline = socket.gettime() + (timeout or 5)
  while #self.received < n do
    local left = deadline - socket.gettime()
    if left <= 0 then
      break
    end
    self:poll(math.min(left, 0.05))
  end
  return self.received
end

--- Serve for `seconds` whatever arrives, then return everything received.
function Receiver:collect(seconds)
  local deadline = socket.gettime() + seconds
  while socket.gettime() < deadline do
    self:poll(math.min(deadline - socket.gettime(), 0.05))
  end
  return self.received
end

function Receiver:close()
  for _, c in ipairs(self.clients) do
    c.sock:close()
  end
  self.clients = {}
  if self.server then
    self.server:close()
    self.server = nil
  end
end

return M
