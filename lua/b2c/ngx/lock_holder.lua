-- b2c.ngx.lock_holder: who holds a token store lock, as the value stored
-- in the lock: "<pid> <start time> <uuid>" names the process (read from
-- /proc), so that a waiter can see the holder died; only the uuid without
-- /proc.
local M = {}

-- State ("R", "S", "Z", ...) and start time (clock ticks since boot) of a
-- process, from /proc/<pid>/stat, or nil when there is no such entry.
local function proc_stat(pid)
  local f = io.open("/proc/" .. pid .. "/stat", "rb")
  if not f then return nil end
  local stat = f:read("*a") or ""
  f:close()
  -- After the command name in parentheses (which may hold any character):
  -- field 3 (state) ... field 22 (starttime).
  local rest = stat:match("^.*%)%s+(.*)$") or ""
  local fields = {}
  for field in rest:gmatch("%S+") do fields[#fields + 1] = field end
  return fields[1], fields[20]
end

-- This process's holder value; uuid() makes the unique part.
function M.id(uuid)
  local f = io.open("/proc/self/stat", "rb")
  if not f then return uuid() end
  local pid = (f:read("*a") or ""):match("^(%d+)")
  f:close()
  local _, start = proc_stat(pid or "self")
  if not pid or not start then return uuid() end
  return pid .. " " .. start .. " " .. uuid()
end

-- False when the process that took the lock `holder` is gone (killed, crashed:
-- no such process, a zombie, or its pid now another process's).
function M.alive(holder)
  local pid, start = tostring(holder):match("^(%d+) (%d+) ")
  if not pid then return true end  -- unknown: the lock's expiry frees it
  local state, now_start = proc_stat(pid)
  return state ~= nil and state ~= "Z" and state ~= "X" and now_start == start
end

return M
