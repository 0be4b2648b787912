-- Spec helper: run support/stub_daraja_server.lua in the background.
--   local stub = require("support.stub_daraja").start{ answers = {...}, default = {...} }
--   stub.url, stub:log() -> { {at, method, path, ocid}... }, stub:posts(), stub:stop()
local cjson = require("cjson.safe")
local socket = require("socket")
local sim = require("support.sim")
local read_file = require("support.files").read
local process = require("support.process")

local M = {}
local Stub = {}
Stub.__index = Stub

function M.start(plan)
  local plan_file, log_file, ready_file = os.tmpname(), os.tmpname(), os.tmpname()
  os.remove(ready_file)
  local f = assert(io.open(plan_file, "wb"))
  f:write(assert(cjson.encode(plan or {})))
  f:close()
  local pid = process.spawn(string.format("%s %s/spec/support/stub_daraja_server.lua %s %s %s "
    .. ">/dev/null 2>&1 </dev/null", sim.lua, sim.root, plan_file, log_file, ready_file))
  local self = setmetatable({ pid = pid, files = { plan_file, log_file, ready_file },
    log_file = log_file }, Stub)
  local deadline = socket.gettime() + 5
  while not read_file(ready_file) or read_file(ready_file) == "" do
    assert(socket.gettime() < deadline, "the stub Daraja did not start")
    socket.sleep(0.01)
  end
  self.url = "http://127.0.0.1:" .. read_file(ready_file)
  return self
end

function Stub:log()
  local out = {}
  for line in (read_file(self.log_file) or ""):gmatch("[^\n]+") do
    local at, method, path, ocid = line:match("^(%S+) (%S+) (%S+) (%S+)$")
    out[#out + 1] = { at = tonumber(at), method = method, path = path, ocid = ocid ~= "-" and ocid or nil }
  end
  return out
end

-- The payment (non-OAuth) requests, in order.
function Stub:posts()
  local out = {}
  for _, r in ipairs(self:log()) do
    if not r.path:find("^/oauth/") then out[#out + 1] = r end
  end
  return out
end

function Stub:tokens()
  return #self:log() - #self:posts()
end

function Stub:stop()
  if self.stopped then return end
  self.stopped = true
  process.stop(self.pid, 2)
  for _, name in ipairs(self.files) do os.remove(name) end
end

return M
