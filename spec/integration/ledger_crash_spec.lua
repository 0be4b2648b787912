-- Crash safety with real SIGKILL: a worker (spec/support/ledger_worker.lua)
-- pays, handles callbacks and reconciles on a SQLite ledger and is killed
-- at a random moment. After the restart every payout the simulator received
-- has its row, nothing was received twice, a row still `created` was never
-- sent, and reconciliation drives every payout to a final state without
-- sending anything again. Seeds are printed; B2C_CRASH_RUNS sets the number
-- of runs on SQLite (default 30), B2C_CRASH_PG_RUNS on PostgreSQL (default
-- 15, when installed), B2C_CRASH_SEED the first seed.
local b2c = require("b2c")
local ledger = require("b2c.ledger")
local sim = require("support.sim")
local postgres = require("support.postgres")
local socket = require("socket")
local files = require("support.files")
local read_file = files.read

local RUNS = tonumber(os.getenv("B2C_CRASH_RUNS") or "30")
local PG_RUNS = tonumber(os.getenv("B2C_CRASH_PG_RUNS") or "15")
local FIRST_SEED = tonumber(os.getenv("B2C_CRASH_SEED") or tostring(os.time()))
local COUNT = 8

local tempdir = files.tempdir
local process = require("support.process")

describe("b2c.ledger under SIGKILL", function()
  -- the workers pay with the default consumer key
  local ctx = sim.session({ consumerKey = sim.DEFAULTS.consumerKey, callbackDelay = 0.02, callbackAttempts = 1 })

  -- The Transaction Status answers posted to the receiver since `from`.
  local function status_callbacks(from, n)
    local got = ctx.receiver:wait(from + n, 5)
    local out = {}
    for i = from + 1, #got do out[#out + 1] = got[i] end
    return out
  end

  local function recover(seed, url)
    local why = "seed " .. seed
    local book = assert(ledger.open(url))
    local sends = ctx.s:stats().sendsByOcid
    local rows = book.store:rows("SELECT id, ocid, state, reference FROM payouts")
    local by_ocid = {}
    for _, r in ipairs(rows) do by_ocid[r.ocid] = r end
    for ocid, n in pairs(sends) do
      assert.are.equal(1, n, why .. ": " .. ocid .. " sent twice")
      assert.is_truthy(by_ocid[ocid], why .. ": " .. ocid .. " sent without a row")
    end
    for _, r in ipairs(rows) do
      if r.state == "created" then
        assert.is_nil(sends[r.ocid], why .. ": a created row was sent")
      end
    end

    -- The restart: finish what never left, then reconcile until final.
    local mpesa = assert(b2c.new(ctx.s:settings({ resultUrl = ctx.receiver:urlFor("/result"),
      queueTimeOutUrl = ctx.receiver:urlFor("/timeout"), timeout = 5 })))
    for _, r in ipairs(rows) do
      if r.state == "created" then assert(book:send(mpesa, tonumber(r.id))) end
    end
    -- a payout the killed worker was asking about stays leased a second
    local leased = book.store:one("SELECT max(lease_until) AS t FROM payouts").t
    while leased and os.time() <= tonumber(leased) do socket.sleep(0.1) end
    for _ = 1, 3 do
      local from = #ctx.receiver.received
      local report = assert(book:reconcile(mpesa, { delay = 0, overdue = 0, requery = 0,
        resultUrl = ctx.receiver:urlFor("/status") }))
      if report.queried == 0 then break end
      for _, cb in ipairs(status_callbacks(from, report.queried)) do
        if cb.path == "/status" then book:applyResult(cb.raw) end
      end
    end
    local open = book.store:rows("SELECT id, state FROM payouts WHERE state NOT IN "
      .. "('paid', 'failed', 'not_found')")
    assert.are.same({}, open, why .. ": payouts left open")
    -- paying every reference again sends nothing
    local before = ctx.s:stats().requests["/mpesa/b2c/v3/paymentrequest"] or 0
    for i = 1, COUNT do
      local first = book.store:one("SELECT * FROM payouts WHERE reference = ?", "ref-" .. i)
      if first then
        local p = require("b2c.json").decode(first.request)
        p.reference = first.reference
        assert(book:pay(mpesa, p))
      end
    end
    assert.are.equal(before, ctx.s:stats().requests["/mpesa/b2c/v3/paymentrequest"] or 0, why)
    for ocid, n in pairs(ctx.s:stats().sendsByOcid) do assert.are.equal(1, n, why .. ": " .. ocid) end
    mpesa:close()
    book:close()
    return #rows
  end

  -- RUNS kill-and-restart runs, each on the ledger `fresh(run)` gives.
  local function crash_runs(label, runs, fresh)
    local started = socket.gettime()
    local rows, killed = 0, 0
    print(string.format("\nledger crash runs (%s): %d, seeds %d..%d", label, runs, FIRST_SEED,
      FIRST_SEED + runs - 1))
    for run = 0, runs - 1 do
      local seed = FIRST_SEED + run
      math.randomseed(seed)
      ctx.s:reset()
      ctx.receiver.received = {}
      local dir = tempdir()
      local url = fresh(run, dir)
      local pid = process.spawn(string.format("lua5.4 spec/support/ledger_worker.lua %d %s %s %s %d "
        .. ">%s/out 2>&1", seed, url, ctx.s.url, ctx.s.certificate, COUNT, dir))
      -- from when the worker is ready: half the kills in the paying phase
      files.wait_for(dir .. "/out", "ready", 5)
      socket.sleep(math.random(2) == 1 and math.random() * 0.2 or math.random() * 0.8)
      process.kill(pid)
      local out = read_file(dir .. "/out") or ""
      if not out:find("done\n", 1, true) then killed = killed + 1 end
      assert.is_nil(out:find("lua5.4:", 1, true), "seed " .. seed .. ": worker failed:\n" .. out)
      local ok, err = pcall(recover, seed, url)
      if not ok then
        print("seed " .. seed .. " failed; worker output:\n" .. out)
        error(err, 0)
      end
      rows = rows + err
      os.execute("rm -rf '" .. dir .. "'")
    end
    print(string.format("ledger crash runs (%s): %d (%d killed before the end), %d payouts, %.1f s",
      label, runs, killed, rows, socket.gettime() - started))
  end

  it("leaves every payout known or reconcilable, none sent twice (SQLite)", function()
    crash_runs("SQLite", RUNS, function(_, dir) return "sqlite://" .. dir .. "/ledger.db" end)
  end)

  it("leaves every payout known or reconcilable, none sent twice (PostgreSQL)", function()
    postgres.with("PostgreSQL crash runs", function(pg)
      crash_runs("PostgreSQL", PG_RUNS, function(run)
        pg:createdb("crash" .. run)
        return pg:url("crash" .. run)
      end)
    end)
  end)
end)
