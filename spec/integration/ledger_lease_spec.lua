-- Reconcile workers sharing one ledger (SQLite, and PostgreSQL with
-- FOR UPDATE SKIP LOCKED): two processes reconciling at once never ask
-- about one payout both, and a lease left by a worker killed mid-query
-- expires so another worker takes the payout.
local b2c = require("b2c")
local ledger = require("b2c.ledger")
local postgres = require("support.postgres")
local sim = require("support.sim")
local socket = require("socket")
local files = require("support.files")
local process = require("support.process")
local ledger_urls = require("support.ledger_urls")

local STATUS_PATH = "/mpesa/transactionstatus/v1/query"

describe("b2c.ledger reconcile leases", function()
  local s, pg, dir
  local children = process.group()

  setup(function()
    -- the worker processes pay with the default consumer key
    s = sim.start({ consumerKey = sim.DEFAULTS.consumerKey, callbackAttempts = 1, callbackDelay = 0.01 })
    dir = files.tempdir()
    local why
    pg, why = postgres.start()
    if not pg then print("PostgreSQL lease specs skipped: " .. why) end
  end)
  teardown(function()
    children:kill()
    if s then s:stop() end
    if pg then pg:stop() end
    if dir then os.execute("rm -rf '" .. dir .. "'") end
  end)

  local function spawn(url, limit, lease, out)
    -- a previous store's output must not pass for this worker's
    os.remove(out)
    return children:spawn(string.format("lua5.4 spec/support/ledger_reconciler.lua %s %s %s %d %d "
      .. ">%s 2>&1", url, s.url, s.certificate, limit, lease, out))
  end

  local function client()
    return assert(b2c.new(s:settings({ resultUrl = "http://127.0.0.1:9/result",
      queueTimeOutUrl = "http://127.0.0.1:9/t", timeout = 10 })))
  end

  -- n payouts whose connection dropped after M-Pesa took them: unknown.
  local function unknown_payouts(url, n)
    local book, mpesa = assert(ledger.open(url)), client()
    local list = {}
    for i = 1, n do
      list[i] = { recipientPhone = "0708374149", amount = 100 + i, remarks = "Lease sim:fault=drop",
        reference = "lease-" .. i }
    end
    local report = assert(book:payBatch(mpesa, list, { concurrency = 8 }))
    assert.are.equal(n, report.ambiguous)
    mpesa:close()
    book:close()
  end

  -- Transaction Status queries the simulator received, by the payout's OCID.
  local function queries_by_ocid()
    local by, total = {}, 0
    for _, q in ipairs(s:stats().queries) do
      local ocid = q.asked and q.asked.originalConversationId
      if q.kind == "transactionstatus" and ocid then
        by[ocid] = (by[ocid] or 0) + 1
        total = total + 1
      end
    end
    return by, total
  end

  it("two workers reconciling at once never query one payout", function()
    for _, store in ipairs(ledger_urls(dir, pg)) do
      s:reset()
      local url = store[2]("together")
      unknown_payouts(url, 30)
      -- each query takes 50 ms: the two workers' rounds overlap
      s:config({ fault = { spec = "delay=0.05", path = STATUS_PATH } })
      local a = spawn(url, 5, 120, dir .. "/a.out")
      local b = spawn(url, 5, 120, dir .. "/b.out")
      local a_ended, b_ended = children:finish(a, 120), children:finish(b, 120)
      local a_out, b_out = files.read(dir .. "/a.out") or "", files.read(dir .. "/b.out") or ""
      assert.is_true(a_ended and b_ended, store[1] .. ": a worker hung:\n" .. a_out .. b_out)
      local a_done = tonumber(a_out:match("done (%d+)"))
      local b_done = tonumber(b_out:match("done (%d+)"))
      assert.is_number(a_done, a_out)
      assert.is_number(b_done, b_out)
      assert.are.equal(30, a_done + b_done, store[1])
      local by, total = queries_by_ocid()
      assert.are.equal(30, total, store[1])
      for ocid, n in pairs(by) do assert.are.equal(1, n, store[1] .. ": " .. ocid .. " queried twice") end
      local book = assert(ledger.open(url))
      for _, p in ipairs(book:list({ limit = 100 })) do
        assert.are.equal(1, p.queries, store[1])
        assert.is_nil(p.leaseOwner, store[1])
      end
      book:close()
      print(string.format("%s: two reconcile workers queried %d and %d of 30", store[1], a_done, b_done))
    end
  end)

  it("a lease left by a killed worker expires and another worker takes the payout", function()
    for _, store in ipairs(ledger_urls(dir, pg)) do
      s:reset()
      local url = store[2]("killed")
      unknown_payouts(url, 1)
      -- the worker's query hangs: it is killed holding the lease
      s:config({ fault = { spec = "delay=60", path = STATUS_PATH } })
      local out = dir .. "/killed.out"
      local pid = spawn(url, 1, 10, out)
      files.wait_for(out, "leased", 30)
      assert.matches("leased", files.read(out) or "", nil, true)
      os.execute("kill -9 " .. pid)
      children:finish(pid, 10)
      s:config({ fault = false })

      local book, mpesa = assert(ledger.open(url)), client()
      local held = book:get("lease-1")
      assert.is_string(held.leaseOwner)
      assert.are_not.equal(book.owner, held.leaseOwner)
      -- still leased: this worker passes it over
      local report = assert(book:reconcile(mpesa, { delay = 0 }))
      assert.are.equal(0, report.queried, store[1])
      assert.is_true(os.time() < held.leaseUntil, store[1] .. ": the check came after the lease ended")
      -- once the lease has expired, this worker takes it
      while os.time() <= held.leaseUntil do socket.sleep(0.1) end
      report = assert(book:reconcile(mpesa, { delay = 0 }))
      assert.are.equal(1, report.queried, store[1])
      local after = book:get("lease-1")
      assert.are.equal(1, after.queries)
      assert.is_nil(after.leaseOwner)
      -- the killed worker's query (if it reached M-Pesa) and this one
      local asked = queries_by_ocid()[after.originatorConversationId]
      assert.is_true(asked == 1 or asked == 2, tostring(asked))
      mpesa:close()
      book:close()
    end
  end)
end)
