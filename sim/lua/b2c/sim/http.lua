-- A small single-threaded HTTP/1.1 server and client on LuaSocket.
--
-- Every connection (and every outgoing callback) runs in its own coroutine.
-- A coroutine that would block registers what it waits for (a socket becoming
-- readable or writable, or a point in time) and yields; `Loop:step()` runs
-- socket.select() over everything waited for and resumes whoever is ready.
local socket = require("socket")

local M = {}

local gettime = socket.gettime

M.MAX_HEADER_BYTES = 16 * 1024
M.MAX_HEADERS = 100

local REASONS = {
  [100] = "Continue", [200] = "OK", [201] = "Created", [202] = "Accepted",
  [204] = "No Content", [400] = "Bad Request", [401] = "Unauthorized",
  [403] = "Forbidden", [404] = "Not Found", [405] = "Method Not Allowed",
  [408] = "Request Timeout", [411] = "Length Required",
  [413] = "Payload Too Large", [431] = "Request Header Fields Too Large",
  [500] = "Internal Server Error", [501] = "Not Implemented",
  [502] = "Bad Gateway", [503] = "Service Unavailable",
}
M.REASONS = REASONS

---------------------------------------------------------------------------
-- Event loop
---------------------------------------------------------------------------

local Loop = {}
Loop.__index = Loop

-- select() cannot watch a descriptor at or above FD_SETSIZE (1024 on
-- Linux): LuaSocket raises instead. The loop holds at most MAX_SOCKETS
-- sockets, so with stdio and the listening socket every descriptor stays
-- below it; a socket that is above it anyway is failed, never selected.
M.FD_SETSIZE = 1024
M.MAX_SOCKETS = 960
-- Slots outgoing connections leave free, so that the control endpoints
-- still answer while callbacks queue, and slots incoming connections leave
-- free, so that callbacks still go out while clients hold connections open.
M.INBOUND_RESERVE = 32
M.OUTBOUND_RESERVE = 64

function M.loop(opts)
  opts = opts or {}
  return setmetatable({
    readers = {},   -- socket -> {co=, deadline=}
    writers = {},
    sleepers = {},  -- list of {t=, co=}
    log = opts.log or function() end,
    tasks = 0,
    sockets = 0,    -- slots held (open sockets the loop may wait on)
    max_sockets = opts.max_sockets or M.MAX_SOCKETS,
    slot_waiters = {}, -- tasks queued for an outgoing slot, oldest first
  }, Loop)
end

local function resume(self, co, ...)
  local ok, err = coroutine.resume(co, ...)
  if not ok then
    self.log("task failed: " .. tostring(err))
  end
end

--- Run fn(...) in a new coroutine, right away until it first waits.
function Loop:spawn(fn, ...)
  local log = self.log
  local co = coroutine.create(function(...)
    self.tasks = self.tasks + 1
    local ok, err = xpcall(fn, debug.traceback, ...)
    self.tasks = self.tasks - 1
    if not ok then
      log("task error: " .. tostring(err))
    end
  end)
  resume(self, co, ...)
  return co
end

--- Wait (inside a task) until sock is readable ("r") or writable ("w").
-- Returns true when ready, false when `deadline` (absolute time) passed or
-- the wait was cancelled.
function Loop:wait_io(sock, mode, deadline)
  local co = coroutine.running()
  local set = mode == "w" and self.writers or self.readers
  set[sock] = { co = co, deadline = deadline }
  return coroutine.yield()
end

