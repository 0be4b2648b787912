-- A TLS front (socat) on a free loopback port for a plain HTTP server on
-- `target_port`, with the certificate of spec/fixtures/tls/server.pem
-- (for localhost; its CA: spec/fixtures/tls/ca.pem). Ready when it has
-- accepted a probe connection and logged so.
--   local proxy = require("support.tls_proxy").start(s.port)
--   proxy.port;  proxy:stop()   -- stopped and waited for; idempotent
local socket = require("socket")
local process = require("support.process")
local free_port = require("support.free_port")
local files = require("support.files")

local M = {}
local Proxy = {}
Proxy.__index = Proxy

function M.start(target_port)
  local self = setmetatable({ port = free_port(), log = os.tmpname() }, Proxy)
  self.pid = process.spawn(string.format("socat -d -d OPENSSL-LISTEN:%d,bind=127.0.0.1,"
    .. "reuseaddr,fork,cert=spec/fixtures/tls/server.pem,verify=0 TCP:127.0.0.1:%d 2>%s",
    self.port, target_port, self.log))
  for _ = 1, 100 do
    local c = socket.connect("127.0.0.1", self.port)
    if c then c:close() break end
    socket.sleep(0.05)
  end
  -- socat logs the probe's accept on its own time: wait for that line, or
  -- a busy machine counts it against the first test.
  files.wait_for(self.log, "accepting connection", 5)
  return self
end

function Proxy:stop()
  if self.pid then process.stop(self.pid, 2) end
  os.remove(self.log)
  self.pid = nil
end

return M
