-- b2c.ngx: Daraja calls (B2C payouts and every other operation of the
-- registry) from OpenResty (nginx + lua-nginx-module, LuaJIT) without
-- blocking the event loop.
--
-- A call is a blocking libcurl call, so it runs on an nginx thread pool
-- through ngx.run_worker_thread: the request's coroutine yields, the worker
-- keeps serving other requests, and the send runs in a Lua VM of the pool
-- that keeps its clients (and their keep-alive connections) from one task
-- to the next. Only plain values cross between the VMs.
--
--   b2c.ngx.thread_pool(pool, {maxQueue=n}) at start: the pool's max_queue
--   b2c.ngx.send(pool, config, payout)      in a request handler (or a timer)
--   b2c.ngx.send(config, payout)            the same, on the pool's thread
--   b2c.ngx.call(pool, config, namespace, verb, fields)
--                                           any operation's blocking verb, e.g.
--                                           ("b2c", cfg, "transactionStatus", "query", {...})
--   b2c.ngx.ledger(pool, url, config)       b2c.ledger on the pool's threads
--   b2c.ngx.check(config)                   in init_by_lua: raises on a bad setting
--   b2c.ngx.shared_dict_store(dict_name)    a tokenStore on ngx.shared.DICT
--   b2c.ngx.handle_result(on_result, opts)  a ResultURL content handler
--   b2c.ngx.handle_queue_timeout(on_timeout, opts)
--
-- luacheck: globals ngx
local errors = require("b2c.errors")
local registry = require("b2c.operations")

local M = {}

M.MODULE = "b2c.ngx"   -- the module name given to ngx.run_worker_thread

---------------------------------------------------------------------------
-- Values that cross between Lua VMs
---------------------------------------------------------------------------

local ERROR_FIELDS = {
  "kind", "message", "field", "status", "code", "requestId", "retryable",
  "originatorConversationId", "outcome", "responseCode", "reference", "cause", "index",
}

-- A copy with only strings, numbers, booleans and tables of them (no
-- functions, userdata, cjson.null or metatables).
local function plain(v, depth)
  local t = type(v)
  if t == "string" or t == "number" or t == "boolean" then return v end
  if t ~= "table" or depth > 16 then return nil end
  local out = {}
  for k, x in pairs(v) do
    local kt = type(k)
    if kt == "string" or kt == "number" then
      local px = plain(x, depth + 1)
      if px ~= nil then out[k] = px end
    end
  end
  return out
end

local function plain_error(e)
  local out = {}
  for _, f in ipairs(ERROR_FIELDS) do
    local v = e[f]
    local t = type(v)
    if t == "string" or t == "number" or t == "boolean" then out[f] = v end
  end
  out.message = out.message or tostring(e)
  out.kind = out.kind or "internal"
  if type(e.report) == "table" then out.report = plain(e.report, 0) end  -- a batch's
  return out
end

-- Raises (misuse) unless v is made of strings, numbers, booleans and tables
-- of them: only such values cross to a pool thread, and a dropped one
-- (a function, a store object) would change what the thread does.
local function check_plain(v, where, depth)
  local t = type(v)
  if t == "string" or t == "number" or t == "boolean" or t == "nil" then return end
  if t ~= "table" or getmetatable(v) ~= nil or depth > 16 then
    error(where .. ": must be plain values (strings, numbers, booleans, tables of them) to cross "
      .. "to the pool's threads, got " .. t, depth + 3)
  end
  for k, x in pairs(v) do check_plain(x, where .. "." .. tostring(k), depth + 1) end
end

---------------------------------------------------------------------------
-- Sleeping: ngx.sleep where it exists (request handlers, timers), a plain
-- blocking poll(2) through LuaJIT's FFI on a pool thread, where ngx.sleep
-- does not exist and blocking only holds that one thread.
---------------------------------------------------------------------------

local poll
local function blocking_sleep(seconds)
  if not poll then
    local ffi = require("ffi")
    -- lua-resty-core may have declared poll already; either declaration works.
    pcall(ffi.cdef, "int poll(void *fds, unsigned long nfds, int timeout);")
    poll = ffi.C.poll
  end
  poll(nil, 0, math.floor(seconds * 1000 + 0.5))
end

local function sleep(seconds)
  if type(ngx.sleep) == "function" and pcall(ngx.sleep, seconds) then return end
  blocking_sleep(seconds)
