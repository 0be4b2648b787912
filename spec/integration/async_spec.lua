-- The polled API (mpesa.b2c.start + mpesa:step) against the simulator.
local b2c = require("b2c")
local sim = require("support.sim")
local socket = require("socket")
local stub_daraja = require("support.stub_daraja")

local PAYMENT = "/mpesa/b2c/v3/paymentrequest"

describe("mpesa.b2c.start and mpesa:step", function()
  local s

  local function client(over)
    local cfg = s:settings({ resultUrl = s.url .. "/nowhere", queueTimeOutUrl = s.url .. "/nowhere",
      timeout = 5 })
    for k, v in pairs(over or {}) do cfg[k] = v end
    return assert(b2c.new(cfg))
  end

  local function payout(over)
    local p = { recipientPhone = "0708374149", amount = 100, remarks = "Polled payout" }
    for k, v in pairs(over or {}) do p[k] = v end
    return p
  end

  -- Steps with step(0) only until nothing is pending (bounded); returns the longest step.
  local function drive(mpesa, seconds)
    local longest, deadline = 0, socket.gettime() + (seconds or 20)
    repeat
      local t0 = socket.gettime()
      local pending = mpesa:step(0)
      longest = math.max(longest, socket.gettime() - t0)
      assert.is_true(socket.gettime() < deadline, "payouts did not finish in time")
    until pending == 0
    return longest
  end

  setup(function() s = sim.start({ callbackDelay = 30 }) end) -- callbacks are not the point here
  teardown(function() if s then s:stop() end end)
  before_each(function() s:reset() end)

  it("completes 200 payouts driven only by step(0), sharing one token fetch", function()
    local mpesa = client()
    local handles = {}
    for i = 1, 200 do handles[i] = assert(mpesa.b2c.start(payout())) end
    assert.is_false(handles[1].done)
    local longest = drive(mpesa)
    print(string.format("\n    200 polled payouts: longest step(0) %.2f ms", longest * 1000))
    local st = s:stats()
    assert.are.equal(1, st.tokensIssued)
    assert.are.equal(200, st.requests[PAYMENT])
    for _, h in ipairs(handles) do
      assert.is_true(h.done)
      local ack, err = h:result()
      assert.is_nil(err)
      assert.are.equal("0", ack.ResponseCode)
      assert.matches("^AG_", ack.ConversationID)
      assert.are.equal(h.originatorConversationId, ack.OriginatorConversationID)
      assert.are.equal(1, st.sendsByOcid[h.originatorConversationId])
    end
    mpesa:close()
  end)

  it("rejects bad input at start, before any network call", function()
    local mpesa = client()
    local h, err = mpesa.b2c.start(payout({ amount = 99.5 }))
    assert.is_nil(h)
    assert.are.equal("validation", err.kind)
    assert.are.equal("amount", err.field)
    assert.are.equal(0, mpesa:step(0))
    assert.are.equal(0, s:stats().tokensIssued)
    assert.has_error(function() mpesa.b2c.start("x") end)
    assert.has_error(function() mpesa:step("soon") end)
    mpesa:close()
  end)

  it("raises when result() is asked before the payout is done", function()
    local mpesa = client()
    local h = assert(mpesa.b2c.start(payout()))
    assert.has_error(function() h:result() end)
    drive(mpesa)
    assert.is_not_nil((h:result()))
    mpesa:close()
  end)

  it("waits no longer than asked", function()
    s:config({ fault = { spec = "delay=1", count = 1, path = PAYMENT } })
    local mpesa = client()
    local h = assert(mpesa.b2c.start(payout()))
    local waits = {}
    while not h.done do
      local t0 = socket.gettime()
      mpesa:step(0.05)
      waits[#waits + 1] = socket.gettime() - t0
    end
    table.sort(waits)
    print(string.format("\n    step(0.05) while the answer is 1 s away: %d calls, longest %.1f ms",
      #waits, waits[#waits] * 1000))
    assert.is_true(#waits >= 5)
    assert.is_true(waits[#waits] < 0.5)
    assert.is_nil(select(2, h:result()))
    mpesa:close()
  end)

  it("refreshes an invalidated token once for the waiting payouts", function()
    local mpesa = client()
    assert(mpesa.b2c.send(payout()))        -- a blocking send first: same client, same token
    s:revokeTokens()
    local handles = {}
    for i = 1, 5 do handles[i] = assert(mpesa.b2c.start(payout())) end
    drive(mpesa)
    for _, h in ipairs(handles) do assert.is_not_nil((h:result())) end
    local st = s:stats()
    assert.are.equal(2, st.tokensIssued)
    assert.are.equal(6, #st.payouts)
    mpesa:close()
  end)

  it("reports an answer slower than the timeout as ambiguous, with the OCID", function()
    s:config({ fault = { spec = "delay=2", count = 1, path = PAYMENT } })
    local mpesa = client({ timeout = 0.5 })
    local h = assert(mpesa.b2c.start(payout({ originatorConversationId = "polled-slow" })))
    drive(mpesa)
    local ack, err = h:result()
    assert.is_nil(ack)
    assert.are.equal("timeout", err.kind)
    assert.is_false(err.retryable)
    assert.are.equal("polled-slow", err.originatorConversationId)
    assert.are.equal(1, s:stats().sendsByOcid["polled-slow"])
    mpesa:close()
  end)

  it("fails every waiting payout when the token cannot be had", function()
    local mpesa = client({ consumerSecret = "wrong" })
    local a = assert(mpesa.b2c.start(payout()))
    local b = assert(mpesa.b2c.start(payout()))
    drive(mpesa)
    for _, h in ipairs({ a, b }) do
      local ack, err = h:result()
      assert.is_nil(ack)
      assert.are.equal("auth", err.kind)
    end
    assert.are.equal(0, s:stats().requests[PAYMENT] or 0)
    mpesa:close()
  end)

  it("finishes every handle in flight when the client is closed", function()
    s:config({ fault = { spec = "delay=3", path = PAYMENT } })
    local mpesa = client()
    local handles = {}
    for i = 1, 3 do handles[i] = assert(mpesa.b2c.start(payout({ reference = i }))) end
    local deadline = socket.gettime() + 5
    repeat mpesa:step(0.05) until s:stats().requests[PAYMENT] == 3 or socket.gettime() > deadline
    local waiting = assert(mpesa.b2c.start(payout({ reference = "late" }))) -- not yet stepped
    mpesa:close()
    s:config({ fault = false })
    for i, h in ipairs(handles) do
      assert.is_true(h.done)
      local ack, err = h:result()
      assert.is_nil(ack)
      assert.are.equal("timeout", err.kind)
      assert.are.equal("ambiguous", err.outcome)
      assert.are.equal(h.originatorConversationId, err.originatorConversationId)
      assert.matches("reconcile", err.message)
      assert.are.equal(i, err.reference)
    end
    assert.is_true(waiting.done)
    local _, err = waiting:result()
    -- handed to libcurl, not yet stepped: it cannot be known not to have left
    assert.are.equal("ambiguous", err.outcome)
    assert.are.equal("late", err.reference)
    assert.are.equal(3, s:stats().requests[PAYMENT])
    mpesa:close() -- idempotent
  end)

  it("reads an acknowledgement naming another OCID as ambiguous", function()
    local stub = stub_daraja.start({ answers = { { status = 200, body = '{"ConversationID":"AG_x",'
      .. '"OriginatorConversationID":"not-mine","ResponseCode":"0","ResponseDescription":"ok"}' } } })
    local mpesa = client({ baseUrl = stub.url, consumerKey = "k", consumerSecret = "s" })
    local h = assert(mpesa.b2c.start(payout({ reference = "row-1" })))
    drive(mpesa)
    local good = assert(mpesa.b2c.start(payout()))
    drive(mpesa)
    mpesa:close()
    stub:stop()
    local ack, err = h:result()
    assert.is_nil(ack)
    assert.are.equal("timeout", err.kind)
    assert.are.equal("ambiguous", err.outcome)
    assert.are.equal("row-1", err.reference)
    assert.are.equal("0", (good:result()).ResponseCode)
  end)
end)
