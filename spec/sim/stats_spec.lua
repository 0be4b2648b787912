-- b2c-sim: /sim/config refuses settings it cannot keep, and /sim/stats says
-- how many callbacks there were, also beyond the history it keeps.
local H = require("sim.helper")
local socket = require("socket")

describe("b2c-sim settings and stats", function()
  local ctx = H.session({ callbackDelay = 0.02 })

  -- stats once every callback is over, the receiver answering meanwhile
  local function drained()
    local deadline = socket.gettime() + 10
    local st
    repeat
      ctx.receiver:poll(0.02)
      st = ctx.s:stats()
    until st.callbacksPending == 0 or socket.gettime() > deadline
    return st
  end

  local function configure(t)
    return assert(ctx.s:request("POST", "/sim/config", { json = t }))
  end

  it("refuses a balance that is not KES up to 1e13 with at most 2 decimals, naming the field", function()
    for _, bad in ipairs({ 1e300, -1, 10.555, 1e14, "100", true }) do
      local res = configure({ balance = bad })
      assert.are.equal(400, res.status, tostring(bad))
      assert.matches("^b2c%-sim: balance must be KES from 0 to 10000000000000 with at most 2 decimals",
        res.json.errorMessage)
    end
    -- nothing changed: payouts and stats work as before
    local res = H.post(ctx.s, H.PAY, H.payment(ctx.s, ctx.receiver, ctx.credential), ctx.token)
    assert.are.equal(200, res.status)
    local st = drained()
    assert.are.equal(1, #st.payouts)
    assert.are.equal("completed", st.payouts[1].state)
    assert.are.equal(1000000 - 500, st.balance.utility)
  end)

  it("takes the largest balance and pays from it to the cent", function()
    -- written by hand: cjson keeps 14 digits
    assert.are.equal(200, assert(ctx.s:request("POST", "/sim/config", { body = '{"balance":9999999999999.99}',
      headers = { ["Content-Type"] = "application/json" } })).status)
    H.post(ctx.s, H.PAY, H.payment(ctx.s, ctx.receiver, ctx.credential), ctx.token)
    local st = drained()
    assert.are.equal("completed", st.payouts[1].state)
    assert.matches('"utility":9999999999499%.99', ctx.s:request("GET", "/sim/stats").body)
  end)

  it("counts every callback exactly and says how many the history left out", function()
    assert.are.equal(200, configure({ callbackHistory = 3 }).status)
    for _ = 1, 5 do
      assert.are.equal(200, H.post(ctx.s, H.PAY, H.payment(ctx.s, ctx.receiver, ctx.credential),
        ctx.token).status)
    end
    local st = drained()
    assert.are.equal(5, st.callbacksTotal)
    assert.are.equal(5, st.callbacksDelivered)
    assert.are.equal(0, st.callbacksFailed)
    assert.are.equal(0, st.callbacksPending)
    assert.are.equal(2, st.callbacksTruncated)
    assert.are.equal(3, #st.callbacks)
    assert.are.equal(3, st.config.callbackHistory)
    -- the newest are kept
    assert.are.equal(st.payouts[5].ocid, st.callbacks[3].ocid)
    assert.are.equal(st.payouts[3].ocid, st.callbacks[1].ocid)
    -- lowering the limit trims at once
    assert.are.equal(200, configure({ callbackHistory = 1 }).status)
    st = ctx.s:stats()
    assert.are.equal(1, #st.callbacks)
    assert.are.equal(4, st.callbacksTruncated)
    assert.are.equal(5, st.callbacksTotal)
    assert.are.equal(400, configure({ callbackHistory = 2.5 }).status)
  end)

  it("keeps 5,000 callback records by default", function()
    local st = ctx.s:stats()
    assert.are.equal(5000, st.config.callbackHistory)
    assert.are.equal(0, st.callbacksTotal)
    assert.are.equal(0, st.callbacksTruncated)
  end)
end)
