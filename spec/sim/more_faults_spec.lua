-- b2c-sim: the faults oversize, trickle and bare502 (the request is
-- processed in each case; only the answer is damaged).
local H = require("sim.helper")
local socket = require("socket")

describe("b2c-sim faults oversize, trickle, bare502", function()
  local ctx = H.session()

  it("oversize: 200 with the JSON followed by 1 MiB of spaces; processed", function()
    local body = H.payment(ctx.s, ctx.receiver, ctx.credential)
    local res = H.post(ctx.s, H.PAY, body, ctx.token, { ["X-B2C-Sim-Fault"] = "oversize" })
    assert.are.equal(200, res.status)
    assert.is_true(#res.body > 1024 * 1024)
    assert.are.equal("0", res.json.ResponseCode)
    assert.are.equal(1, #ctx.s:stats().payouts)
  end)

  it("bare502: 502 with an empty body; processed", function()
    local body = H.payment(ctx.s, ctx.receiver, ctx.credential)
    local res = H.post(ctx.s, H.PAY, body, ctx.token, { ["X-B2C-Sim-Fault"] = "bare502" })
    assert.are.equal(502, res.status)
    assert.are.equal("", res.body)
    local st = ctx.s:stats()
    assert.are.equal(1, #st.payouts)
    assert.are.equal(1, st.sendsByOcid[body.OriginatorConversationID])
  end)

  it("trickle: the answer comes one byte a second; processed", function()
    local body = H.payment(ctx.s, ctx.receiver, ctx.credential)
    local text = require("cjson").encode(body)
    local sock = socket.tcp()
    sock:settimeout(5)
    assert(sock:connect("127.0.0.1", ctx.s.port))
    assert(sock:send(table.concat({ "POST " .. H.PAY .. " HTTP/1.1", "Host: 127.0.0.1",
      "Authorization: Bearer " .. ctx.token, "Content-Type: application/json",
      "X-B2C-Sim-Fault: trickle", "Content-Length: " .. #text, "", text }, "\r\n")))
    local t0 = socket.gettime()
    assert.are.equal("HTT", sock:receive(3))
    local took = socket.gettime() - t0
    sock:close()
    assert.is_true(took >= 1.8 and took < 4, "3 bytes took " .. took .. " s")
    assert.are.equal(1, #ctx.s:stats().payouts)
  end)
end)
