-- mpesa.b2c.sendBatch against the simulator (functional, not timed).
local b2c = require("b2c")
local sim = require("support.sim")

local PAYMENT = "/mpesa/b2c/v3/paymentrequest"

describe("mpesa.b2c.sendBatch", function()
  local s, mpesa

  local function payouts(n, over)
    local list = {}
    for i = 1, n do list[i] = { recipientPhone = "0708374149", amount = 100 + i, remarks = "Batch " .. i } end
    for i, fields in pairs(over or {}) do
      for k, v in pairs(fields) do list[i][k] = v end
    end
    return list
  end

  setup(function()
    s = sim.start({ callbackDelay = 30 })
    mpesa = assert(b2c.new({
      consumerKey = s.consumerKey, consumerSecret = s.consumerSecret, shortCode = "600996",
      initiatorName = "testapi", initiatorPassword = s.initiatorPassword,
      certificate = s.certificate, baseUrl = s.url,
      resultUrl = s.url .. "/nowhere", queueTimeOutUrl = s.url .. "/nowhere", timeout = 5,
    }))
  end)
  teardown(function()
    if mpesa then mpesa:close() end
    if s then s:stop() end
  end)
  -- The simulator forgets its tokens on reset while the SDK's process-wide
  -- cache still holds one: a first send re-establishes a valid token, and
  -- counts are taken relative to the state after it.
  local base
  before_each(function()
    s:reset()
    assert(mpesa.b2c.send({ recipientPhone = "0708374149", amount = 100, remarks = "Warm-up" }))
    base = s:stats()
  end)

  local function since(st)
    return {
      tokens = st.tokensIssued - base.tokensIssued,
      requests = (st.requests[PAYMENT] or 0) - (base.requests[PAYMENT] or 0),
      payouts = #st.payouts - #base.payouts,
    }
  end

  it("returns outcomes in input order, after one token fetch for 500 payouts", function()
    local report = mpesa.b2c.sendBatch(payouts(500), { concurrency = 32 })
    assert.are.equal(500, report.total)
    assert.are.equal(500, report.accepted)
    local st = s:stats()
    assert.are.same({ tokens = 0, requests = 500, payouts = 500 }, since(st))
    local amount_by_ocid = {}
    for _, p in ipairs(st.payouts) do amount_by_ocid[p.ocid] = p.amount end
    for i = 1, 500 do
      local r = report.results[i]
      assert.are.equal(i, r.index)
      assert.are.equal("accepted", r.outcome)
      assert.are.equal(r.originatorConversationId, r.ack.OriginatorConversationID)
      assert.are.equal(100 + i, amount_by_ocid[r.originatorConversationId]) -- the right payout
      assert.are.equal(1, st.sendsByOcid[r.originatorConversationId])
    end
  end)

  it("reports invalid payouts without sending them, and sends the valid ones", function()
    local report = mpesa.b2c.sendBatch(payouts(6, {
      [2] = { amount = 10.5 }, [4] = { recipientPhone = "12345" }, [5] = { remarks = 7 },
    }))
    assert.are.equal(3, report.invalid)
    assert.are.equal(3, report.accepted)
    for _, i in ipairs({ 2, 4, 5 }) do
      assert.are.equal("invalid", report.results[i].outcome)
      assert.are.equal("validation", report.results[i].err.kind)
      assert.is_false(report.results[i].sent)
    end
    assert.are.equal("amount", report.results[2].err.field)
    assert.are.equal("recipientPhone", report.results[4].err.field)
    assert.are.equal(3, since(s:stats()).requests)
  end)

  it("backs off and sends again after spike arrest, then succeeds", function()
    s:config({ fault = { spec = "spike", count = 4, path = PAYMENT } })
    local report = mpesa.b2c.sendBatch(payouts(40), { concurrency = 8 })
    assert.are.equal(40, report.accepted)
    assert.are.equal(4, report.spikeRetries)
    assert.are.same({ tokens = 0, requests = 44, payouts = 40 }, since(s:stats())) -- each processed once
  end)

  it("stops cleanly on quota, reporting what was and was not sent", function()
    local report = mpesa.b2c.sendBatch(payouts(10, { [5] = { remarks = "sim:fault=quota" } }),
      { concurrency = 1 })
    assert.are.equal(4, report.accepted)
    assert.are.equal(1, report.rejected)
    assert.are.equal(5, report.unsent)
    assert.matches("Quota", report.stopped)
    assert.are.equal("500.003.03", report.results[5].err.code)
    for i = 6, 10 do
      assert.are.equal("unsent", report.results[i].outcome)
      assert.is_false(report.results[i].sent)
      assert.is_nil(report.results[i].originatorConversationId) -- never started: no OCID made
    end
    assert.are.equal(5, since(s:stats()).requests)
  end)

  it("reports a dropped connection as ambiguous and never sends it again", function()
    local report = mpesa.b2c.sendBatch(payouts(12, { [3] = { remarks = "sim:fault=drop" } }),
      { concurrency = 4 })
    assert.are.equal(11, report.accepted)
    assert.are.equal(1, report.ambiguous)
    local r = report.results[3]
    assert.are.equal("ambiguous", r.outcome)
    assert.are.equal("timeout", r.err.kind)
    assert.are.equal(r.originatorConversationId, r.err.originatorConversationId)
    assert.are.equal(1, s:stats().sendsByOcid[r.originatorConversationId])
  end)

  it("refreshes a token invalidated mid-batch once for all requests in flight", function()
    local report = mpesa.b2c.sendBatch(payouts(200), { concurrency = 32, onResult = function(i)
      if i == 40 then s:revokeTokens() end
    end })
    assert.are.equal(200, report.accepted)
    local d = since(s:stats())
    assert.are.equal(1, d.tokens) -- one refresh, not one per request in flight
    assert.are.equal(200, d.payouts)
  end)

  it("tells each OCID before its request leaves", function()
    local told, early = {}, 0
    local report = mpesa.b2c.sendBatch(payouts(5), { onSubmit = function(i, ocid)
      told[i] = ocid
      if s:stats().sendsByOcid[ocid] == nil then early = early + 1 end
    end })
    assert.are.equal(5, early)
    for i = 1, 5 do assert.are.equal(told[i], report.results[i].ack.OriginatorConversationID) end
  end)

  it("keeps to the tps ceiling", function()
    local report = mpesa.b2c.sendBatch(payouts(24), { concurrency = 16, tps = 8 })
    assert.are.equal(24, report.accepted)
    local per_second = s:stats().paymentsPerSecond
    local peak, shown = 0, {}
    for k, n in ipairs(per_second) do
      peak = math.max(peak, n)
      shown[k] = string.format("%d", n)
    end
    print("\n    tps 8: requests per second at the simulator (the first has the warm-up send): "
      .. table.concat(shown, " "))
    assert.is_true(peak <= 10, "peak " .. peak)  -- 8/s, with slack for window edges
    assert.is_true(#per_second >= 3)            -- 24 at 8/s cannot fit in 2 s
  end)

  it("can report through onResult only, holding no results", function()
    local seen = 0
    local report = mpesa.b2c.sendBatch(payouts(20), { keepResults = false,
      onResult = function(_, ack) if ack then seen = seen + 1 end end })
    assert.is_nil(report.results)
    assert.are.equal(20, seen)
    assert.are.equal(20, report.accepted)
  end)

  it("prints a progress line on stderr when asked #lua54", function()
    local script = string.format([[
      package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
      package.cpath = "build/?.so;" .. package.cpath
      local mpesa = assert(require("b2c").new({ consumerKey = %q, consumerSecret = %q,
        shortCode = "600996", initiatorName = "testapi", initiatorPassword = %q,
        certificate = %q, baseUrl = %q, resultUrl = %q, queueTimeOutUrl = %q }))
      local list = {}
      for i = 1, 5 do list[i] = { recipientPhone = "0708374149", amount = 100, remarks = "P" .. i } end
      list[3].amount = 1.5
      mpesa.b2c.sendBatch(list, { progress = true })
    ]], s.consumerKey, s.consumerSecret, s.initiatorPassword, s.certificate, s.url,
      s.url .. "/nowhere", s.url .. "/nowhere")
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write(script)
    f:close()
    local out = assert(io.popen("lua5.4 " .. path .. " 2>&1 >/dev/null")):read("*a")
    os.remove(path)
    assert.matches("%[b2c%] 5/5 done .* 1 not accepted", out)
  end)

  it("raises on misuse", function()
    assert.has_error(function() mpesa.b2c.sendBatch("x") end)
    assert.has_error(function() mpesa.b2c.sendBatch({}, { concurrency = 0 }) end)
    assert.has_error(function() mpesa.b2c.sendBatch({}, { onResult = 1 }) end)
    assert.has_error(function() mpesa.b2c.sendBatch({ "x" }) end)
  end)
end)
