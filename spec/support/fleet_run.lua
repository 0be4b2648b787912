-- A fleet on loopback, for the fleet spec and bench/fleet.lua: a simulator,
-- a redis-server and a PostgreSQL 15 for the whole fleet; per run a fresh
-- ledger database, callback receivers (fleet_applier.lua), payout workers
-- (fleet_worker.lua) and a reconciliation worker (fleet_reconciler.lua),
-- each its own process.
--   local fleet = assert(require("support.fleet_run").start{ appliers = 1 })
--   local run = fleet:run{ workers = 4, count = 1000, ... }   -- waits for it
--   fleet:stop()   -- every child stopped and waited for; idempotent
local sim = require("support.sim")
local redis = require("support.redis")
local postgres = require("support.postgres")
local socket = require("socket")
local files = require("support.files")
local process = require("support.process")

local M = {}
local Fleet = {}
Fleet.__index = Fleet

local function sh_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end


-- Starts `script` with `args` in the background; its output goes to a
-- file. Returns the child { pid, name, out }.
function Fleet:spawn(name, script, args)
  local quoted = {}
  for i, a in ipairs(args) do quoted[i] = sh_quote(a) end
  local out = self.dir .. "/" .. name .. ".out"
  local pid = process.spawn(string.format("LD_PRELOAD= lua5.4 %s %s >%s 2>&1 </dev/null",
    script, table.concat(quoted, " "), sh_quote(out)))
  local child = { pid = pid, name = name, out = out }
  self.children[#self.children + 1] = child
  return child
end

local function output(child)
  return files.read(child.out) or ""
end

-- Waits up to `seconds` for the child to exit; true when it did.
local function wait(child, seconds)
  child.exited = process.wait(child.pid, seconds)
  return child.exited
end

-- SIGTERM, then SIGKILL after 3 s; returns once the child is gone.
local function kill(child)
  if not child.exited then process.stop(child.pid, 3) end
  child.exited = true
end

-- A callback receiver process on the ledger at `url`, until `stop_file`
-- exists; returns the child, with its base URL in child.base.
function Fleet:start_applier(name, url, stop_file)
  local child = self:spawn(name, "spec/support/fleet_applier.lua", { url, stop_file, self.dropEvery })
  child.stop_file = stop_file
  local deadline = socket.gettime() + 30
  while true do
    local port = output(child):match("listening (%d+)")
    if port then
      child.base = "http://127.0.0.1:" .. port
      return child
    end
    assert(process.alive(child.pid) and socket.gettime() < deadline,
      "callback receiver did not start: " .. output(child))
    socket.sleep(0.05)
  end
end

-- Asks a receiver to stop (it prints its counts), waits; its output.
local function stop_applier(child)
  assert(io.open(child.stop_file, "wb")):close()
  if not wait(child, 30) then kill(child) end
  return output(child)
end

-- opts: appliers (callback receiver processes per run, default 1),
-- dropEvery (each receiver drops every Nth callback unanswered; default 0),
-- callbackDelay (the simulator's). Returns the fleet, or nil, why when
-- PostgreSQL is not available.
function M.start(opts)
  opts = opts or {}
  local ok, why = postgres.available()
  if not ok then return nil, why end
  local self = setmetatable({ children = {}, runs = 0, dir = files.tempdir(),
    appliers = opts.appliers or 1, dropEvery = opts.dropEvery or 0 }, Fleet)
  local started, err = pcall(function()
    -- the worker, reconciler and sender processes pay with the default key
    self.sim = sim.start({ consumerKey = sim.DEFAULTS.consumerKey, balance = 1e10,
      callbackDelay = opts.callbackDelay or 0.05, callbackTimeout = 20, callbackAttempts = 3,
      callbackBackoff = { 0.5, 1 } })
    self.redis = redis.start()
    self.pg = assert(postgres.start())
  end)
  if not started then
    self:stop()
    error(err, 0)
  end
  return self
end

-- Runs o.workers payout workers on o.count payouts (batches of o.batch,
-- default 100; payBatch concurrency o.concurrency, default 16; o.overlap:
-- see fleet_payouts.batches) and the reconciliation worker (o.overdue
-- seconds, default 20) on a fresh ledger, the simulator reset and Redis
-- emptied (o.appliers callback receivers instead of the fleet's number),
-- until every payout is final or o.timeout seconds (default 600)
-- pass. Returns { url = the ledger, sent = seconds until the workers
-- finished, final = seconds until every payout was final (nil if never),
-- workers = {outputs}, reconciler = output, appliers = {outputs} }.
function Fleet:run(o)
  self.runs = self.runs + 1
  local tag = "run" .. self.runs
  local s, r = self.sim, self.redis
  s:reset()
  r:cli("FLUSHALL")
  self.pg:createdb("fleet" .. self.runs)
  local url = self.pg:url("fleet" .. self.runs)
  local appliers = {}
  for k = 1, o.appliers or self.appliers do
    appliers[k] = self:start_applier(tag .. "-applier" .. k, url, self.dir .. "/" .. tag .. "-stop")
  end
  local base = function(k) return appliers[(k - 1) % #appliers + 1].base end
  local done_file = self.dir .. "/" .. tag .. "-workers-done"
  local timeout = o.timeout or 600
  local t0 = socket.gettime()
  local workers = {}
  for k = 1, o.workers do
    workers[k] = self:spawn(tag .. "-worker" .. k, "spec/support/fleet_worker.lua", { url, s.url,
      s.certificate, r.url, base(k), o.count, o.batch or 100, o.workers, k, o.overlap or 0,
      o.concurrency or 16 })
  end
  local reconciler = self:spawn(tag .. "-reconciler", "spec/support/fleet_reconciler.lua", { url,
    s.url, s.certificate, r.url, base(o.workers + 1), done_file, o.overdue or 20 })
  local result = { url = url, workers = {}, appliers = {} }
  for k, w in ipairs(workers) do
    wait(w, math.max(1, timeout - (socket.gettime() - t0)))
    result.workers[k] = output(w)
  end
  result.sent = socket.gettime() - t0
  assert(io.open(done_file, "wb")):close()
  if wait(reconciler, math.max(1, timeout - (socket.gettime() - t0))) then
    result.final = socket.gettime() - t0
  end
  result.reconciler = output(reconciler)
  for _, w in ipairs(workers) do kill(w) end
  kill(reconciler)
  for k, a in ipairs(appliers) do result.appliers[k] = stop_applier(a) end
  return result
end

-- The same payouts without a ledger: o.workers processes (fleet_sender.lua)
-- each send their share with sendBatch (concurrency o.concurrency, default
-- 16), the simulator reset and Redis emptied. Returns the seconds taken and
-- the processes' outputs.
function Fleet:send_bare(o)
  self.runs = self.runs + 1
  local s, r = self.sim, self.redis
  s:reset()
  r:cli("FLUSHALL")
  local t0 = socket.gettime()
  local senders, outs = {}, {}
  for k = 1, o.workers do
    senders[k] = self:spawn("run" .. self.runs .. "-sender" .. k, "spec/support/fleet_sender.lua",
      { s.url, s.certificate, r.url, o.count, o.workers, k, o.concurrency or 16 })
  end
  for k, c in ipairs(senders) do
    wait(c, o.timeout or 600)
    outs[k] = output(c)
  end
  local seconds = socket.gettime() - t0
  for _, c in ipairs(senders) do kill(c) end
  return seconds, outs
end

-- Every child stopped and waited for, then the servers; idempotent.
function Fleet:stop()
  for _, child in ipairs(self.children) do
    if child.stop_file and not child.exited then stop_applier(child) end
    kill(child)
  end
  if self.sim then self.sim:stop() end
  if self.redis then self.redis:stop() end
  if self.pg then self.pg:stop() end
  if self.dir then os.execute("rm -rf " .. sh_quote(self.dir)) end
  self.sim, self.redis, self.pg, self.dir = nil, nil, nil, nil
end

return M
