-- ledger:start, the game-loop form of ledger:pay, on a real SQLite ledger
-- against the simulator: rows are durable before the request leaves, the
-- requests are driven only by mpesa:step(0), and each outcome is recorded
-- by handle:result().
local b2c = require("b2c")
local ledger = require("b2c.ledger")
local sim = require("support.sim")
local tempdir = require("support.files").tempdir

describe("ledger:start (polled)", function()
  local ctx = sim.session({ callbackDelay = 0.05 }, { reset = true })
  local dir, book, mpesa

  local function payout(over)
    local p = { recipientPhone = "0708374149", amount = 250, remarks = "Tournament prize" }
    for k, v in pairs(over or {}) do p[k] = v end
    return p
  end

  -- Steps until every handle is done, as a game loop would, never waiting.
  local function drive(handles)
    local deadline = os.time() + 20
    repeat
      mpesa:step(0)
      local pending = 0
      for _, h in ipairs(handles) do
        if not h.done then pending = pending + 1 end
      end
      if pending == 0 then return end
    until os.time() > deadline
    error("payouts still in flight after 20 s")
  end

  before_each(function()
    dir = tempdir()
    book = assert(ledger.open("sqlite://" .. dir .. "/ledger.db"))
    mpesa = assert(b2c.new(ctx.s:settings({ resultUrl = ctx.receiver:urlFor("/result"),
      queueTimeOutUrl = ctx.receiver:urlFor("/timeout"), timeout = 5 })))
  end)
  after_each(function()
    mpesa:close()
    book:close()
    os.execute("rm -rf '" .. dir .. "'")
  end)

  it("writes each row before its request leaves and records every outcome", function()
    local handles = {}
    for i = 1, 20 do
      local h = assert(book:start(mpesa, payout({ reference = "prize-" .. i })))
      handles[i] = h
      local row = book:get("prize-" .. i)
      assert.are.equal("submitted", row.state) -- durable before any step
    end
    assert.are.equal(0, ctx.s:stats().requests["/mpesa/b2c/v3/paymentrequest"] or 0)
    drive(handles)
    local sends = ctx.s:stats().sendsByOcid
    for i, h in ipairs(handles) do
      local p, err = h:result()
      assert.is_nil(err)
      assert.are.equal("accepted", p.state)
      assert.are.equal("prize-" .. i, p.reference)
      assert.are.equal(1, sends[h.originatorConversationId])
    end
    for _, req in ipairs(ctx.receiver:wait(20, 10)) do
      if req.path == "/result" then assert(book:applyResult(req.raw)) end
    end
    assert.are.equal(20, book:stats().byState.paid)
  end)

  it("sends nothing for a reference it already has", function()
    local first = assert(book:start(mpesa, payout({ reference = "prize-once" })))
    drive({ first })
    assert(first:result())
    local again = assert(book:start(mpesa, payout({ reference = "prize-once" })))
    assert.is_true(again.done)
    assert.are.equal(first.originatorConversationId, again.originatorConversationId)
    assert.are.equal("accepted", again:result().state)
    assert.are.equal(1, ctx.s:stats().requests["/mpesa/b2c/v3/paymentrequest"])
  end)

  it("records a dropped connection as unknown, for reconcile, and never resends it", function()
    local h = assert(book:start(mpesa, payout({ reference = "prize-drop", remarks = "Pay sim:fault=drop" })))
    drive({ h })
    local p, err = h:result()
    assert.are.equal("unknown", p.state)
    assert.are.equal("timeout", err.kind)
    assert.are.equal(p, (h:result())) -- recorded once
    assert.are.equal(1, ctx.s:stats().sendsByOcid[h.originatorConversationId])
  end)

  it("refuses bad input before writing a row, and raises on misuse", function()
    local h, err = book:start(mpesa, payout({ reference = "prize-bad", amount = 12.5 }))
    assert.is_nil(h)
    assert.are.equal("validation", err.kind)
    assert.are.equal("amount", err.field)
    assert.is_nil(book:get("prize-bad"))
    assert.has_error(function() book:start(mpesa, "not a table") end)
    local pending = assert(book:start(mpesa, payout({ reference = "prize-early" })))
    assert.has_error(function() pending:result() end)
    drive({ pending })
  end)
end)
