-- b2c.ngx.pool: running a task on an nginx thread pool from a request
-- handler (or a timer). b2c.ngx.thread_pool declares a pool's max_queue;
-- run() admits a task within it, keeps the worker alive while the task
-- runs, and makes its plain results a value and an error object again.
--
-- luacheck: globals ngx
local errors = require("b2c.errors")

local M = {}

M.MODULE = "b2c.ngx"   -- the module name given to ngx.run_worker_thread

-- Failures of ngx.run_worker_thread that left before the send began.
local BUSY = { ["no available Lua vm"] = true, ["ngx_thread_task_post failed"] = true }

-- Seconds a send may last at most: how long a worker shutting down waits
-- for one, and when a send whose request vanished without its answer (the
-- coroutine never resumed) stops counting against its pool. Longer than any
-- send; worker_shutdown_timeout, when set, is the operator's bound.
local SEND_BOUND = 3600
local function keep_alive() ngx.sleep(SEND_BOUND) end

-- The thread pools declared with b2c.ngx.thread_pool, by name: the sends of
-- this worker in flight on each ({[id] = deadline}, their count) and the
-- most it may hold. Pools are per worker process, and so is this table.
local pools = {}

-- b2c.ngx.thread_pool(name, { maxQueue = n }): the max_queue of nginx's
-- `thread_pool name ... max_queue=n;`. Call it at start (init_by_lua).
-- lua-nginx-module 0.10.23 kills the worker (free() of a wrong pointer)
-- when nginx refuses a task because the queue is full, so b2c.ngx never has
-- more than max_queue sends in flight on the pool. Threads do not add to
-- that: nginx counts a task as waiting until a thread has started waiting for
-- work, which a thread that has not run yet has not.
function M.thread_pool(name, opts)
  if type(name) ~= "string" or name == "" then
    error("b2c.ngx.thread_pool: expected the name of a thread_pool, got " .. type(name), 2)
  end
  if type(opts) ~= "table" then
    error("b2c.ngx.thread_pool: expected a table { maxQueue = n }, got " .. type(opts), 2)
  end
  for k in pairs(opts) do
    if k ~= "maxQueue" then
      error("b2c.ngx.thread_pool: " .. tostring(k) .. ": is not an option (only maxQueue is)", 2)
    end
  end
  local q = opts.maxQueue
  if type(q) ~= "number" or q ~= math.floor(q) or q < 1 or q > 2147483647 then
    error("b2c.ngx.thread_pool: maxQueue: must be the max_queue of thread_pool " .. name
      .. " in nginx.conf (a whole number from 1; nginx's default is 65536)", 2)
  end
  pools[name] = { limit = q, inflight = {}, count = 0 }
end

-- A place on the pool for one send, or nil when the queue could be full.
local function admit(p)
  local now = ngx.now()
  if p.count >= p.limit then
    for id, deadline in pairs(p.inflight) do
      if deadline < now then p.inflight[id], p.count = nil, p.count - 1 end
    end
    if p.count >= p.limit then return nil end
  end
  local id = {}
  p.inflight[id], p.count = now + SEND_BOUND, p.count + 1
  return id
end

local function release(p, id)
  if p.inflight[id] then p.inflight[id], p.count = nil, p.count - 1 end
end

-- In a request handler: runs b2c.ngx[task](...) on the pool and yields
-- until it ends. Its results, as they came back: a value, then an error
-- (a plain table made an error object again). Neither is an error unless
-- `may_be_nil` (ledger:get of an unknown payout answers nil).
function M.run(may_be_nil, pool, task, ...)
  local p = pools[pool]
  if not p then
    return nil, errors.config("pool", "call b2c.ngx.thread_pool(\"" .. pool .. "\", { maxQueue = n }) "
      .. "at start with the max_queue of that thread_pool; nothing was sent")
  end
  local id = admit(p)
  if not id then
    return nil, errors.new("thread", "thread pool \"" .. pool .. "\" is full: this worker has "
      .. p.count .. " sends in flight on it, its maxQueue; nothing was sent", { retryable = true })
  end
  -- A worker shutting down gracefully (reload, quit, binary upgrade) exits
  -- once no timer that cannot be cancelled is left, and a thread task is no
  -- timer: the send would finish unanswered. A light thread asleep for
  -- the whole send holds such a timer, so the worker waits for the answer.
  local keeper = ngx.thread.spawn(keep_alive)
  local called, ok, value, err = pcall(ngx.run_worker_thread, pool, M.MODULE, task, ...)
  ngx.thread.kill(keeper)
  release(p, id)
  if not called then error(ok, 0) end
  if not ok then
    local why = tostring(value)
    return nil, errors.new("thread", "ngx.run_worker_thread(\"" .. pool .. "\") failed: " .. why
      .. "; nothing was sent", { retryable = BUSY[why] or false })
  end
  if err ~= nil then
    if type(err) ~= "table" or type(err.kind) ~= "string" or type(err.message) ~= "string" then
      err = { kind = "thread", message = "the pool thread returned a malformed error" }
    end
    err = errors.new(err.kind, err.message, err)
  end
  if value == nil and err == nil and not may_be_nil then
    return nil, errors.new("thread", "the pool thread returned no result; nothing was sent")
  end
  return value, err
end

return M
