-- A payout service in miniature, for the crash spec to SIGKILL at a random
-- moment: pays (one by one or as a batch), applies the callbacks it
-- receives, reconciles, applies the Transaction Status answers.
--   lua5.4 spec/support/ledger_worker.lua SEED DB_URL SIM_URL CERTIFICATE COUNT
-- Prints a line per step on stdout (flushed) so a run can be read afterwards.
package.path = "lua/?.lua;lua/?/init.lua;spec/?.lua;" .. package.path
package.cpath = "build/?.so;" .. package.cpath
local b2c = require("b2c")
local sim = require("support.sim")
local ledger = require("b2c.ledger")
local socket = require("socket")

local seed, url, sim_url, certificate, count = tonumber(arg[1]), arg[2], arg[3], arg[4], tonumber(arg[5])
math.randomseed(seed)

local function log(...)
  io.stdout:write(table.concat({ ... }, " "), "\n")
  io.stdout:flush()
end

local listener = assert(socket.bind("127.0.0.1", 0))
local _, port = listener:getsockname()
local here = "http://127.0.0.1:" .. port

-- One callback (path, body) or nil when none came within `seconds`.
local function receive(seconds)
  listener:settimeout(seconds)
  local conn = listener:accept()
  if not conn then return nil end
  conn:settimeout(2)
  local line = conn:receive("*l") or ""
  local length = 0
  repeat
    local h = conn:receive("*l") or ""
    local n = h:lower():match("^content%-length:%s*(%d+)")
    if n then length = tonumber(n) end
  until h == ""
  local body = length > 0 and conn:receive(length) or ""
  conn:send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
  conn:close()
  return line:match("^POST (%S+)"), body
end

local book = assert(ledger.open(url))
local mpesa = assert(b2c.new(sim.settings(sim_url, certificate, {
  resultUrl = here .. "/result", queueTimeOutUrl = here .. "/timeout", timeout = 5,
})))

-- A mix of what happens to payouts: paid, failed, queue timeout, no
-- callback, a duplicate callback, a dropped connection.
local PHONES = { "0708374149", "0708374149", "0700000001", "0700009001", "0700009002", "0700009003" }
local payouts = {}
for i = 1, count do
  payouts[i] = { recipientPhone = PHONES[math.random(#PHONES)], amount = 100 + i,
    -- 20 ms of latency: a kill often lands while a request is on the wire
    remarks = math.random(5) == 1 and "Crash sim:fault=drop" or "Crash sim:fault=delay=0.02",
    reference = "ref-" .. i }
end

local function callbacks(seconds)
  while true do
    local path, body = receive(seconds)
    if not path then return end
    local r
    if path:find("timeout", 1, true) then r = book:applyQueueTimeout(body) else r = book:applyResult(body) end
    log("callback", path, r and r.applied or "unreadable")
  end
end

log("ready")
if math.random(2) == 1 then
  for i, p in ipairs(payouts) do
    local row = book:pay(mpesa, p)
    log("paid", i, row and row.state or "error")
  end
else
  local report = book:payBatch(mpesa, payouts, { concurrency = 4 })
  log("batch", report and report.total or "error")
end
callbacks(0.2)
-- a 1 s lease: the restart after a kill takes the payouts over soon
local report = book:reconcile(mpesa, { delay = 0, overdue = 0, lease = 1, resultUrl = here .. "/status" })
log("reconcile", report.queried)
callbacks(0.3)
log("done")
