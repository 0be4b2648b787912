-- One reconcile worker of several sharing a ledger (the lease spec):
--   lua5.4 spec/support/ledger_reconciler.lua DB_URL SIM_URL CERTIFICATE LIMIT LEASE
-- runs ledger:reconcile rounds of LIMIT payouts, each leased for LEASE
-- seconds, until a round queries nothing; prints "leased" once it holds a
-- payout's lease (flushed, for a spec that kills it then) and "done N"
-- (the payouts it queried) at the end.
package.path = "lua/?.lua;lua/?/init.lua;spec/?.lua;" .. package.path
package.cpath = "build/?.so;" .. package.cpath
local b2c = require("b2c")
local sim = require("support.sim")
local ledger = require("b2c.ledger")

local url, sim_url, certificate = arg[1], arg[2], arg[3]
local limit, lease = tonumber(arg[4]), tonumber(arg[5])

local book = assert(ledger.open(url))
local mpesa = assert(b2c.new(sim.settings(sim_url, certificate, {
  resultUrl = "http://127.0.0.1:9/result", queueTimeOutUrl = "http://127.0.0.1:9/t", timeout = 60,
})))

-- Says so once this worker holds a lease, before its query leaves.
local query = mpesa.transactionStatus.query
mpesa.transactionStatus.query = function(fields)
  io.stdout:write("leased ", fields.originatorConversationId, "\n")
  io.stdout:flush()
  return query(fields)
end

local total = 0
repeat
  local report = assert(book:reconcile(mpesa, { delay = 0, limit = limit, lease = lease,
    resultUrl = "http://127.0.0.1:9/status" }))
  total = total + report.queried
until report.queried == 0
mpesa:close()
book:close()
print("done " .. total)
