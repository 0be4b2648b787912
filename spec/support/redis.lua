-- A real redis-server for specs: started in a temporary directory on a
-- free loopback port, no persistence, never a system service; stopped (or
-- killed, and started again on the same port) by the spec.
local socket = require("socket")

local M = {}
local Redis = {}
Redis.__index = Redis

local free_port = require("support.free_port")
local files = require("support.files")
local process = require("support.process")

local function sh(cmd)
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  p:close()
  return out
end

-- opts.password: requirepass
function M.start(opts)
  opts = opts or {}
  local dir = files.tempdir()
  local self = setmetatable({ dir = dir, port = free_port(), password = opts.password }, Redis)
  self:launch()
  self.url = string.format("redis://127.0.0.1:%d/0", self.port)
  return self
end

function Redis:launch()
  local auth = self.password and (" --requirepass '" .. self.password .. "'") or ""
  -- Without the sanitizer runtime `make asan` preloads into the specs.
  self.pid = process.spawn(string.format("env -u LD_PRELOAD redis-server --bind 127.0.0.1 --port %d --dir %s "
    .. "--save '' --appendonly no --daemonize no%s >%s/log 2>&1 </dev/null", self.port, self.dir, auth, self.dir))
  local deadline = socket.gettime() + 10
  while socket.gettime() < deadline do
    local c = socket.tcp()
    c:settimeout(0.2)
    if c:connect("127.0.0.1", self.port) then
      c:send("PING\r\n")
      local line = c:receive("*l")
      c:close()
      if line == "+PONG" or (line or ""):match("NOAUTH") then return end
    else
      c:close()
    end
    socket.sleep(0.05)
  end
  error("redis-server did not start: " .. sh("cat " .. self.dir .. "/log"))
end

-- redis-cli on this server: its output.
function Redis:cli(args)
  local auth = self.password and (" --no-auth-warning -a '" .. self.password .. "'") or ""
  return sh(string.format("redis-cli -p %d%s %s 2>&1", self.port, auth, args))
end

-- SIGKILL: Redis gone at once, its data with it.
function Redis:kill()
  process.kill(self.pid)
end

function Redis:stop()
  if self.stopped then return end
  self.stopped = true
  process.stop(self.pid, 5)
  os.execute("rm -rf " .. self.dir)
end

return M
