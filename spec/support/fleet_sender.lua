-- The fleet's payouts without a ledger, for bench/fleet.lua's ceiling: one
-- process sends its share (payout i when i % WORKERS == K - 1) with
-- mpesa.b2c.sendBatch on the fleet's Redis tokenStore. Callbacks go nowhere.
--   lua5.4 spec/support/fleet_sender.lua SIM_URL CERTIFICATE REDIS_URL COUNT WORKERS K CONCURRENCY
-- Prints "sent N accepted A".
package.path = "lua/?.lua;lua/?/init.lua;spec/?.lua;" .. package.path
package.cpath = "build/?.so;" .. package.cpath
local b2c = require("b2c")
local sim = require("support.sim")
local payouts = require("support.fleet_payouts")

local sim_url, certificate, redis_url = arg[1], arg[2], arg[3]
local count, workers, k, concurrency = tonumber(arg[4]), tonumber(arg[5]), tonumber(arg[6]), tonumber(arg[7])

local mpesa = assert(b2c.new(sim.settings(sim_url, certificate, {
  resultUrl = "http://127.0.0.1:9/result", queueTimeOutUrl = "http://127.0.0.1:9/timeout", timeout = 10,
  tokenStore = redis_url,
})))
local list = {}
for i = k, count, workers do
  local p = payouts.payout(i)
  p.reference = nil
  list[#list + 1] = p
end
local report = assert(mpesa.b2c.sendBatch(list, { concurrency = concurrency }))
mpesa:close()
io.write(string.format("sent %d accepted %d\n", #list, report.accepted))
