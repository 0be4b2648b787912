-- The fleet's reconciliation worker: runs ledger:reconcile on the shared
-- ledger (its Transaction Status answers go to the fleet's callback
-- receiver) until the payout workers are done (DONE_FILE exists) and no
-- payout is open (created, submitted, accepted or unknown).
--   lua5.4 spec/support/fleet_reconciler.lua DB_URL SIM_URL CERTIFICATE REDIS_URL
--     CALLBACK_BASE DONE_FILE OVERDUE
-- Prints at the end: "final rounds R queried Q errors E" and the first error.
package.path = "lua/?.lua;lua/?/init.lua;spec/?.lua;" .. package.path
package.cpath = "build/?.so;" .. package.cpath
local b2c = require("b2c")
local sim = require("support.sim")
local ledger = require("b2c.ledger")
local socket = require("socket")

local url, sim_url, certificate, redis_url, callback_base = arg[1], arg[2], arg[3], arg[4], arg[5]
local done_file, overdue = arg[6], tonumber(arg[7])

local book = assert(ledger.open(url))
local mpesa = assert(b2c.new(sim.settings(sim_url, certificate, {
  resultUrl = callback_base .. "/status", queueTimeOutUrl = callback_base .. "/timeout", timeout = 10,
  tokenStore = redis_url,
})))

local OPEN = { "created", "submitted", "accepted", "unknown" }
local rounds, queried, errors, first_error = 0, 0, 0, nil

local function open_count()
  local st, err = book:stats()
  if not st then return nil, err end
  local n = 0
  for _, state in ipairs(OPEN) do n = n + (st.byState[state] or 0) end
  return n
end

while true do
  rounds = rounds + 1
  -- delay 1: a payout answered as dropped was taken by M-Pesa (or not)
  -- before the connection closed; its status is known at once.
  local report, err = book:reconcile(mpesa, { delay = 1, overdue = overdue, requery = 30, limit = 500,
    resultUrl = callback_base .. "/status", queueTimeOutUrl = callback_base .. "/timeout" })
  if report then
    queried = queried + report.queried
    for _, e in ipairs(report.errors) do
      errors = errors + 1
      first_error = first_error or tostring(e.err)
    end
  else
    errors = errors + 1
    first_error = first_error or tostring(err)
  end
  local f = io.open(done_file, "rb")
  if f then
    f:close()
    if open_count() == 0 then break end
  end
  if not report or report.queried == 0 then socket.sleep(0.5) end
end
mpesa:close()
book:close()
io.write(string.format("final rounds %d queried %d errors %d %s\n", rounds, queried, errors,
  first_error or ""))
