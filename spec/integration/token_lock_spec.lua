-- The process-wide token lock on the polled path: several clients of the
-- same app, polled side by side, share one token fetch (a second fetch
-- would kill the first token on Daraja).
local b2c = require("b2c")
local sim = require("support.sim")
local socket = require("socket")

local PAYMENT = "/mpesa/b2c/v3/paymentrequest"

describe("the token lock, polled", function()
  local s

  setup(function() s = sim.start({ callbackDelay = 30 }) end)
  teardown(function() if s then s:stop() end end)

  it("lets several clients polling at once fetch one token between them", function()
    local clients, handles = {}, {}
    for i = 1, 4 do
      clients[i] = assert(b2c.new(s:settings({ resultUrl = s.url .. "/nowhere",
        queueTimeOutUrl = s.url .. "/nowhere", timeout = 10 })))
    end
    for _, mpesa in ipairs(clients) do
      for _ = 1, 5 do
        handles[#handles + 1] = assert(mpesa.b2c.start({ recipientPhone = "0708374149",
          amount = 100, remarks = "token lock" }))
      end
      mpesa:step(0) -- each one's token request on its way before the next starts
    end
    local deadline = socket.gettime() + 20
    repeat
      local pending = 0
      for _, mpesa in ipairs(clients) do pending = pending + mpesa:step(0.01) end
      assert.is_true(socket.gettime() < deadline, "payouts did not finish")
    until pending == 0
    for _, h in ipairs(handles) do assert.is_not_nil((h:result())) end
    local st = s:stats()
    assert.are.equal(1, st.tokensIssued)
    assert.are.equal(20, st.requests[PAYMENT])
    for _, mpesa in ipairs(clients) do mpesa:close() end
  end)
end)