--- End every wait on sock: its task resumes with false on the next round.
function Loop:cancel(sock)
  for _, set in ipairs({ self.readers, self.writers }) do
    local w = set[sock]
    if w then
      set[sock] = nil
      local sleepers = self.sleepers
      sleepers[#sleepers + 1] = { t = 0, co = w.co, value = false }
    end
  end
end

--- Sleep (inside a task) for `seconds`.
function Loop:sleep(seconds)
  local sleepers = self.sleepers
  sleepers[#sleepers + 1] = { t = gettime() + math.max(0, seconds or 0), co = coroutine.running() }
  coroutine.yield()
end

--- Call fn() in a new task after `seconds`.
function Loop:after(seconds, fn)
  return self:spawn(function()
    self:sleep(seconds)
    fn()
  end)
end

--- Take a socket slot for an outgoing connection (inside a task), waiting
-- in line while all but INBOUND_RESERVE of them are held.
function Loop:acquire_outgoing()
  local waiters = self.slot_waiters
  if #waiters == 0 and self.sockets < self.max_sockets - M.INBOUND_RESERVE then
    self.sockets = self.sockets + 1
    return
  end
  waiters[#waiters + 1] = coroutine.running()
  coroutine.yield()
  -- release() handed this task its slot
end

--- Give a slot back; the oldest queued outgoing connection gets it.
function Loop:release()
  self.sockets = self.sockets - 1
  local waiters = self.slot_waiters
  if #waiters > 0 and self.sockets < self.max_sockets - M.INBOUND_RESERVE then
    self.sockets = self.sockets + 1
    local sleepers = self.sleepers
    sleepers[#sleepers + 1] = { t = 0, co = table.remove(waiters, 1) }
  end
end

local function collect(set, list)
  for sock in pairs(set) do
    list[#list + 1] = sock
  end
end

-- A socket select() can watch: open, with a descriptor below FD_SETSIZE
-- (an object without getfd is left to select, which skips it).
local function selectable(sock)
  if type(sock.getfd) ~= "function" then
    return true
  end
  local ok, fd = pcall(sock.getfd, sock)
  return ok and type(fd) == "number" and fd >= 0 and fd < M.FD_SETSIZE
end

-- Fail the waits on sockets select() cannot watch (their tasks see false,
-- as after a timeout): one bad socket never stops the loop.
function Loop:drop_unselectable()
  for _, set in ipairs({ self.readers, self.writers }) do
    local bad = {}
    for sock in pairs(set) do
      if not selectable(sock) then
        bad[#bad + 1] = sock
      end
    end
    for _, sock in ipairs(bad) do
      self.log("socket cannot be watched by select (closed or descriptor >= "
        .. M.FD_SETSIZE .. "): failing its wait")
      self:cancel(sock)
    end
  end
end

--- Run one round: wait at most `max_wait` seconds for something to happen,
-- then resume every task that became ready.
function Loop:step(max_wait)
  self:drop_unselectable()
  local now = gettime()
  local timeout = max_wait or 1
  for _, s in ipairs(self.sleepers) do
    timeout = math.min(timeout, s.t - now)
  end
  for _, set in ipairs({ self.readers, self.writers }) do
    for _, w in pairs(set) do
      if w.deadline then
        timeout = math.min(timeout, w.deadline - now)
      end
    end
  end
  if timeout < 0 then
    timeout = 0
  end
  local recvt, sendt = {}, {}
  collect(self.readers, recvt)
  collect(self.writers, sendt)
  local ok, readable, writable, err = pcall(socket.select, recvt, sendt, timeout)
  if not ok or type(readable) ~= "table" or type(writable) ~= "table" then
    -- should not happen (unwatchable sockets were dropped); do not spin
    self.log("select failed: " .. tostring(ok and err or readable))
    readable, writable = {}, {}
    socket.sleep(0.01)
  end

  local ready = {}
  for _, sock in ipairs(readable) do
    local w = self.readers[sock]
    if w then
      self.readers[sock] = nil
      ready[#ready + 1] = w.co
    end
  end
  for _, sock in ipairs(writable) do
    local w = self.writers[sock]
    if w then
      self.writers[sock] = nil
      ready[#ready + 1] = w.co
    end
  end
  for _, co in ipairs(ready) do
    resume(self, co, true)
  end

  now = gettime()
  local expired = {}
  for _, set in ipairs({ self.readers, self.writers }) do
    for sock, w in pairs(set) do
      if w.deadline and w.deadline <= now then
        set[sock] = nil
        expired[#expired + 1] = w.co
      end
    end
  end
  for _, co in ipairs(expired) do
    resume(self, co, false)
  end

  local due, keep = {}, {}
  for _, s in ipairs(self.sleepers) do
    if s.t <= now then
      due[#due + 1] = s
    else
      keep[#keep + 1] = s
    end
  end
  self.sleepers = keep
  table.sort(due, function(a, b) return a.t < b.t end)
  for _, s in ipairs(due) do
    resume(self, s.co, s.value)
  end
end

---------------------------------------------------------------------------
-- Buffered connection (works for plain and LuaSec sockets)
---------------------------------------------------------------------------

local Conn = {}
Conn.__index = Conn

-- `slot`: the connection holds one of the loop's socket slots, given back
-- on close.
function M.conn(loop, sock, slot)
  sock:settimeout(0)
  return setmetatable({ loop = loop, sock = sock, buf = "", slot = slot }, Conn)
end

-- Read more bytes into the buffer. Returns true, or nil and "closed",
-- "timeout" or a socket error.
function Conn:fill(deadline)
  while true do
    local data, err, partial = self.sock:receive(16384)
    local chunk = data or partial
    if chunk and #chunk > 0 then
      self.buf = self.buf .. chunk
      return true
    end
    if err == "closed" then
      return nil, "closed"
    end
    if err ~= "timeout" and err ~= "wantread" and err ~= "wantwrite" then
      return nil, err
    end
    local mode = err == "wantwrite" and "w" or "r"
    if not self.loop:wait_io(self.sock, mode, deadline) then
      return nil, "timeout"
    end
  end
end

-- One line without its end of line; nil, err on failure; nil, "too long".
function Conn:line(deadline, limit)
  while true do
    local i = self.buf:find("\n", 1, true)
    if i then
      local line = self.buf:sub(1, i - 1):gsub("\r$", "")
      self.buf = self.buf:sub(i + 1)
      return line
    end
    if #self.buf > limit then
      return nil, "too long"
    end
    local ok, err = self:fill(deadline)
    if not ok then
      return nil, err
    end
  end
end

-- Exactly n bytes.
function Conn:bytes(n, deadline)
  while #self.buf < n do
    local ok, err = self:fill(deadline)
    if not ok then
      return nil, err
    end
  end
  local data = self.buf:sub(1, n)
  self.buf = self.buf:sub(n + 1)
  return data
end

-- Everything until the peer closes (at most limit bytes).
function Conn:rest(deadline, limit)
  while #self.buf <= limit do
    local ok, err = self:fill(deadline)
    if not ok then
      if err == "closed" then
        break
      end
      return nil, err
    end
  end
  local data = self.buf
  self.buf = ""
  return data
end

function Conn:send(data, deadline)
  local i = 1
  local sock = self.sock
  while i <= #data do
    local last, err, partial = sock:send(data, i)
    if last then
      i = last + 1
    else
      if err ~= "timeout" and err ~= "wantwrite" and err ~= "wantread" then
        return nil, err
      end
      if partial and partial >= i then
        i = partial + 1
      end
      if i <= #data then
        local mode = err == "wantread" and "r" or "w"
        if not self.loop:wait_io(sock, mode, deadline) then
          return nil, "timeout"
        end
      end
    end
  end
  return true
end

function Conn:close()
  if not self.closed then
    self.closed = true
    self.sock:close()
    if self.slot then
      self.loop:release()
    end
  end
end

---------------------------------------------------------------------------
-- Message parsing shared by server and client
---------------------------------------------------------------------------

-- Read header lines into {lowercase name -> value} plus the ordered list.
local function read_headers(conn, deadline)
  local headers, list, total = {}, {}, 0
  while true do
    local line, err = conn:line(deadline, M.MAX_HEADER_BYTES)
    if not line then
      return nil, err
    end
    total = total + #line
    if total > M.MAX_HEADER_BYTES or #list >= M.MAX_HEADERS then
      return nil, "too long"
    end
    if line == "" then
      return headers, list
    end
    local name, value = line:match("^([^:%s]+):%s*(.-)%s*$")
    if not name then
      return nil, "bad header"
    end
    list[#list + 1] = { name, value }
    local lname = name:lower()
    if headers[lname] then
      headers[lname] = headers[lname] .. ", " .. value
    else
      headers[lname] = value
    end
  end
end
M.read_headers = read_headers

-- Read a body described by the headers. Returns body, or nil, err where err
-- is "too large", "bad length", "closed", "timeout"...
local function read_body(conn, headers, limit, deadline, until_close)
  local te = headers["transfer-encoding"]
  if te and te:lower():find("chunked", 1, true) then
    local parts, size = {}, 0
    while true do
      local line, err = conn:line(deadline, 1024)
      if not line then
        return nil, err
      end
      local n = tonumber(line:match("^%s*(%x+)"), 16)
      if not n then
        return nil, "bad chunk"
      end
      if n == 0 then
        -- trailers
        while true do
          local l, e = conn:line(deadline, M.MAX_HEADER_BYTES)
          if not l then
            return nil, e
          end
          if l == "" then
            break
          end
        end
        return table.concat(parts)
      end
      size = size + n
      if size > limit then
        return nil, "too large"
      end
      local data, e = conn:bytes(n, deadline)
      if not data then
        return nil, e
      end
      parts[#parts + 1] = data
      local _, e2 = conn:line(deadline, 16)
      if e2 then
        return nil, e2
      end
    end
  end
  local cl = headers["content-length"]
  if cl then
    local n = tonumber(cl:match("^%s*(%d+)%s*$"))
    if not n then
      return nil, "bad length"
    end
    if n > limit then
      return nil, "too large"
    end
    return conn:bytes(n, deadline)
  end
  if until_close then
    return conn:rest(deadline, limit)
  end
  return ""
end

---------------------------------------------------------------------------
-- Server
---------------------------------------------------------------------------

local function url_decode(s)
  s = s:gsub("+", " ")
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end
M.url_decode = url_decode

local function parse_query(q)
  local t = {}
  for pair in (q or ""):gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=?(.*)$")
    t[url_decode(k)] = url_decode(v)
  end
  return t
end

local function format_response(res, keep_alive, declared_length)
  local status = res.status or 200
  local lines = {
    string.format("HTTP/1.1 %d %s", status, res.reason or REASONS[status] or "Unknown"),
  }
  local has = {}
  for _, h in ipairs(res.headers or {}) do
    lines[#lines + 1] = h[1] .. ": " .. h[2]
    has[h[1]:lower()] = true
  end
  if not has["content-length"] then
    lines[#lines + 1] = "Content-Length: " .. (declared_length or #(res.body or ""))
  end
  if not has["date"] then
    lines[#lines + 1] = "Date: " .. os.date("!%a, %d %b %Y %H:%M:%S GMT")
  end
  lines[#lines + 1] = "Connection: " .. (keep_alive and "keep-alive" or "close")
  return table.concat(lines, "\r\n") .. "\r\n\r\n"
end

local Server = {}
Server.__index = Server

--- Start listening. opts: host, port, handler(req) -> res, max_body,
--- idle_timeout, max_connections, log.
-- The handler runs inside the connection's task and may sleep. It returns a
-- response {status=, headers={{name, value}...}, body=} and may add
-- `drop = true` (close without answering) or `truncate = true` (announce the
-- full length, send part of the body, close).
function M.server(loop, opts)
  local sock, err = socket.bind(opts.host or "127.0.0.1", opts.port or 0, 128)
  if not sock then
    return nil, err
  end
  sock:settimeout(0)
  local self = setmetatable({
    loop = loop,
    sock = sock,
    handler = opts.handler,
    max_body = opts.max_body or 64 * 1024,
    idle_timeout = opts.idle_timeout or 60,
    read_timeout = opts.read_timeout or 30,
    max_connections = opts.max_connections or (M.MAX_SOCKETS - M.OUTBOUND_RESERVE),
    connections = 0,
    idle = {},      -- conn -> time it began waiting for a request
    log = opts.log or function() end,
  }, Server)
  self.host, self.port = sock:getsockname()
  loop:spawn(function() self:accept_loop() end)
  return self
end

-- Make room for one more connection: close the one idle the longest
-- (waiting for a request; its client reconnects as after a keep-alive
-- timeout). False when every connection is inside a request.
function Server:evict()
  local oldest, since
  for conn, t in pairs(self.idle) do
    if not since or t < since then
      oldest, since = conn, t
    end
  end
  if not oldest then
    return false
  end
  self.loop:cancel(oldest.sock)
  self:forget(oldest)
  return true
end

-- Close a connection and stop counting it (once).
function Server:forget(conn)
  self.idle[conn] = nil
  if not conn.forgotten then
    conn.forgotten = true
    conn:close()
    self.connections = self.connections - 1
  end
end

function Server:full()
  return self.connections >= self.max_connections or self.loop.sockets >= self.loop.max_sockets
end

function Server:accept_loop()
  while not self.closed do
    local client, err = self.sock:accept()
    if client then
      local room = true
      if self:full() then
        room = self:evict()
        self.log("at capacity (" .. self.connections .. " connections, " .. self.loop.sockets
          .. " sockets): " .. (room and "closed the longest idle connection"
          or "every connection is busy, closing the new one"))
      end
      if room then
        self.loop.sockets = self.loop.sockets + 1
        self.loop:spawn(function() self:serve(client) end)
      else
        client:close()
      end
    elseif err ~= "timeout" then
      -- e.g. out of descriptors: the listening socket stays readable
      self.log("accept failed: " .. tostring(err))
      self.loop:sleep(0.1)
    else
      self.loop:wait_io(self.sock, "r")
    end
  end
end

function Server:close()
  self.closed = true
  self.sock:close()
end

local function error_response(status, message)
  local body = '{"errorCode":"' .. status .. '.000.00","errorMessage":"' .. message .. '"}'
  return { status = status, headers = { { "Content-Type", "application/json" } }, body = body }
end

-- Read one request. Returns req, or nil, err, response-to-send-or-nil.
function Server:read_request(conn, first_deadline)
  local line, err = conn:line(first_deadline, M.MAX_HEADER_BYTES)
  -- tolerate empty lines between requests
  while line == "" do
    line, err = conn:line(first_deadline, M.MAX_HEADER_BYTES)
  end
  if not line then
    if err == "too long" then
      return nil, err, error_response(431, "Request line too long")
    end
    return nil, err
  end
  self.idle[conn] = nil -- a request has begun
  local deadline = socket.gettime() + self.read_timeout
  local method, target, version = line:match("^(%u+) (%S+) HTTP/(%d%.%d)$")
  if not method then
    return nil, "bad request line", error_response(400, "Bad request line")
  end
  local headers, list = read_headers(conn, deadline)
  if not headers then
    if list == "too long" then
      return nil, list, error_response(431, "Request headers too large")
    end
    return nil, list, list ~= "closed" and error_response(400, "Bad request headers") or nil
  end
  local cl = headers["content-length"]
  if cl and tonumber(cl:match("^%s*(%d+)%s*$") or "") and tonumber(cl) > self.max_body then
    return nil, "too large", error_response(413, "Request body too large")
  end
  if (headers.expect or ""):lower() == "100-continue" then
    conn:send("HTTP/1.1 100 Continue\r\n\r\n", deadline)
  end
  local body, berr = read_body(conn, headers, self.max_body, deadline, false)
  if not body then
    if berr == "too large" then
      return nil, berr, error_response(413, "Request body too large")
    elseif berr == "bad length" or berr == "bad chunk" then
      return nil, berr, error_response(400, "Bad request body")
    end
    return nil, berr
  end
  local path, query = target:match("^([^?]*)%??(.*)$")
  local conn_header = (headers.connection or ""):lower()
  local keep_alive
  if version == "1.0" then
    keep_alive = conn_header:find("keep-alive", 1, true) ~= nil
  else
    keep_alive = conn_header:find("close", 1, true) == nil
  end
  return {
    method = method,
    target = target,
    path = path,
    query_string = query,
    query = parse_query(query),
    version = version,
    headers = headers,
    header_list = list,
    body = body,
    keep_alive = keep_alive,
    peer = conn.peer,
  }
end

function Server:serve(client)
  self.connections = self.connections + 1
  local conn = M.conn(self.loop, client, true)
  conn.peer = client:getpeername()
  local ok, err = pcall(self.converse, self, conn)
  if not ok then
    self.log("connection error: " .. tostring(err))
  end
  self:forget(conn)
end

-- Requests and answers on one connection until it closes.
function Server:converse(conn)
  local first = true
  while not conn.closed do
    local wait = first and self.read_timeout or self.idle_timeout
    first = false
    if conn.buf == "" then
      self.idle[conn] = socket.gettime()
    end
    local req, err, reply = self:read_request(conn, socket.gettime() + wait)
    self.idle[conn] = nil
    if conn.closed then
      break
    end
    if not req then
      if reply then
        conn:send(format_response(reply, false) .. reply.body, socket.gettime() + 5)
      end
      if err ~= "closed" and err ~= "timeout" and err ~= "too long" then
        self.log("connection error: " .. tostring(err))
      end
      break
    end
    local ok, res = pcall(self.handler, req)
    if not ok then
      self.log("handler error: " .. tostring(res))
      res = error_response(500, "Simulator error")
    end
    if res.drop then
      break
    end
    local body = res.body or ""
    local keep = req.keep_alive and not res.close and not res.truncate
    local deadline = socket.gettime() + 30
    if res.truncate then
      local part = body:sub(1, #body // 2)
      conn:send(format_response(res, false, #body) .. part, deadline)
      break
    end
    if res.trickle then -- one byte every res.trickle seconds, until done or closed
      local text = format_response(res, false) .. body
      for i = 1, #text do
        if not conn:send(text:sub(i, i), socket.gettime() + 5) then break end
        self.loop:sleep(res.trickle)
      end
      break
    end
    local sent = conn:send(format_response(res, keep) .. (req.method == "HEAD" and "" or body), deadline)
    if not sent or not keep then
      break
    end
  end
end

---------------------------------------------------------------------------
-- Client (for callbacks)
---------------------------------------------------------------------------

--- Split an http(s) URL. Returns {scheme, host, port, path} or nil, err.
function M.parse_url(url)
  if type(url) ~= "string" then
    return nil, "not a string"
  end
  local scheme, rest = url:match("^(%a[%w+.-]*)://(.*)$")
  if not scheme then
    return nil, "not an absolute URL"
  end
  scheme = scheme:lower()
  if scheme ~= "http" and scheme ~= "https" then
    return nil, "scheme " .. scheme .. " is not http or https"
  end
  local authority, path = rest:match("^([^/?#]*)(.*)$")
  path = path:gsub("#.*$", "")
  if path == "" then
    path = "/"
  elseif path:sub(1, 1) == "?" then
    path = "/" .. path
  end
  authority = authority:gsub("^.*@", "")
  local host, port
  if authority:sub(1, 1) == "[" then
    host, port = authority:match("^%[([%x:.]+)%]:?(%d*)$")
  else
    host, port = authority:match("^([^:]+):?(%d*)$")
  end
  if not host or host == "" then
    return nil, "no host"
  end
  if path:find("[%s%c]") then
    return nil, "bad path"
  end
  port = tonumber(port ~= "" and port or nil) or (scheme == "https" and 443 or 80)
  if port < 1 or port > 65535 then
    return nil, "bad port"
  end
  return { scheme = scheme, host = host, port = port, path = path }
end

local function connect(loop, u, deadline)
  local tcp
  if u.host:find(":", 1, true) then
    tcp = socket.tcp6()
  else
    tcp = socket.tcp()
  end
  if not tcp then
    return nil, "cannot create socket"
  end
  tcp:settimeout(0)
  local host = u.host == "localhost" and "127.0.0.1" or u.host
  local ok, err = tcp:connect(host, u.port)
  if not ok then
    if err ~= "timeout" then
      tcp:close()
      return nil, err
    end
    if not loop:wait_io(tcp, "w", deadline) then
      tcp:close()
      return nil, "connect timeout"
    end
    ok, err = tcp:connect(host, u.port)
    if not ok and err ~= "already connected" then
      tcp:close()
      return nil, err
    end
  end
  if u.scheme ~= "https" then
    return tcp
  end
  local has_ssl, ssl = pcall(require, "ssl")
  if not has_ssl then
    tcp:close()
    return nil, "https needs LuaSec"
  end
  local wrapped, werr = ssl.wrap(tcp, {
    mode = "client", protocol = "any", verify = "none", options = { "all" },
  })
  if not wrapped then
    tcp:close()
    return nil, werr
  end
  wrapped:settimeout(0)
  if wrapped.sni then
    wrapped:sni(u.host)
  end
  while true do
    local done, herr = wrapped:dohandshake()
    if done then
      return wrapped
    end
    local mode = (herr == "wantwrite") and "w" or ((herr == "wantread" or herr == "timeout") and "r")
    if not mode then
      wrapped:close()
      return nil, "TLS handshake failed: " .. tostring(herr)
    end
    if not loop:wait_io(wrapped, mode, deadline) then
      wrapped:close()
      return nil, "TLS handshake timeout"
    end
  end
end

-- Send one POST on conn and read the answer: status, body or nil, error.
local function exchange(conn, u, body, opts, deadline)
  local default_port = (u.scheme == "https" and 443 or 80)
  local host = u.host:find(":", 1, true) and ("[" .. u.host .. "]") or u.host
  if u.port ~= default_port then
    host = host .. ":" .. u.port
  end
  local head = {
    "POST " .. u.path .. " HTTP/1.1",
    "Host: " .. host,
    "User-Agent: " .. (opts.user_agent or "b2c-sim"),
    "Content-Type: application/json",
    "Accept: */*",
    "Content-Length: " .. #body,
    "Connection: close",
  }
  local ok, serr = conn:send(table.concat(head, "\r\n") .. "\r\n\r\n" .. body, deadline)
  if not ok then
    return nil, "send failed: " .. tostring(serr)
  end
  local status_line, lerr = conn:line(deadline, M.MAX_HEADER_BYTES)
  if not status_line then
    return nil, "no response: " .. tostring(lerr)
  end
  local status = tonumber(status_line:match("^HTTP/%d%.%d (%d%d%d)"))
  if not status then
    return nil, "bad status line"
  end
  local headers = read_headers(conn, deadline)
  local rbody = ""
  if headers then
    rbody = read_body(conn, headers, 64 * 1024, deadline, true) or ""
  end
  return status, rbody
end

--- POST `body` to `url` from inside a task. Returns status, response body,
-- or nil and an error message. opts: timeout (seconds, from the moment a
-- socket is free), user_agent, cancelled() (true: give up before sending).
function M.post(loop, url, body, opts)
  opts = opts or {}
  local u, err = M.parse_url(url)
  if not u then
    return nil, "refused URL: " .. err
  end
  -- queued while the loop holds all the sockets it may; the attempt's time
  -- starts once it has a socket
  loop:acquire_outgoing()
  if opts.cancelled and opts.cancelled() then
    loop:release()
    return nil, "cancelled"
  end
  local deadline = socket.gettime() + (opts.timeout or 5)
  local ok_connect, sock, cerr = pcall(connect, loop, u, deadline)
  if not ok_connect or not sock then
    loop:release()
    return nil, ok_connect and cerr or ("connect failed: " .. tostring(sock))
  end
  local conn = M.conn(loop, sock, true)
  local ok, status, rbody = pcall(exchange, conn, u, body, opts, deadline)
  conn:close()
  if not ok then
    return nil, "callback failed: " .. tostring(status)
  end
  return status, rbody
end

return M
