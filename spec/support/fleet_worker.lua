-- One payout worker of the fleet (an app server): pays its batches of the
-- fleet's payouts (spec/support/fleet_payouts.lua) from the shared ledger
-- with ledger:payBatch, on the fleet's Redis tokenStore. With an overlap it
-- also pays some batches of the next worker, alternately with payBatch and
-- with ledger:pay one by one, racing that worker on the same references.
--   lua5.4 spec/support/fleet_worker.lua DB_URL SIM_URL CERTIFICATE REDIS_URL
--     CALLBACK_BASE COUNT BATCH WORKERS K OVERLAP CONCURRENCY
-- A batch that stops (another worker took some of its payouts, or inserted
-- one of its references first) is paid again: the ledger sends only what
-- is still created. Prints, at the end, one line:
--   done batches B again A pays P accepted C unknown U failed F errors E [first error]
package.path = "lua/?.lua;lua/?/init.lua;spec/?.lua;" .. package.path
package.cpath = "build/?.so;" .. package.cpath
local b2c = require("b2c")
local sim = require("support.sim")
local ledger = require("b2c.ledger")
local socket = require("socket")
local payouts = require("support.fleet_payouts")

local url, sim_url, certificate, redis_url, callback_base = arg[1], arg[2], arg[3], arg[4], arg[5]
local count, size, workers, k = tonumber(arg[6]), tonumber(arg[7]), tonumber(arg[8]), tonumber(arg[9])
local overlap, concurrency = tonumber(arg[10]), tonumber(arg[11])

local book = assert(ledger.open(url))
local mpesa = assert(b2c.new(sim.settings(sim_url, certificate, {
  resultUrl = callback_base .. "/result", queueTimeOutUrl = callback_base .. "/timeout", timeout = 10,
  tokenStore = redis_url,
})))

local seen = { batches = 0, again = 0, pays = 0, accepted = 0, unknown = 0, failed = 0, errors = 0 }
local first_error

local function trouble(err)
  seen.errors = seen.errors + 1
  first_error = first_error or tostring(err)
end

local function count_state(p)
  if p.state == "accepted" or p.state == "unknown" or p.state == "failed" then
    seen[p.state] = seen[p.state] + 1
  end
end

local function pay_batch(list)
  for attempt = 1, 50 do
    local report, err = book:payBatch(mpesa, list, { concurrency = concurrency })
    if report then
      for _, p in ipairs(report.payouts) do count_state(p) end
      return
    end
    if attempt == 50 then return trouble(err) end
    seen.again = seen.again + 1
    socket.sleep(0.01 * attempt)
  end
end

local function pay_each(list)
  for _, payout in ipairs(list) do
    local p, err = book:pay(mpesa, payout)
    seen.pays = seen.pays + 1
    if p then count_state(p) elseif err then trouble(err) end
  end
end

local own_turn = 0
for _, b in ipairs(payouts.batches(count, size, workers, k, overlap)) do
  local list = {}
  for i = b.first, b.last do list[#list + 1] = payouts.payout(i) end
  local owner = math.floor((b.first - 1) / size) % workers + 1
  seen.batches = seen.batches + 1
  if owner ~= k then
    own_turn = own_turn + 1
    if own_turn % 2 == 0 then pay_each(list) else pay_batch(list) end
  else
    pay_batch(list)
  end
end
mpesa:close()
book:close()
io.write(string.format("done batches %d again %d pays %d accepted %d unknown %d failed %d errors %d %s\n",
  seen.batches, seen.again, seen.pays, seen.accepted, seen.unknown, seen.failed, seen.errors,
  first_error or ""))
