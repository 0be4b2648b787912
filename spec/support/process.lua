-- Processes a spec starts in the background, by pid (Linux /proc).
--   local process = require("support.process")
--   local pid = process.spawn("lua5.4 x.lua >out 2>&1")  -- the shell words, run with &
--   process.alive(pid)           -- false once it has exited (a zombie has)
--   process.wait(pid, seconds)   -- true when it exited within `seconds`
--   process.finish(pid, seconds) -- true when it exited by itself within
--                                -- `seconds`; else SIGKILL, waited for: false
--   process.stop(pid, seconds)   -- SIGTERM, SIGKILL after `seconds`; waited for
--   process.kill(pid)            -- SIGKILL, waited for
-- A group keeps the pids it started until they are finished, for a teardown
-- that kills what a failed test left running:
--   local children = process.group()
--   children:spawn(command) -> pid;  children:finish(pid, seconds);  children:kill()
local socket = require("socket")
local read_file = require("support.files").read

local M = {}

function M.alive(pid)
  local stat = read_file("/proc/" .. pid .. "/stat")
  if not stat then return false end
  local state = stat:match("%)%s+(%a)")
  return state ~= "Z" and state ~= "X"
end

function M.spawn(command)
  local p = assert(io.popen(command .. " & echo $!"))
  local pid = tonumber(p:read("*l"))
  p:close()
  return (assert(pid, "could not start: " .. command))
end

function M.wait(pid, seconds)
  local deadline = socket.gettime() + seconds
  while M.alive(pid) do
    if socket.gettime() > deadline then return false end
    socket.sleep(0.02)
  end
  return true
end

function M.kill(pid)
  os.execute("kill -KILL " .. pid .. " 2>/dev/null")
  while M.alive(pid) do socket.sleep(0.02) end
end

function M.finish(pid, seconds)
  if M.wait(pid, seconds) then return true end
  M.kill(pid)
  return false
end

function M.stop(pid, seconds)
  if not M.alive(pid) then return end
  os.execute("kill -TERM " .. pid .. " 2>/dev/null")
  if not M.wait(pid, seconds) then M.kill(pid) end
end

local Group = {}
Group.__index = Group

function M.group()
  return setmetatable({ pids = {} }, Group)
end

function Group:spawn(command)
  local pid = M.spawn(command)
  self.pids[pid] = true
  return pid
end

function Group:finish(pid, seconds)
  local ended = M.finish(pid, seconds)
  self.pids[pid] = nil
  return ended
end

function Group:kill()
  for pid in pairs(self.pids) do M.kill(pid) end
  self.pids = {}
end

return M
