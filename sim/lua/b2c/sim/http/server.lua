-- The listening side: accepts connections within the loop's socket budget
-- (closing the longest idle one when full) and runs each connection's
-- requests through the handler.
local socket = require("socket")
local loop_limits = require("b2c.sim.http.loop")
local connection = require("b2c.sim.http.conn")
local request = require("b2c.sim.http.request")
local response = require("b2c.sim.http.response")

local M = {}

local Server = {}
Server.__index = Server

--- Start listening. opts: host, port, handler(req) -> res, max_body,
--- idle_timeout, read_timeout, max_connections, log.
-- The handler runs inside the connection's task and may sleep. It returns a
-- response {status=, headers={{name, value}...}, body=} and may ask for a
-- wire-level fault (see response.write).
function M.new(loop, opts)
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
    max_connections = opts.max_connections or (loop_limits.MAX_SOCKETS - loop_limits.OUTBOUND_RESERVE),
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

function Server:serve(client)
  self.connections = self.connections + 1
  local conn = connection.new(self.loop, client, true)
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
  local limits = {
    read_timeout = self.read_timeout,
    max_body = self.max_body,
    began = function() self.idle[conn] = nil end, -- a request has begun
  }
  while not conn.closed do
    local wait = first and self.read_timeout or self.idle_timeout
    first = false
    if conn.buf == "" then
      self.idle[conn] = socket.gettime()
    end
    local req, err, reply = request.read(conn, socket.gettime() + wait, limits)
    self.idle[conn] = nil
    if conn.closed then
      break
    end
    if not req then
      if reply then
        response.refuse(conn, reply)
      end
      if err ~= "closed" and err ~= "timeout" and err ~= "too long" then
        self.log("connection error: " .. tostring(err))
      end
      break
    end
    local ok, res = pcall(self.handler, req)
    if not ok then
      self.log("handler error: " .. tostring(res))
      res = response.error(500, "Simulator error")
    end
    if not response.write(conn, req, res) then
      break
    end
  end
end

return M
