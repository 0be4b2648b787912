-- The simulator's event loop: single-threaded, on LuaSocket's select().
--
-- Every connection (and every outgoing callback) runs in its own coroutine.
-- A coroutine that would block registers what it waits for (a socket becoming
-- readable or writable, or a point in time) and yields; `Loop:step()` runs
-- socket.select() over everything waited for and resumes whoever is ready.
local socket = require("socket")

local M = {}

local gettime = socket.gettime

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

--- End the sleep of task co now (it resumes on the next round). False
-- when co is not sleeping.
function Loop:wake(co)
  for _, s in ipairs(self.sleepers) do
    if s.co == co then
      s.t = 0
      return true
    end
  end
  return false
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

return M
