-- The fleet with its ledger on PostgreSQL: 4 payout worker processes pay
-- B2C_FLEET_PAYOUTS payouts (default 2,000; a 10,000 run is in
-- docs/many-machines.md) from one ledger, racing each other on some references,
-- with a reconciliation worker and a callback receiver process per worker
-- (each app server receives its own callbacks), all on one Redis
-- tokenStore, against the simulator with faults: dropped connections,
-- queue timeouts, missing and duplicate callbacks, refusals, and callback
-- deliveries dropped by the receivers. Every payout ends paid or failed as
-- the simulator decided it, none reaches the simulator twice, and the
-- simulator issues one token for the whole run.
local sim = require("support.sim")
local payouts = require("support.fleet_payouts")
local fleet_run = require("support.fleet_run")
local ledger = require("b2c.ledger")
local json = require("cjson.safe")

local COUNT = tonumber(os.getenv("B2C_FLEET_PAYOUTS") or "2000")
local WORKERS = 4

describe("a fleet of 4 workers on one PostgreSQL ledger and one Redis #lua54 #fleet", function()
  local fleet, why

  setup(function()
    fleet, why = fleet_run.start({ appliers = WORKERS, dropEvery = 97 })
    if not fleet then print("fleet ledger spec skipped: " .. why) end
  end)
  teardown(function()
    if fleet then fleet:stop() end
  end)

  it("pays every payout once and drives each to its final state, on one token", function()
    if not fleet then return end
    local run = fleet:run({ workers = WORKERS, count = COUNT, batch = 100, overlap = 3, overdue = 20,
      timeout = 120 + COUNT / 10 })
    for k, out in ipairs(run.workers) do
      assert.matches("^done .* errors 0 ", out, "worker " .. k .. ": " .. out)
    end
    local book = assert(ledger.open(run.url))
    local st = assert(book:stats())
    assert.is_not_nil(run.final, "not every payout final within the run's time: "
      .. json.encode(st.byState) .. "; the reconciler: " .. run.reconciler)
    assert.matches("^final ", run.reconciler, "the reconciler: " .. run.reconciler)

    -- the ledger: each reference once, in the state the simulator decided
    local rows = assert(book:list({ limit = COUNT + 1 }))
    book:close()
    assert.are.equal(COUNT, #rows)
    -- A list of what is wrong: its length and the first few.
    local function problems()
      local list = { n = 0 }
      function list.add(text)
        list.n = list.n + 1
        if list.n <= 10 then list[#list + 1] = text end
      end
      function list.text() return list.n .. ": " .. table.concat(list, ", ") end
      return list
    end
    local by_ocid, wrong = {}, problems()
    for _, p in ipairs(rows) do
      local i = tonumber(p.reference:match("^fleet%-(%d+)$"))
      by_ocid[p.originatorConversationId] = p
      if p.state ~= payouts.final(i) then wrong.add(p.reference .. " " .. p.state) end
    end
    assert.are.equal(0, wrong.n, "payouts not in the state the simulator decided, " .. wrong.text())
    assert.are.equal(0, st.attention)

    -- the simulator: one request per OCID, one payout per ledger row
    local res = assert(sim.request(fleet.sim.url, "GET", "/sim/stats", { timeout = 120 }))
    local stats = assert(json.decode(res.body))
    local twice = problems()
    for ocid, n in pairs(stats.sendsByOcid) do
      if n ~= 1 then twice.add(ocid .. " x" .. n) end
    end
    assert.are.equal(0, twice.n, "OCIDs sent more than once, " .. twice.text())
    local seen, mismatched = {}, problems()
    for _, p in ipairs(stats.payouts) do
      local row = by_ocid[p.ocid]
      assert(row, "the simulator paid an OCID the ledger does not hold: " .. p.ocid)
      assert(not seen[row.reference], row.reference .. " paid twice")
      seen[row.reference] = true
      local expected = p.state == "completed" and "paid" or "failed"
      if row.state ~= expected then mismatched.add(row.reference .. " " .. row.state) end
    end
    assert.are.equal(COUNT, #stats.payouts)
    assert.are.equal(0, mismatched.n, "ledger states other than the simulator's, " .. mismatched.text())
    assert.are.equal(1, stats.tokensIssued)
    for k, out in ipairs(run.appliers) do
      assert.matches("\napplied %d+ dropped %d+ errors 0 ", out, "receiver " .. k .. ": " .. out)
    end

    print(string.format("\n    %d payouts, %d workers: sent in %.1f s (%.0f/s), all final in %.1f s; "
      .. "paid %d, failed %d; %s; tokens issued %d", COUNT, WORKERS, run.sent, COUNT / run.sent,
      run.final, st.byState.paid or 0, st.byState.failed or 0, run.reconciler:gsub("%s+$", ""),
      stats.tokensIssued))
    for k, out in ipairs(run.workers) do print("    worker " .. k .. ": " .. out:gsub("%s+$", "")) end
    for k, out in ipairs(run.appliers) do
      print("    receiver " .. k .. ": " .. (out:match("\n(applied.-)%s*$") or out))
    end
  end)
end)
