-- One ledger:payBatch in its own process, for the database-failure spec
-- (which stops PostgreSQL under it, or fills SQLite):
--   lua5.4 spec/support/ledger_batch.lua DB_URL SIM_URL CERTIFICATE COUNT CONCURRENCY [full]
-- `full`: the SQLite file may not grow any more (PRAGMA max_page_count = its
-- size before the batch): a real SQLITE_FULL comes mid-batch.
-- Prints "kind=K", "left=N" (payouts that left, by err.report),
-- "unsent=N", "cause=..." and "message=..." lines, then "end".
package.path = "lua/?.lua;lua/?/init.lua;spec/?.lua;" .. package.path
package.cpath = "build/?.so;" .. package.cpath
local b2c = require("b2c")
local sim = require("support.sim")
local ledger = require("b2c.ledger")

local url, sim_url, certificate = arg[1], arg[2], arg[3]
local count, concurrency, full = tonumber(arg[4]), tonumber(arg[5]), arg[6] == "full"

local book = assert(ledger.open(url))
local mpesa = assert(b2c.new(sim.settings(sim_url, certificate, {
  resultUrl = "http://127.0.0.1:9/result", queueTimeOutUrl = "http://127.0.0.1:9/t", timeout = 10,
})))

if full then
  local pages = assert(book.store:one("PRAGMA page_count")).page_count
  assert(book.store:one("PRAGMA max_page_count = " .. string.format("%d", pages)))
end

local payouts = {}
for i = 1, count do
  payouts[i] = { recipientPhone = "0708374149", amount = 100 + i, remarks = "Database failure",
    reference = "gone-" .. i }
end
local report, err = book:payBatch(mpesa, payouts, { concurrency = concurrency })
local rep = report or err.report or {}
local left = (rep.accepted or 0) + (rep.rejected or 0) + (rep.rejected_retryable or 0) + (rep.ambiguous or 0)
print("kind=" .. (err and err.kind or "none"))
print("left=" .. left)
print("unsent=" .. tostring(rep.unsent))
print("cause=" .. tostring(err and err.cause))
print("message=" .. tostring(err and err.message))
print("end")