end

---------------------------------------------------------------------------
-- The token store on ngx.shared.DICT
---------------------------------------------------------------------------

local TOKEN_PREFIX, LOCK_PREFIX = "b2c:token:", "b2c:lock:"
local LOCK_POLL = 0.02  -- seconds between looks while another worker fetches

-- A lock about to expire is left to expire rather than taken over: replacing
-- it could replace the lock of the next holder, taken once it expired.
local TAKEOVER_MARGIN = 1

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

-- A lock holder's value: "<pid> <start time> <uuid>", which names the
-- process so that a waiter can see it died; only the uuid without /proc.
local function holder_id(uuid)
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
local function holder_alive(holder)
  local pid, start = tostring(holder):match("^(%d+) (%d+) ")
  if not pid then return true end  -- unknown: the lock's expiry frees it
  local state, now_start = proc_stat(pid)
  return state ~= nil and state ~= "Z" and state ~= "X" and now_start == start
end

-- b2c.ngx.shared_dict_store(dict_name) -> store | nil, err
-- A tokenStore for b2c.new shared by every worker process of this nginx.
function M.shared_dict_store(dict_name)
  if type(dict_name) ~= "string" then
    error("b2c.ngx.shared_dict_store: expected the name of a lua_shared_dict, got "
      .. type(dict_name), 2)
  end
  local dict = ngx.shared and ngx.shared[dict_name]
  if not dict then
    return nil, errors.config("tokenStore", "no lua_shared_dict named \"" .. dict_name
      .. "\" (declare it in the http block of nginx.conf)")
  end
  local uuid = require("b2c.core").uuid
  local store = { dict = dict, name = dict_name, held = {} }

  function store.get(_, key)
    local token = dict:get(TOKEN_PREFIX .. key)
    if type(token) ~= "string" then return nil end
    local ttl = dict:ttl(TOKEN_PREFIX .. key)
    if not ttl or ttl <= 0 then return nil end  -- every token is stored with an expiry
    return token, ttl
  end

  function store.set(_, key, token, ttl)
    if type(ttl) ~= "number" or ttl <= 0 then return false end
    -- On failure (the dict is full) each worker fetches its own: logged by nginx.
    return dict:set(TOKEN_PREFIX .. key, token, ttl)
  end

  -- Removes the token only while it is still the stored one. Compare and
  -- delete run under the lock, as every writer does; when a refresh holds the
  -- lock the token is about to be replaced anyway.
  function store.delete(_, key, token)
    local id = holder_id(uuid)
    if not dict:add(LOCK_PREFIX .. key, id, 5) then return false end
    local deleted = dict:get(TOKEN_PREFIX .. key) == token
    if deleted then dict:delete(TOKEN_PREFIX .. key) end
    if dict:get(LOCK_PREFIX .. key) == id then dict:delete(LOCK_PREFIX .. key) end
    return deleted
  end

  -- Replaces the lock `dead`, whose holder died, by `id`. Of all the waiters
  -- that see the same dead holder only the one that adds the key naming it
  -- first does; the holder, being dead, no longer releases it.
  local function take_over(key, dead, id, seconds)
    local ttl = dict:ttl(LOCK_PREFIX .. key)
    if not ttl or ttl < TAKEOVER_MARGIN then return false end
    if not dict:add(LOCK_PREFIX .. key .. " after " .. dead, id, ttl + 1) then return false end
    if dict:get(LOCK_PREFIX .. key) ~= dead then return false end
    return dict:set(LOCK_PREFIX .. key, id, seconds)
  end

  -- Takes the refresh lock for `seconds`. Waits while another worker holds
  -- it: false when a token for key (other than `stale`, one the gateway
  -- refused) appears meanwhile or `seconds` pass, true when this caller
  -- holds it. A lock whose holder died (a worker killed mid-fetch) is taken
  -- over at once rather than left to expire after `seconds`.
  function store.lock(self, key, seconds, stale)
    local id = holder_id(uuid)
    local waited = 0
    while true do
      local ok, err = dict:add(LOCK_PREFIX .. key, id, seconds)
      if ok then
        self.held[key] = id
        return true
      end
      if err ~= "exists" then return false end  -- out of memory: go on without it
      local stored = dict:get(TOKEN_PREFIX .. key)
      if (stored ~= nil and stored ~= stale) or waited >= seconds then return false end
      local holder = dict:get(LOCK_PREFIX .. key)
      if holder and not holder_alive(holder) and take_over(key, holder, id, seconds) then
        self.held[key] = id
        return true
      end
      sleep(LOCK_POLL)
      waited = waited + LOCK_POLL
    end
  end

  -- The lock without waiting, for polled calls (b2c's engine/token.lua):
  -- true when this caller now holds it for `seconds` (a dead holder's is
  -- taken over), false while another worker holds it. Out of memory: true
  -- without a lock, as lock() goes on without it.
  function store.tryLock(self, key, seconds)
    local id = holder_id(uuid)
    local ok, err = dict:add(LOCK_PREFIX .. key, id, seconds)
    if ok then
      self.held[key] = id
      return true
    end
    if err ~= "exists" then return true end
    local holder = dict:get(LOCK_PREFIX .. key)
    if holder and not holder_alive(holder) and take_over(key, holder, id, seconds) then
      self.held[key] = id
      return true
    end
    return false
  end

  -- Releases the lock if this caller still holds it (not after it expired
  -- and another worker took it).
  function store.unlock(self, key)
    local id = self.held[key]
    self.held[key] = nil
    if id and dict:get(LOCK_PREFIX .. key) == id then dict:delete(LOCK_PREFIX .. key) end
  end

  return store
end

---------------------------------------------------------------------------
-- Sending on a pool thread
---------------------------------------------------------------------------

-- Clients of this VM, by configuration. A pool VM runs one task at a time,
-- so a client is never used by two threads at once.
local clients, client_count = {}, 0
local MAX_CLIENTS = 16

-- The same text for equal configurations, nested tables (a Redis store's
-- { url = ..., password = ... }) included.
local function fingerprint(config)
  local keys = {}
  for k in pairs(config) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  local parts = {}
  for i, k in ipairs(keys) do
    local v = config[k]
    local text = type(v) == "table" and "{" .. fingerprint(v) .. "}" or string.format("%q", tostring(v))
    parts[i] = string.format("%q=%s:%s", k, type(v), text)
  end
  return table.concat(parts, ",")
end

local function thread_client(config)
  local id = fingerprint(config)
  local mpesa = clients[id]
  if mpesa then return mpesa end
  -- b2c.new takes tokenStore = "<lua_shared_dict name>" inside nginx
  local err
  mpesa, err = require("b2c").new(config)
  if not mpesa then return nil, err end
  if client_count >= MAX_CLIENTS then  -- configurations keep changing: start over
    for _, old in pairs(clients) do old:close() end
    clients, client_count = {}, 0
  end
  clients[id], client_count = mpesa, client_count + 1
  return mpesa
end

-- The verbs a pool thread runs: those that block until the answer.
local BLOCKING = { send = true, query = true, request = true }

-- The operation's namespace and verb as given to b2c.ngx.call; raises when
-- the registry has no such blocking verb (misuse, before anything is sent).
local function check_call(namespace, verb, level)
  local op = type(namespace) == "string" and registry.get(namespace)
  if not op then
    error("b2c.ngx.call: no operation named " .. tostring(namespace), level + 1)
  end
  for _, v in ipairs(op.verbs) do
    if v == verb and BLOCKING[v] then return op end
  end
  error("b2c.ngx.call: mpesa." .. namespace .. " has no blocking verb " .. tostring(verb)
    .. " (a pool thread runs send, query or request)", level + 1)
end

-- On the pool thread: (config, namespace, verb, fields) -> ack | nil, err,
-- both plain tables.
local function thread_call(config, namespace, verb, fields)
  if type(config) ~= "table" or type(fields) ~= "table" then
    error("b2c.ngx.call: expected (config, namespace, verb, fields)", 2)
  end
  check_call(namespace, verb, 2)
  local mpesa, err = thread_client(config)
  if not mpesa then return nil, plain_error(err) end
  local ack
  ack, err = mpesa[namespace][verb](fields)
  if not ack then return nil, plain_error(err) end
  return plain(ack, 0)
end

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
local function run_on_pool(may_be_nil, pool, task, ...)
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

-- In a request handler: one operation's blocking verb on the pool.
local function request_call(name, pool, config, namespace, verb, fields)
  if type(config) ~= "table" then
    error("b2c.ngx." .. name .. ": expected a table of b2c.new settings, got " .. type(config), 3)
  end
  local op = check_call(namespace, verb, 3)
  if type(fields) ~= "table" then
    error("b2c.ngx." .. name .. ": expected a table of " .. op.label .. " fields, got "
      .. type(fields), 3)
  end
  return run_on_pool(false, pool, "call", config, namespace, verb, fields)
end

-- b2c.ngx.call(pool, config, namespace, verb, fields) in a request handler
-- or timer; b2c.ngx.call(config, namespace, verb, fields) on the pool's
-- thread (what the first calls).
function M.call(a, b, c, d, e)
  if type(a) == "string" then return request_call("call", a, b, c, d, e) end
  return thread_call(a, b, c, d)
end

-- b2c.ngx.send(pool, config, payout): B2C's send, the same as
-- b2c.ngx.call(pool, config, "b2c", "send", payout).
function M.send(a, b, c)
  if type(a) == "string" then return request_call("send", a, b, "b2c", "send", c) end
  return thread_call(a, "b2c", "send", b)
end

---------------------------------------------------------------------------
-- The configuration check, for init_by_lua
---------------------------------------------------------------------------

-- b2c.ngx.check(config) -> config; raises "b2c.ngx.check: <field>: <rule>"
-- on a setting b2c.new refuses, or a value that cannot cross to a pool
-- thread. In init_by_lua that stops nginx at start, not at the first payout.
function M.check(config)
  if type(config) ~= "table" then
    error("b2c.ngx.check: expected a table of b2c.new settings, got " .. type(config), 2)
  end
  for k, v in pairs(config) do check_plain(v, "b2c.ngx.check: " .. tostring(k), 0) end
  local mpesa, err = require("b2c").new(config)
  if not mpesa then error("b2c.ngx.check: " .. tostring(err), 2) end
  mpesa:close()
  return config
end

---------------------------------------------------------------------------
-- The ledger on the pool's threads (LuaSQL blocks)
---------------------------------------------------------------------------

-- Ledgers open in this pool VM, by URL: one connection per VM, reused.
local ledgers = {}

-- The ledger's methods a pool thread runs, and whether each takes the
-- client (mpesa) first.
local LEDGER_METHODS = {
  pay = true, payBatch = true, send = true, reconcile = true,
  applyResult = false, applyQueueTimeout = false, retry = false, get = false, list = false,
  stats = false,
}

-- On the pool thread: b2c.ledger's method on the VM's ledger for url ->
-- value, err as plain tables.
function M.ledger_task(url, config, method, a, b)
  local takes_client = LEDGER_METHODS[method]
  if takes_client == nil then error("b2c.ngx.ledger: no method " .. tostring(method), 2) end
  local book, err = ledgers[url]
  if not book then
    book, err = require("b2c.ledger").open(url)
    if not book then return nil, plain_error(err) end
    ledgers[url] = book
  end
  local value
  if takes_client then
    local mpesa
    mpesa, err = thread_client(config)
    if not mpesa then return nil, plain_error(err) end
    value, err = book[method](book, mpesa, a, b)
  else
    value, err = book[method](book, a, b)
  end
  -- a store failure may be a dead connection: the next task opens a new one
  if err and err.kind == "ledger" then
    ledgers[url] = nil
    pcall(book.close, book)
  end
  return plain(value, 0), err and plain_error(err) or nil
end

local NgxLedger = {}
NgxLedger.__index = NgxLedger

-- The URLs b2c.ledger.open takes (it parses them fully on the pool thread).
local LEDGER_URL = { "^sqlite:///.", "^postgresql://[^@/]+@[^/]+/[^/?#]+$",
  "^postgres://[^@/]+@[^/]+/[^/?#]+$" }

local function ledger_url(url)
  if type(url) ~= "string" then return false end
  for _, pattern in ipairs(LEDGER_URL) do
    if url:match(pattern) then return true end
  end
  return false
end

-- b2c.ngx.ledger(pool, url, config) -> ledger: b2c.ledger's methods, each
-- run on the thread pool `pool` (declared with b2c.ngx.thread_pool) against
-- the ledger at url, paying with a client for config (b2c.ngx.check rules).
-- Raises on a bad argument: call it in init_by_lua.
function M.ledger(pool, url, config)
  if type(pool) ~= "string" or pool == "" then
    error("b2c.ngx.ledger: pool: expected the name of a thread_pool, got " .. type(pool), 2)
  end
  if not ledger_url(url) then
    error("b2c.ngx.ledger: url: must be sqlite:///absolute/path.db or "
      .. "postgresql://user@host:port/database", 2)
  end
  local ok, err = pcall(M.check, config)
  if not ok then error((tostring(err):gsub("^b2c%.ngx%.check", "b2c.ngx.ledger")), 2) end
  return setmetatable({ pool = pool, url = url, config = config }, NgxLedger)
end

local function ledger_method(name, check_args)
  return function(self, a, b)
    if getmetatable(self) ~= NgxLedger then
      error("b2c.ngx.ledger: call it as ledger:" .. name .. "(...)", 2)
    end
    check_args(a, b)
    check_plain(a, "ledger:" .. name, 0)
    check_plain(b, "ledger:" .. name .. " options", 0)
    return run_on_pool(true, self.pool, "ledger_task", self.url, self.config, name, a, b)
  end
end

local function expect(name, what, ok)
  return function(a, b)
    if not ok(a, b) then error("ledger:" .. name .. ": expected " .. what, 4) end
  end
end

local function is_table(v) return type(v) == "table" end
local function optional_table(v) return v == nil or type(v) == "table" end
local function is_id(v) return type(v) == "number" end
local function is_body(v) return type(v) == "string" or type(v) == "table" end

NgxLedger.pay = ledger_method("pay", expect("pay", "(payout table[, options table])",
  function(a, b) return is_table(a) and optional_table(b) end))
NgxLedger.payBatch = ledger_method("payBatch", expect("payBatch", "(list of payouts[, options table])",
  function(a, b) return is_table(a) and optional_table(b) end))
NgxLedger.send = ledger_method("send", expect("send", "(id number)", is_id))
NgxLedger.retry = ledger_method("retry", expect("retry", "(id number)", is_id))
NgxLedger.reconcile = ledger_method("reconcile", expect("reconcile", "([options table])", optional_table))
NgxLedger.applyResult = ledger_method("applyResult", expect("applyResult", "(body string or table)", is_body))
NgxLedger.applyQueueTimeout = ledger_method("applyQueueTimeout",
  expect("applyQueueTimeout", "(body string or table)", is_body))
NgxLedger.get = ledger_method("get", expect("get", "(id number or reference string)",
  function(a) return type(a) == "number" or type(a) == "string" end))
NgxLedger.list = ledger_method("list", expect("list", "([options table])", optional_table))
NgxLedger.stats = ledger_method("stats", expect("stats", "()", function(a) return a == nil end))

-- A callback handler that writes to the ledger: acknowledged once
-- recorded (matched or kept unmatched). Any failure but the body's own
-- (the ledger could not be opened or written, the pool was full) is
-- answered 500, so that Daraja delivers it again.
local function ledger_handler(book, apply, handler, opts)
  return handler(function(_, body)
    local applied, err = apply(book, body)
    if applied then return true end
    if err.kind ~= "callback" then
      ngx.log(ngx.ERR, "b2c.ngx.ledger: callback not recorded: ", tostring(err))
      return false
    end
    -- kept in the ledger as received, but unusable: delivering it again cannot help
    ngx.log(ngx.WARN, "b2c.ngx.ledger: callback kept but not applied: ", tostring(err))
    return true
  end, opts)
end

-- ledger:handleResult(opts) / ledger:handleQueueTimeout(opts): the whole
-- ResultURL / QueueTimeOutURL content handler, as b2c.ngx.handle_result.
function NgxLedger:handleResult(opts)
  return ledger_handler(self, NgxLedger.applyResult, M.handle_result, opts)
end

function NgxLedger:handleQueueTimeout(opts)
  return ledger_handler(self, NgxLedger.applyQueueTimeout, M.handle_queue_timeout, opts)
end

NgxLedger.pay_batch = NgxLedger.payBatch
NgxLedger.apply_result = NgxLedger.applyResult
NgxLedger.apply_queue_timeout = NgxLedger.applyQueueTimeout
NgxLedger.handle_result = NgxLedger.handleResult
NgxLedger.handle_queue_timeout = NgxLedger.handleQueueTimeout

---------------------------------------------------------------------------
-- Callback handlers (content_by_lua)
---------------------------------------------------------------------------

local DEFAULT_MAX_BODY = 64 * 1024

local function respond(status, code, desc)
  local json = require("b2c.json")
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.header["Cache-Control"] = "no-store"
  ngx.print(json.encode({ ResultCode = code, ResultDesc = desc }))
end

-- The request body (at most `limit` bytes), or nil, status, reason.
local function read_body(limit)
  local declared = tonumber(ngx.var.http_content_length or "")
  if declared and declared > limit then
    return nil, 413, "body larger than " .. limit .. " bytes"
  end
  ngx.req.read_body()
  local body = ngx.req.get_body_data()
  if body == nil then
    -- Larger than client_body_buffer_size: nginx kept it in a temporary file.
    local path = ngx.req.get_body_file()
    if path then
      local f = io.open(path, "rb")
      if not f then return nil, 500, "could not read the request body" end
      body = f:read(limit + 1)
      f:close()
    end
  end
  if body == nil or body == "" then return nil, 400, "empty body" end
  if #body > limit then return nil, 413, "body larger than " .. limit .. " bytes" end
  return body
end

-- Text from a request made safe for one log line: at most `max` bytes,
-- every byte outside printable ASCII (and the backslash) as \xNN.
local function printable(text, max)
  local cut = #text > max
  local out = text:sub(1, max):gsub("[%z\1-\31\92\127-\255]", function(c)
    return string.format("\\x%02x", c:byte())
  end)
  return cut and out .. "..." or out
end

-- Answers a callback it refuses, and logs why: a result that never gets
-- recorded must leave a trace. The log line names the reason, the size, the
-- sender and the OriginatorConversationID if the body seems to have one.
local function refuse(name, status, reason, body)
  respond(status, 1, "Rejected: " .. reason)
  local ocid = body and body:match('"OriginatorConversationID"%s*:%s*"([^"]*)"')
  ngx.log(ngx.WARN, "b2c.ngx.", name, ": refused a callback (HTTP ", status, "): ",
    printable(reason, 200), ocid and "; OriginatorConversationID \"" .. printable(ocid, 64) .. "\"" or "",
    "; ", body and #body or 0, " bytes from ", ngx.var.remote_addr or "?")
end

local function handle(name, parse, callback, opts)
  if type(callback) ~= "function" then
    error("b2c.ngx." .. name .. ": expected a function, got " .. type(callback), 3)
  end
  opts = opts or {}
  local limit = opts.maxBodyBytes or DEFAULT_MAX_BODY
  if ngx.req.get_method() ~= "POST" then
    ngx.header["Allow"] = "POST"
    local reason = "method " .. ngx.req.get_method() .. " is not POST"
    refuse(name, 405, reason)
    return nil, errors.new("callback", reason)
  end
  local body, status, reason = read_body(limit)
  if not body then
    refuse(name, status, reason)
    return nil, errors.new("callback", reason)
  end
  local parsed, err = parse(body, opts) -- opts.events: callback.read / callback.refused
  if not parsed then
    refuse(name, 400, err.message, body)
    return nil, err
  end
  local ok, outcome = pcall(callback, parsed, body)
  if not ok or outcome == false then
    -- Not acknowledged: Daraja delivers again later.
    local why = not ok and tostring(outcome) or "the handler returned false"
    ngx.log(ngx.ERR, "b2c.ngx.", name, ": not acknowledged: ", why)
    respond(500, 1, "Not processed, please retry")
    return nil, errors.new("callback", "not acknowledged: " .. why)
  end
  respond(200, 0, "Accepted")
  return parsed
end

-- b2c.ngx.handle_result(on_result, opts) -> result | nil, err
function M.handle_result(on_result, opts)
  return handle("handle_result", require("b2c.callbacks.result").parse, on_result, opts)
end

-- b2c.ngx.handle_queue_timeout(on_timeout, opts) -> note | nil, err
function M.handle_queue_timeout(on_timeout, opts)
  return handle("handle_queue_timeout", require("b2c.callbacks.result").parse_queue_timeout, on_timeout, opts)
end

-- The SDK's public names are camelCase (b2c.parseDarajaResult, mpesa.b2c.sendBatch);
-- these are the same functions under those names. The snake_case names
-- stay, for code written against them and for OpenResty's own style.
M.sharedDictStore = M.shared_dict_store
M.threadPool = M.thread_pool
M.handleResult = M.handle_result
M.handleQueueTimeout = M.handle_queue_timeout
M.ledgerTask = M.ledger_task

return M
