-- Waits that must end: a token fetch nobody drives, a blocking send behind
-- a polled fetch, sub-millisecond timeouts and out-of-range step() waits.
local b2c = require("b2c")
local sim = require("support.sim")
local socket = require("socket")

local PAYMENT = "/mpesa/b2c/v3/paymentrequest"

describe("waits", function()
  local s -- a simulator per test: a fresh identity, so no token is cached yet

  before_each(function() s = sim.start({ callbackDelay = 30 }) end)
  after_each(function() if s then s:stop() end end)

  local function client(over)
    local cfg = s:settings({ resultUrl = s.url .. "/nowhere", queueTimeOutUrl = s.url .. "/nowhere",
      timeout = 10 })
    for k, v in pairs(over or {}) do cfg[k] = v end
    return assert(b2c.new(cfg))
  end

  local function payout()
    return { recipientPhone = "0708374149", amount = 100, remarks = "hang spec" }
  end

  -- Runs fn, raising if it is still running after `seconds` (a busy loop
  -- would otherwise never return).
  local function within(seconds, fn)
    local deadline = socket.gettime() + seconds
    debug.sethook(function()
      if socket.gettime() > deadline then
        debug.sethook()
        error("still running after " .. seconds .. " s", 2)
      end
    end, "", 10000)
    local ok, a, b = pcall(fn)
    debug.sethook()
    assert(ok, a)
    return a, b
  end

  it("a token fetch another client started and never drives does not stop the rest", function()
    local a, b = client(), client()
    local stuck = assert(a.b2c.start(payout())) -- its token fetch: started, never stepped
    local h = assert(b.b2c.start(payout()))
    local t0 = socket.gettime()
    b:step(0.05)
    local waited = socket.gettime() - t0
    -- b waits for a's fetch (the 0.05 s asked), not a busy loop ...
    assert.is_true(waited >= 0.04, "step(0.05) returned after " .. waited .. " s")
    -- ... and takes it over once it is clearly not driven
    local report = within(15, function() return b.b2c.sendBatch({ payout(), payout() }) end)
    assert.are.equal(2, report.accepted)
    within(10, function() while not h.done do b:step(0.05) end end)
    assert.is_not_nil((h:result()))
    assert.is_false(stuck.done)
    assert.are.equal(3, s:stats().requests[PAYMENT])
    a:close()
    b:close()
  end)

  it("a blocking send after start() drives the polled token fetch instead of waiting for it", function()
    local mpesa = client()
    local h = assert(mpesa.b2c.start(payout()))
    local t0 = socket.gettime()
    assert(mpesa.b2c.send(payout()))
    local took = socket.gettime() - t0
    assert.is_true(took < 2, string.format("send took %.1f s", took))
    within(10, function() while not h.done do mpesa:step(0.05) end end)
    assert.is_not_nil((h:result()))
    local st = s:stats()
    assert.are.equal(1, st.tokensIssued)
    assert.are.equal(2, st.requests[PAYMENT])
    mpesa:close()
  end)

  it("a timeout below a millisecond is a timeout, not none", function()
    s:config({ fault = { spec = "delay=2", count = 1, path = "/oauth/*" } })
    local mpesa = client({ timeout = 0.0001 })
    local t0 = socket.gettime()
    local ack, err = mpesa.b2c.send(payout())
    assert.is_nil(ack)
    assert.are.equal("timeout", err.kind)
    assert.is_true(socket.gettime() - t0 < 1.5)
    mpesa:close()
  end)

  it("step() takes any wait from 0 to math.huge, refuses NaN and negative ones", function()
    s:config({ fault = { spec = "delay=0.5", count = 1, path = PAYMENT } })
    local mpesa = client()
    for _, wait in ipairs({ math.huge, 3e6 }) do
      local h = assert(mpesa.b2c.start(payout()))
      local steps = within(20, function()
        local n = 0
        while not h.done do mpesa:step(wait); n = n + 1 end
        return n
      end)
      -- each step returns when there is something to do, not at once
      assert.is_true(steps < 20, wait .. ": " .. steps .. " steps")
      assert.is_not_nil((h:result()))
    end
    assert.has_error(function() mpesa:step(0 / 0) end)
    assert.has_error(function() mpesa:step(-1) end)
    mpesa:close()
  end)
end)
