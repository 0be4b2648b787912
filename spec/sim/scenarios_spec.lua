-- b2c-sim: outcomes chosen by the recipient number and by the amount.
local H = require("sim.helper")

describe("b2c-sim scenarios", function()
  local ctx = H.session()

  local function send(over)
    local body = H.payment(ctx.s, ctx.receiver, ctx.credential, over)
    local res = H.post(ctx.s, H.PAY, body, ctx.token)
    assert.are.equal(200, res.status, res.body)
    assert.are.equal("0", res.json.ResponseCode)
    return body, res.json
  end

  local function failure(partyB, code, desc, amount)
    local body, ack = send({ PartyB = partyB, Amount = amount or 500 })
    local got = ctx.receiver:wait(1, 3)
    assert.are.equal(1, #got)
    assert.are.equal("/result", got[1].path)
    local r = got[1].body.Result
    assert.are.equal(0, r.ResultType)
    assert.are.equal(code, r.ResultCode)
    assert.are.equal(desc, r.ResultDesc)
    assert.are.equal(body.OriginatorConversationID, r.OriginatorConversationID)
    assert.are.equal(ack.ConversationID, r.ConversationID)
    assert.is_nil(r.ResultParameters)
    assert.matches("^%u%u%d0000000$", r.TransactionID)
    local p = ctx.s:stats().payouts[1]
    assert.are.equal("failed", p.state)
    assert.are.equal(code, p.resultCode)
    assert.are.equal(1000000, ctx.s:stats().balance.utility) -- nothing debited
    return got[1]
  end

  it("254708374149 and any other number succeed", function()
    for _, number in ipairs({ "254708374149", "254712345678", "254110000000" }) do
      ctx.receiver.received = {}
      send({ PartyB = number })
      local got = ctx.receiver:wait(1, 3)
      assert.are.equal(1, #got, number)
      assert.are.equal(0, got[1].body.Result.ResultCode)
      assert.matches("^" .. number .. " %- ", H.params(got[1].body.Result).ReceiverPartyPublicName)
    end
  end)

  it("254700000001: insufficient funds (1)", function()
    failure("254700000001", 1, "The balance is insufficient for the transaction.")
  end)

  it("254700002001: initiator information invalid (2001)", function()
    failure("254700002001", 2001, "The initiator information is invalid.")
  end)

  it("254700002040: unregistered customer (2040)", function()
    failure("254700002040", 2040,
      "Credit Party customer type (Unregistered or Registered Customer) can't be supported by the service.")
  end)

  it("254700000003: operator does not exist (string code SFC_IC0003)", function()
    local got = failure("254700000003", "SFC_IC0003", "The operator does not exist.")
    assert.matches('"ResultCode":"SFC_IC0003"', got.raw)
  end)

  it("254700008006: security credential locked (8006)", function()
    failure("254700008006", 8006, "The security credential is locked.")
  end)

  it("amount below 10: ResultCode 2 in the callback after a normal ack", function()
    failure("254708374149", 2, "Declined due to limit rule: less than the minimum transaction amount.", 9)
  end)

  it("amount above 250000: ResultCode 3", function()
    failure("254708374149", 3, "Declined due to limit rule: greater than the maximum transaction amount.", 250001)
  end)

  it("accepts the limits themselves", function()
    send({ Amount = 10 })
    send({ Amount = 250000 })
    local got = ctx.receiver:wait(2, 3)
    assert.are.equal(2, #got)
    for _, g in ipairs(got) do
      assert.are.equal(0, g.body.Result.ResultCode)
    end
  end)

  it("fails with 1 when the simulated balance runs out", function()
    ctx.s:config({ balance = 1500 })
    send({ Amount = 1000 })
    send({ Amount = 1000 })
    local got = ctx.receiver:wait(2, 3)
    assert.are.equal(2, #got)
    local codes = {}
    for _, g in ipairs(got) do
      codes[#codes + 1] = g.body.Result.ResultCode
    end
    table.sort(codes)
    assert.are.same({ 0, 1 }, codes)
    assert.are.equal(500, ctx.s:stats().balance.utility)
  end)

  it("254700009001: queue timeout posts the request echo to QueueTimeOutURL", function()
    local body = send({ PartyB = "254700009001" })
    local got = ctx.receiver:collect(0.4)
    assert.are.equal(1, #got)
    assert.are.equal("/timeout", got[1].path)
    local echo = got[1].body
    assert.are.equal(body.OriginatorConversationID, echo.OriginatorConversationID)
    assert.are.equal("254700009001", echo.PartyB)
    assert.are.equal(500, echo.Amount)
    assert.is_nil(echo.SecurityCredential)
    assert.is_nil(echo.Result)
    local st = H.settled(ctx.s)
    assert.are.equal("timeout", st.callbacks[1].kind)
    assert.are.equal("completed", st.payouts[1].state) -- the payout itself went through
  end)

  it("254700009002: no callback at all", function()
    send({ PartyB = "254700009002" })
    local got = ctx.receiver:collect(0.4)
    assert.are.equal(0, #got)
    local st = ctx.s:stats()
    assert.are.equal(0, #st.callbacks)
    assert.are.equal("completed", st.payouts[1].state)
  end)

  it("254700009003: the same result is posted twice", function()
    send({ PartyB = "254700009003" })
    local got = ctx.receiver:wait(2, 3)
    assert.are.equal(2, #got)
    assert.are.equal(got[1].raw, got[2].raw)
    assert.are.equal(0, got[1].body.Result.ResultCode)
    assert.are.equal(1, #ctx.s:stats().payouts)
  end)

  it("lists the scenarios in /sim/stats", function()
    local names = {}
    for _, sc in ipairs(ctx.s:stats().scenarios) do
      names[sc.number] = sc.name
    end
    assert.are.equal("queue-timeout", names["254700009001"])
    assert.are.equal("insufficient-funds", names["254700000001"])
  end)
end)
