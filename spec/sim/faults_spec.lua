-- b2c-sim: injected faults (per request header, Remarks text, global).
local H = require("sim.helper")
local socket = require("socket")
local cjson = require("cjson.safe").new()
local sim = H.sim

describe("b2c-sim faults", function()
  local ctx = H.session()

  local function send(over, headers)
    local body = H.payment(ctx.s, ctx.receiver, ctx.credential, over)
    return H.post(ctx.s, H.PAY, body, ctx.token, headers), body
  end

  -- Send a payment on a raw socket and return every byte the server sent
  -- before closing, and "closed" when that was nothing at all ("timeout" when
  -- the server did not close in time).
  local function raw_exchange(body, fault)
    local text = cjson.encode(body)
    local sock = socket.tcp()
    sock:settimeout(3)
    assert(sock:connect("127.0.0.1", ctx.s.port))
    assert(sock:send(table.concat({
      "POST " .. H.PAY .. " HTTP/1.1",
      "Host: 127.0.0.1",
      "Authorization: Bearer " .. ctx.token,
      "Content-Type: application/json",
      "Content-Length: " .. #text,
      "X-B2C-Sim-Fault: " .. fault,
      "", text,
    }, "\r\n")))
    local data, err, partial = sock:receive("*a")
    sock:close()
    if data then
      return data
    end
    return partial, err
  end

  it("drop: reads and processes the request, then closes without a byte", function()
    local body = H.payment(ctx.s, ctx.receiver, ctx.credential)
    local bytes, err = raw_exchange(body, "drop")
    assert.are.equal("closed", err) -- closed by the server, not a timeout
    assert.are.equal("", bytes)
    local st = ctx.s:stats()
    assert.are.equal(1, st.sendsByOcid[body.OriginatorConversationID])
    assert.are.equal(1, #st.payouts)
    assert.are.equal(body.OriginatorConversationID, st.payouts[1].ocid)
    -- it was processed: the result still comes, and a resend is a duplicate
    local got = ctx.receiver:wait(1, 3)
    assert.are.equal(1, #got)
    assert.are.equal(0, got[1].body.Result.ResultCode)
    local again = H.post(ctx.s, H.PAY, body, ctx.token)
    assert.are.equal("500.002.1001", again.json.errorCode)
  end)

  it("truncate: 200 with a Content-Length longer than the body, then close; processed", function()
    local body = H.payment(ctx.s, ctx.receiver, ctx.credential)
    local bytes = raw_exchange(body, "truncate")
    local head, rest = bytes:match("^(.-)\r\n\r\n(.*)$")
    assert.matches("^HTTP/1%.1 200", head)
    local declared = tonumber(head:match("[Cc]ontent%-[Ll]ength: (%d+)"))
    assert.is_true(declared > #rest)
    assert.is_true(#rest > 0)
    assert.is_nil(cjson.decode(rest))
    assert.are.equal(1, #ctx.s:stats().payouts)
    assert.are.equal(1, ctx.s:stats().sendsByOcid[body.OriginatorConversationID])
  end)

  it("truncate as seen by an HTTP client: an incomplete body", function()
    local res = send(nil, { ["X-B2C-Sim-Fault"] = "truncate" })
    assert.are.equal(200, res.status)
    assert.is_false(res.complete)
    assert.is_nil(res.json)
  end)

  it("html403: a 403 HTML page, not processed", function()
    local res, body = send(nil, { ["X-B2C-Sim-Fault"] = "html403" })
    assert.are.equal(403, res.status)
    assert.matches("^text/html", res.headers["content-type"])
    assert.matches("<html", res.body)
    local st = ctx.s:stats()
    assert.are.equal(0, #st.payouts)
    assert.are.equal(1, st.sendsByOcid[body.OriginatorConversationID])
  end)

  local gateway_faults = {
    { "spike", "500.003.02", "Error Occurred: Spike Arrest Violation" },
    { "quota", "500.003.03", "Quota Violation" },
    { "internal", "500.001.1001", "Internal Server Error" },
  }
  for _, case in ipairs(gateway_faults) do
    it(case[1] .. ": 500 " .. case[2] .. ", not processed", function()
      local res, body = send(nil, { ["X-B2C-Sim-Fault"] = case[1] })
      assert.are.equal(500, res.status)
      assert.are.equal(case[2], res.json.errorCode)
      assert.are.equal(case[3], res.json.errorMessage)
      assert.is_string(res.json.requestId)
      local st = ctx.s:stats()
      assert.are.equal(0, #st.payouts)
      assert.are.equal(1, st.sendsByOcid[body.OriginatorConversationID])
      -- not processed, so the same OCID goes through afterwards
      assert.are.equal(200, H.post(ctx.s, H.PAY, body, ctx.token).status)
    end)
  end

  it("delay: answers late, processes, and keeps serving other connections meanwhile", function()
    local body = H.payment(ctx.s, ctx.receiver, ctx.credential)
    local text = cjson.encode(body)
    local slow = socket.tcp()
    slow:settimeout(3)
    assert(slow:connect("127.0.0.1", ctx.s.port))
    local started = socket.gettime()
    assert(slow:send("POST " .. H.PAY .. " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " .. ctx.token
      .. "\r\nContent-Type: application/json\r\nX-B2C-Sim-Fault: delay=0.6\r\nContent-Length: "
      .. #text .. "\r\n\r\n" .. text))
    -- another request is answered while the first one waits
    local quick = assert(ctx.s:request("GET", "/sim/health"))
    assert.are.equal(200, quick.status)
    assert.is_true(socket.gettime() - started < 0.55)
    local res = sim.read_response(slow)
    slow:close()
    local elapsed = socket.gettime() - started
    assert.are.equal(200, res.status)
    assert.are.equal("0", res.json.ResponseCode)
    assert.is_true(elapsed >= 0.6, "answered after " .. elapsed)
    assert.is_true(elapsed < 2)
  end)

  it("delay and drop combine", function()
    local body = H.payment(ctx.s, ctx.receiver, ctx.credential)
    local started = socket.gettime()
    local bytes = raw_exchange(body, "delay=0.3,drop")
    assert.are.equal("", bytes)
    assert.is_true(socket.gettime() - started >= 0.3)
    assert.are.equal(1, #ctx.s:stats().payouts)
  end)

  it("reads a fault from the Remarks text sim:fault=<spec>", function()
    local res = send({ Remarks = "pay sim:fault=spike" })
    assert.are.equal(500, res.status)
    assert.are.equal("500.003.02", res.json.errorCode)
    local ok = send({ Remarks = "pay normally" })
    assert.are.equal(200, ok.status)
  end)

  it("answers an unknown fault spec with 400", function()
    local res = send(nil, { ["X-B2C-Sim-Fault"] = "explode" })
    assert.are.equal(400, res.status)
    assert.matches("unknown fault", res.json.errorMessage)
  end)

  it("applies a global fault to the next N requests on a path", function()
    ctx.s:config({ fault = { spec = "spike", count = 2, path = H.PAY } })
    -- OAuth is another path: not affected, and does not use up the count
    assert.is_string(ctx.s:token())
    ctx.token = ctx.s:token()
    assert.are.equal(500, send().status)
    assert.are.equal(500, send().status)
    assert.are.equal(200, send().status)
    assert.are.same({}, ctx.s:stats().config.faults)
  end)

  it("a global fault without a path hits every API path, not /sim/", function()
    ctx.s:config({ fault = { spec = "quota" } })
    local res = assert(ctx.s:request("GET", H.OAUTH, { headers = { Authorization = ctx.s:basic() } }))
    assert.are.equal(500, res.status)
    assert.are.equal("500.003.03", res.json.errorCode)
    assert.are.equal(500, send().status)
    assert.is_table(ctx.s:stats())
    ctx.s:config({ fault = false })
    assert.are.equal(200, send().status)
  end)

  it("the header 'none' overrides a global fault for one request", function()
    ctx.s:config({ fault = { spec = "internal", path = H.PAY } })
    assert.are.equal(200, send(nil, { ["X-B2C-Sim-Fault"] = "none" }).status)
    assert.are.equal(500, send().status)
  end)

  it("takes global faults from --fault on the command line", function()
    local other = sim.start({ faults = { "html403:count=1:path=/oauth/v1/generate" } })
    finally(function() other:stop() end)
    local first = assert(other:request("GET", H.OAUTH, { headers = { Authorization = other:basic() } }))
    assert.are.equal(403, first.status)
    local second = assert(other:request("GET", H.OAUTH, { headers = { Authorization = other:basic() } }))
    assert.are.equal(200, second.status)
  end)

  it("refuses a bad fault in /sim/config", function()
    local res = assert(ctx.s:request("POST", "/sim/config", { json = { fault = { spec = "boom" } } }))
    assert.are.equal(400, res.status)
    assert.matches("unknown fault", res.json.errorMessage)
  end)

  it("refuses a bad --fault on the command line", function()
    local ok, err = pcall(sim.start, { faults = { "boom" } })
    assert.is_false(ok)
    assert.matches("unknown fault", err)
  end)
end)
