-- mpesa.b2c.sendBatch against the simulator (functional, not timed).
local b2c = require("b2c")
local sim = require("support.sim")
local stub_daraja = require("support.stub_daraja")

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
    mpesa = assert(b2c.new(s:settings({ resultUrl = s.url .. "/nowhere",
      queueTimeOutUrl = s.url .. "/nowhere", timeout = 5 })))
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
    -- revoked before payout 100 leaves (from onSubmit: a loaded machine may
    -- have every answer in before the 40th result is read)
    local report = mpesa.b2c.sendBatch(payouts(200), { concurrency = 32, onSubmit = function(i)
      if i == 100 then s:revokeTokens() end
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

  -- Runs a Lua 5.4 script (body after the client is made as `mpesa`) under
  -- `ulimit -n limit`, against this simulator; returns its output.
  local function under_ulimit(limit, body)
    local script = string.format([[
      package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
      package.cpath = "build/?.so;" .. package.cpath
      local b2c = require("b2c")
      local mpesa = assert(b2c.new({ consumerKey = %q, consumerSecret = %q,
        shortCode = "600996", initiatorName = "testapi", initiatorPassword = %q,
        certificate = %q, baseUrl = %q, resultUrl = %q, queueTimeOutUrl = %q }))
      local function list(n)
        local t = {}
        for i = 1, n do t[i] = { recipientPhone = "0708374149", amount = 100, remarks = "P" .. i } end
        return t
      end
    ]], s.consumerKey, s.consumerSecret, s.initiatorPassword, s.certificate, s.url,
      s.url .. "/nowhere", s.url .. "/nowhere") .. body
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write(script)
    f:close()
    local p = assert(io.popen(string.format("sh -c 'ulimit -n %d; exec lua5.4 %s' 2>&1", limit, path)))
    local out = p:read("*a")
    p:close()
    os.remove(path)
    return out
  end

  it("backs off when file descriptors run out, and sends everything #lua54", function()
    local out = under_ulimit(64, [[
      local r = mpesa.b2c.sendBatch(list(1000), { concurrency = 64 })
      print(string.format("accepted=%d unsent=%d ambiguous=%d", r.accepted, r.unsent, r.ambiguous))
    ]])
    assert.matches("accepted=1000 unsent=0 ambiguous=0", out)
    local d = since(s:stats())
    assert.are.equal(1000, d.payouts)
    assert.are.equal(1000, d.requests) -- a payout that found no descriptor had sent nothing
  end)

  it("says when no file descriptor is left #lua54", function()
    local out = under_ulimit(64, [[
      local held = {}
      while true do
        local f = io.open("/dev/null")
        if not f then break end
        held[#held + 1] = f
      end
      local r = mpesa.b2c.sendBatch(list(3))
      local err = r.results[1].err
      print(r.unsent, err.kind, err.outcome, err.cause)
      print(err.message)
      print((select(2, b2c.describe(err))))
      for _, f in ipairs(held) do f:close() end
      print("after", mpesa.b2c.sendBatch(list(3)).accepted)
    ]])
    assert.matches("3	network	unsent	descriptors", out)
    assert.matches("too many open files", out)
    assert.matches("raise ulimit %-n", out)
    assert.matches("after	3", out)
  end)

  it("raises on misuse", function()
    assert.has_error(function() mpesa.b2c.sendBatch("x") end)
    assert.has_error(function() mpesa.b2c.sendBatch({}, { concurrency = 0 }) end)
    assert.has_error(function() mpesa.b2c.sendBatch({}, { onResult = 1 }) end)
    assert.has_error(function() mpesa.b2c.sendBatch({ "x" }) end)
  end)

  it("counts an answer cut off by maxResponseBytes as ambiguous, never rejected", function()
    local small = assert(b2c.new(s:settings({ maxResponseBytes = 4096, resultUrl = s.url .. "/nowhere",
      queueTimeOutUrl = s.url .. "/nowhere", timeout = 5 })))
    local report = small.b2c.sendBatch(payouts(3, { [2] = { remarks = "sim:fault=oversize" } }))
    small:close()
    assert.are.equal(2, report.accepted)
    assert.are.equal(1, report.ambiguous)
    assert.are.equal(0, report.rejected)
    local r = report.results[2]
    assert.are.equal("ambiguous", r.outcome)
    assert.are.equal("timeout", r.err.kind)
    assert.are.equal("transient", (b2c.describe(r.err)))
    assert.are.equal(1, s:stats().sendsByOcid[r.originatorConversationId]) -- processed, once
  end)

  it("counts an already-paid payout (500.002.1001) on a re-run with saved OCIDs as ambiguous", function()
    local saved = {}
    local first = mpesa.b2c.sendBatch(payouts(4), { onSubmit = function(i, ocid) saved[i] = ocid end })
    assert.are.equal(4, first.accepted)
    -- the documented pattern: the run broke off, the same rows go again with their OCIDs
    local again = payouts(5)
    for i = 1, 4 do again[i].originatorConversationId = saved[i] end
    local report = mpesa.b2c.sendBatch(again)
    assert.are.equal(1, report.accepted)
    assert.are.equal(4, report.ambiguous)
    assert.are.equal(0, report.rejected)
    for i = 1, 4 do
      local r = report.results[i]
      assert.are.equal("ambiguous", r.outcome)
      assert.are.equal("500.002.1001", r.err.code)
      assert.are.equal("transient", (b2c.describe(r.err)))
    end
    assert.are.equal(5, since(s:stats()).payouts) -- 4 + 1 paid in all, none twice
  end)

  it("refuses a list with holes, naming the rule, before anything is sent", function()
    local list = payouts(10)
    for i = 6, 9 do list[i] = nil end
    local report, err = mpesa.b2c.sendBatch(list)
    assert.is_nil(report)
    assert.are.equal("validation", err.kind)
    assert.are.equal("payouts", err.field)
    assert.matches("without holes: payouts%[6%] is nil but payouts%[10%] is set", err.message)
    local odd = payouts(2)
    odd.extra = payouts(1)[1]
    local _, err2 = mpesa.b2c.sendBatch(odd)
    assert.matches("must be a list", err2.message)
    assert.are.equal(0, since(s:stats()).requests)
  end)

  for _, hook in ipairs({ "onSubmit", "onResult" }) do
    it("stops at a raising " .. hook .. ": nothing more leaves, what left is reported", function()
      local calls = 0
      local options = { concurrency = 8 }
      options[hook] = function()
        calls = calls + 1
        if calls == 3 then error("database is down") end
      end
      local report, err = mpesa.b2c.sendBatch(payouts(20), options)
      assert.is_nil(report)
      assert.are.equal("hook", err.kind)
      assert.are.equal(hook, err.hook)
      assert.matches("database is down", err.message)
      local r = err.report
      local left = 0
      for i = 1, 20 do
        local x = r.results[i]
        assert.is_table(x, "payouts[" .. i .. "] has an outcome")
        if x.sent then left = left + 1 end
      end
      assert.are.equal(r.accepted, left)
      assert.are.equal(20, r.accepted + r.unsent)
      if hook == "onSubmit" then
        assert.is_false(r.results[3].sent) -- its OCID was not stored: it never left
        assert.are.equal(2, left)
      end
      mpesa:step(0.2) -- nothing was left queued in the client to go out later
      assert.are.equal(left, since(s:stats()).requests)
      local next_batch = mpesa.b2c.sendBatch(payouts(1))
      assert.are.equal(1, next_batch.accepted)
      assert.are.equal(left + 1, since(s:stats()).requests)
    end)
  end

  it("keeps each payout's reference with its outcome, and never sends it", function()
    local list = payouts(3)
    for i = 1, 3 do list[i].reference = "payroll-row-" .. i end
    list[2].reference = 42
    local report = mpesa.b2c.sendBatch(list)
    assert.are.equal(3, report.accepted)
    assert.are.equal("payroll-row-1", report.results[1].reference)
    assert.are.equal(42, report.results[2].reference)
    local body = s:stats().lastPaymentRequest
    for k, v in pairs(body or {}) do
      assert.is_nil(tostring(v):find("payroll-row", 1, true), k)
      assert.are_not.equal("reference", k:lower())
    end
  end)
end)

describe("mpesa.b2c.sendBatch against scripted answers", function()
  local apps = 0
  local function client(url)
    apps = apps + 1 -- each its own app (its own token), as a fresh process would have
    return assert(b2c.new({ consumerKey = "k" .. apps, consumerSecret = "s", shortCode = "600996",
      initiatorName = "testapi", initiatorPassword = "pw", baseUrl = url,
      resultUrl = "https://example.com/r", queueTimeOutUrl = "https://example.com/t", timeout = 5 }))
  end
  local function list(n)
    local t = {}
    for i = 1, n do t[i] = { recipientPhone = "0708374149", amount = 100, remarks = "Row " .. i } end
    return t
  end
  local SPIKE = { status = 500, body = '{"requestId":"r-1","errorCode":"500.003.02",'
    .. '"errorMessage":"Error Occurred: Spike Arrest Violation"}' }

  it("backs off before sending a spike-arrested payout again", function()
    local stub = stub_daraja.start({ answers = { SPIKE, SPIKE } })
    local mpesa = client(stub.url)
    local report = mpesa.b2c.sendBatch(list(1), { concurrency = 1 })
    mpesa:close()
    local posts = stub:posts()
    stub:stop()
    assert.are.equal(1, report.accepted)
    assert.are.equal(2, report.spikeRetries)
    assert.are.equal(3, #posts)
    assert.are.equal(posts[1].ocid, posts[3].ocid)
    -- back-off: 0.25 s then 0.5 s, each +-25 %; a resend at once takes milliseconds
    local first, second = posts[2].at - posts[1].at, posts[3].at - posts[2].at
    assert.is_true(first >= 0.15, string.format("first resend after %.3f s", first))
    assert.is_true(second >= 0.3, string.format("second resend after %.3f s", second))
  end)

  it("counts a 200 that is not JSON, and an ack for another OCID, as ambiguous", function()
    local stub = stub_daraja.start({ answers = {
      { status = 200, body = "<html>OK</html>" },
      { status = 200, body = '{"ConversationID":"AG_1","OriginatorConversationID":"someone-else",'
        .. '"ResponseCode":"0","ResponseDescription":"Accept the service request successfully."}' },
      { status = 503, body = "upstream gone" },
    } })
    local mpesa = client(stub.url)
    local report = mpesa.b2c.sendBatch(list(4), { concurrency = 1 })
    mpesa:close()
    stub:stop()
    assert.are.equal(3, report.ambiguous)
    assert.are.equal(1, report.accepted)
    assert.are.equal(0, report.rejected)
    for i = 1, 3 do
      local r = report.results[i]
      assert.are.equal("ambiguous", r.outcome, i)
      assert.are.equal(r.originatorConversationId, r.err.originatorConversationId)
      assert.are.equal("transient", (b2c.describe(r.err)))
    end
    assert.are.equal("timeout", report.results[2].err.kind)
  end)

  it("cancels payouts still waiting for a token when onSubmit raises: none leaves", function()
    local stub = stub_daraja.start({})
    local mpesa = client(stub.url) -- a new app: no token cached, the first payouts wait for one
    local report, err = mpesa.b2c.sendBatch(list(10), { concurrency = 8, onSubmit = function(i)
      if i == 3 then error("disk full") end
    end })
    mpesa:step(0.2)
    mpesa:close()
    local posts = #stub:posts()
    stub:stop()
    assert.is_nil(report)
    assert.are.equal("hook", err.kind)
    assert.are.equal(3, err.index)
    assert.are.equal(10, err.report.unsent)
    for i = 1, 10 do assert.is_false(err.report.results[i].sent) end
    assert.are.equal(0, posts)
  end)
end)
