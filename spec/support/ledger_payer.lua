-- One of several processes paying from one ledger (the workers spec):
--   lua5.4 spec/support/ledger_payer.lua DB_URL SIM_URL CERTIFICATE FIRST LAST SEED TOKEN_DIR
-- pays references ref-FIRST..ref-LAST with ledger:pay, in an order shuffled
-- by SEED, and prints "done N" (payouts it saw accepted) at the end. The
-- workers share one token through a tokenStore in TOKEN_DIR, as a real
-- deployment must (each new token supersedes the last).
package.path = "lua/?.lua;lua/?/init.lua;spec/?.lua;" .. package.path
package.cpath = "build/?.so;" .. package.cpath
local b2c = require("b2c")
local sim = require("support.sim")
local ledger = require("b2c.ledger")

local url, sim_url, certificate = arg[1], arg[2], arg[3]
local first, last, seed = tonumber(arg[4]), tonumber(arg[5]), tonumber(arg[6])
local token_dir = arg[7]
math.randomseed(seed)

local book = assert(ledger.open(url))
local mpesa = assert(b2c.new(sim.settings(sim_url, certificate, {
  resultUrl = "http://127.0.0.1:9/result", queueTimeOutUrl = "http://127.0.0.1:9/t", timeout = 10,
  tokenStore = require("support.file_store").new(token_dir),
})))

local order = {}
for i = first, last do order[#order + 1] = i end
for i = #order, 2, -1 do
  local j = math.random(i)
  order[i], order[j] = order[j], order[i]
end
local accepted = 0
for _, i in ipairs(order) do
  local p, err = book:pay(mpesa, { recipientPhone = "0708374149", amount = 100 + i,
    remarks = "Workers spec", reference = "ref-" .. i })
  if not p then
    io.stderr:write("ref-" .. i .. ": " .. tostring(err) .. "\n")
    os.exit(1)
  end
  if p.state == "accepted" then accepted = accepted + 1 end
end
mpesa:close()
book:close()
print("done " .. accepted)
