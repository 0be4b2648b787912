-- Fleet throughput: 1, 2 and 4 payout worker processes paying from one
-- PostgreSQL ledger on one Redis tokenStore (spec/support/fleet_run.lua: a
-- callback receiver per worker, a reconciliation worker, the fleet spec's
-- payouts and faults), against the ceiling of the simulator on this
-- machine. The simulator enforces no TPS limit of its own (docs/simulator.md:
-- "No rate limit is enforced"), so its ceiling here is what the same number
-- of processes reach with plain mpesa.b2c.sendBatch, no ledger. Not a test:
-- it prints a table.
--   lua5.4 bench/fleet.lua
-- B2C_FLEET_BENCH_PAYOUTS (default 1000) payouts per fleet run, three times
-- as many for the plain sendBatch (it is over in about a second otherwise);
-- B2C_FLEET_BENCH_WORKERS (default "1,2,4"); concurrency 16 per process.
package.path = "lua/?.lua;lua/?/init.lua;spec/?.lua;" .. package.path
package.cpath = "build/?.so;" .. package.cpath
local fleet_run = require("support.fleet_run")

local COUNT = tonumber(os.getenv("B2C_FLEET_BENCH_PAYOUTS") or "1000")
local WORKERS = {}
for n in (os.getenv("B2C_FLEET_BENCH_WORKERS") or "1,2,4"):gmatch("%d+") do WORKERS[#WORKERS + 1] = tonumber(n) end

local fleet = assert(fleet_run.start())
local rows = {}
local ok, err = pcall(function()
  for _, w in ipairs(WORKERS) do
    local bare, outs = fleet:send_bare({ workers = w, count = 3 * COUNT })
    for k, out in ipairs(outs) do assert(out:match("^sent %d+ accepted"), "sender " .. k .. ": " .. out) end
    local run = fleet:run({ workers = w, count = COUNT, appliers = w, batch = 100, overdue = 5,
      timeout = 60 + COUNT })
    for k, out in ipairs(run.workers) do
      assert(out:match("^done .* errors 0 "), "worker " .. k .. ": " .. out)
    end
    rows[#rows + 1] = { workers = w, ceiling = 3 * COUNT / bare, sent = COUNT / run.sent, final = run.final }
    io.stderr:write(string.format("%d workers done\n", w))
  end
end)
fleet:stop()
assert(ok, err)

print(string.format("fleet on one PostgreSQL ledger and one Redis, %d payouts per run "
  .. "(~2 %% each dropped, queue timeout, no callback, duplicate callback, two refusals)", COUNT))
print("| workers | sendBatch, no ledger (the simulator's ceiling here) | ledger:payBatch, sent and recorded "
  .. "| of the ceiling | every payout final after |")
print("|---|---|---|---|---|")
for _, r in ipairs(rows) do
  print(string.format("| %d | %.0f payouts/s | %.0f payouts/s | %.0f %% | %s |", r.workers, r.ceiling, r.sent,
    100 * r.sent / r.ceiling, r.final and string.format("%.1f s", r.final) or "not within the time"))
end
