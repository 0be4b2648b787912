-- b2c-sim: the B2C payment request, its checks, the credential and the callback.
local H = require("sim.helper")
local sim = H.sim

describe("b2c-sim B2C payment request", function()
  local ctx = H.session()

  local function send(over, headers)
    local body = H.payment(ctx.s, ctx.receiver, ctx.credential, over)
    return H.post(ctx.s, H.PAY, body, ctx.token, headers), body
  end

  local function expect_bad(field, over)
    local res = send(over)
    assert.are.equal(400, res.status, field .. ": " .. tostring(res.body))
    assert.are.equal("400.002.02", res.json.errorCode)
    assert.are.equal("Bad Request - Invalid " .. field, res.json.errorMessage)
    assert.is_string(res.json.requestId)
  end

  it("acknowledges a valid request exactly like Daraja", function()
    local res, body = send()
    assert.are.equal(200, res.status)
    assert.matches("^AG_%d%d%d%d%d%d%d%d_%x+$", res.json.ConversationID)
    assert.are.equal(20, #res.json.ConversationID:match("_(%x+)$"))
    assert.are.equal(body.OriginatorConversationID, res.json.OriginatorConversationID)
    assert.are.equal("0", res.json.ResponseCode)
    assert.are.equal("Accept the service request successfully.", res.json.ResponseDescription)
    assert.matches('^{"ConversationID":', res.body)
  end)

  it("posts a success result with Daraja's shape", function()
    local res, body = send({ Amount = "1500" })
    assert.are.equal(200, res.status)
    local got = ctx.receiver:wait(1, 3)
    assert.are.equal(1, #got)
    assert.are.equal("/result", got[1].path)
    assert.are.equal("POST", got[1].method)
    assert.matches("^application/json", got[1].headers["content-type"])
    local r = got[1].body.Result
    assert.are.equal(0, r.ResultType)
    assert.are.equal(0, r.ResultCode)
    assert.are.equal("The service request is processed successfully.", r.ResultDesc)
    assert.are.equal(body.OriginatorConversationID, r.OriginatorConversationID)
    assert.are.equal(res.json.ConversationID, r.ConversationID)
    assert.matches("^%u%u%d[%u%d]+$", r.TransactionID)
    assert.are.equal(10, #r.TransactionID)
    assert.is_nil(r.ReferenceData.ReferenceItem[1])
    assert.are.equal("QueueTimeoutURL", r.ReferenceData.ReferenceItem.Key)
    local p = H.params(r)
    local count = 0
    for _ in pairs(p) do count = count + 1 end
    assert.are.equal(8, count)
    assert.are.equal(1500, p.TransactionAmount)
    assert.matches('"Key":"TransactionAmount","Value":1500}', got[1].raw)
    assert.are.equal(r.TransactionID, p.TransactionReceipt)
    assert.matches("^254708374149 %- [%u ]+$", p.ReceiverPartyPublicName)
    assert.matches("^%d%d%.%d%d%.%d%d%d%d %d%d:%d%d:%d%d$", p.TransactionCompletedDateTime)
    assert.are.equal("Y", p.B2CRecipientIsRegisteredCustomer)
    -- balances are written with two decimals and debited
    assert.matches('"B2CUtilityAccountAvailableFunds","Value":998500%.00}', got[1].raw)
    assert.matches('"B2CWorkingAccountAvailableFunds","Value":500000%.00}', got[1].raw)
    assert.matches('"B2CChargesPaidAccountAvailableFunds","Value":%-5%.00}', got[1].raw)
    local st = H.settled(ctx.s)
    assert.are.equal("completed", st.payouts[1].state)
    assert.are.equal(0, st.payouts[1].resultCode)
    assert.are.equal(p.TransactionReceipt, st.payouts[1].receipt)
    assert.are.equal(998500, st.balance.utility)
    assert.is_true(st.callbacks[1].delivered)
    assert.are.equal(1, st.callbacks[1].attempts)
  end)

  it("debits the balance across payouts", function()
    send({ Amount = 1000 })
    send({ Amount = 2000 })
    local got = ctx.receiver:wait(2, 3)
    assert.are.equal(2, #got)
    local last = {}
    for _, g in ipairs(got) do
      last[H.params(g.body.Result).TransactionAmount] = g.raw
    end
    assert.matches('"B2CUtilityAccountAvailableFunds","Value":999000%.00}', last[1000])
    assert.matches('"B2CUtilityAccountAvailableFunds","Value":997000%.00}', last[2000])
    assert.are.equal(997000, ctx.s:stats().balance.utility)
  end)

  it("records the request headers and sends per OCID", function()
    local _, body = send(nil, { ["User-Agent"] = "spec-agent/1.0" })
    local st = ctx.s:stats()
    assert.are.equal("spec-agent/1.0", st.lastHeaders["user-agent"])
    assert.are.equal("application/json", st.lastHeaders["content-type"])
    assert.are.equal(1, st.sendsByOcid[body.OriginatorConversationID])
    assert.are.equal(body.OriginatorConversationID, st.lastPaymentRequest.OriginatorConversationID)
    assert.are.equal(1, st.requests[H.PAY])
    assert.are.equal(1, st.requests["/oauth/v1/generate"])
  end)

  describe("field checks", function()
    it("OriginatorConversationID: missing, empty, too long", function()
      expect_bad("OriginatorConversationID", { OriginatorConversationID = false })
      expect_bad("OriginatorConversationID", { OriginatorConversationID = "" })
      expect_bad("OriginatorConversationID", { OriginatorConversationID = string.rep("x", 129) })
      assert.are.equal(200, send({ OriginatorConversationID = string.rep("y", 128) }).status)
    end)

    it("InitiatorName", function()
      expect_bad("InitiatorName", { InitiatorName = false })
      expect_bad("InitiatorName", { InitiatorName = "" })
      expect_bad("InitiatorName", { InitiatorName = 42 })
    end)

    it("SecurityCredential must be base64", function()
      expect_bad("SecurityCredential", { SecurityCredential = false })
      expect_bad("SecurityCredential", { SecurityCredential = "not base64!" })
      expect_bad("SecurityCredential", { SecurityCredential = "abc" })
    end)

    it("CommandID is one of the three", function()
      expect_bad("CommandID", { CommandID = "TransactionStatusQuery" })
      expect_bad("CommandID", { CommandID = false })
      for _, c in ipairs({ "BusinessPayment", "SalaryPayment", "PromotionPayment" }) do
        assert.are.equal(200, send({ CommandID = c }).status)
      end
    end)

    it("Amount must be a whole positive number or digit string", function()
      for _, bad in ipairs({ "10.5", 10.5, 0, -5, "0", "abc", "", "-10", "1e3", false }) do
        expect_bad("Amount", { Amount = bad })
      end
      assert.are.equal(200, send({ Amount = 100 }).status)
      assert.are.equal(200, send({ Amount = "100" }).status)
    end)

    it("PartyA is a shortcode of 5-10 digits, as b2c.new takes", function()
      for _, bad in ipairs({ false, "abc", "12", "1234", "12345678901", "60099 2", "+600992", 12.5 }) do
        expect_bad("PartyA", { PartyA = bad })
      end
      for _, good in ipairs({ 600992, "12345", "123456789", "1234567890", 1234567890 }) do
        assert.are.equal(200, send({ PartyA = good }).status, tostring(good))
      end
    end)

    it("PartyB is 2547XXXXXXXX or 2541XXXXXXXX", function()
      for _, bad in ipairs({ "0708374149", "+254708374149", "254208374149", "25470837414", "2547083741490",
        "254708374I49", false }) do
        expect_bad("PartyB", { PartyB = bad })
      end
      assert.are.equal(200, send({ PartyB = "254112345678" }).status)
      assert.are.equal(200, send({ PartyB = 254708374149 }).status)
    end)

    it("Remarks is 2-100 characters", function()
      expect_bad("Remarks", { Remarks = false })
      expect_bad("Remarks", { Remarks = "x" })
      expect_bad("Remarks", { Remarks = string.rep("r", 101) })
      assert.are.equal(200, send({ Remarks = string.rep("r", 100) }).status)
      assert.are.equal(200, send({ Remarks = "ok" }).status)
    end)

    it("QueueTimeOutURL and ResultURL must be http(s) URLs", function()
      expect_bad("QueueTimeOutURL", { QueueTimeOutURL = false })
      expect_bad("QueueTimeOutURL", { QueueTimeOutURL = "ftp://example.test/x" })
      expect_bad("ResultURL", { ResultURL = "not a url" })
      expect_bad("ResultURL", { ResultURL = "file:///etc/passwd" })
      assert.are.equal(200, send({ ResultURL = "https://127.0.0.1:1/r" }).status)
    end)

    it("Occasion at most 100 characters, under either spelling", function()
      expect_bad("Occasion", { Occasion = string.rep("o", 101) })
      expect_bad("Occassion", { Occasion = false, Occassion = string.rep("o", 101) })
      assert.are.equal(200, send({ Occasion = false, Occassion = "ChristmasPay" }).status)
      assert.are.equal(200, send({ Occasion = false }).status)
      assert.are.equal(200, send({ Occasion = "" }).status)
    end)

    it("reports the first bad field in Daraja's order", function()
      expect_bad("InitiatorName", { InitiatorName = false, Amount = "x", PartyB = "1" })
      expect_bad("Amount", { Amount = "x", PartyB = "1" })
    end)

    it("records no payout for a rejected request", function()
      send({ Amount = "x" })
      assert.are.equal(0, #ctx.s:stats().payouts)
    end)
  end)

  it("answers a missing Content-Type with Invalid InitiatorName", function()
    local body = H.payment(ctx.s, ctx.receiver, ctx.credential)
    local res = assert(ctx.s:request("POST", H.PAY, { json = body,
      headers = { Authorization = "Bearer " .. ctx.token, ["Content-Type"] = false } }))
    assert.are.equal(400, res.status)
    assert.are.equal("400.002.02", res.json.errorCode)
    assert.are.equal("Bad Request - Invalid InitiatorName", res.json.errorMessage)
    assert.are.equal(0, #ctx.s:stats().payouts)
  end)

  it("answers a body that is not a JSON object with 400.002.05", function()
    for _, text in ipairs({ "not json", "[1,2]", "null", "" }) do
      local res = assert(ctx.s:request("POST", H.PAY, { body = text,
        headers = { Authorization = "Bearer " .. ctx.token, ["Content-Type"] = "application/json" } }))
      assert.are.equal(400, res.status, text)
      assert.are.equal("400.002.05", res.json.errorCode)
      assert.are.equal("Invalid Request Payload", res.json.errorMessage)
    end
  end)

  it("refuses a body over 64 KiB with 413", function()
    local res = assert(ctx.s:request("POST", H.PAY, { body = string.rep("x", 70000),
      headers = { Authorization = "Bearer " .. ctx.token, ["Content-Type"] = "application/json" } }))
    assert.are.equal(413, res.status)
    assert.are.equal(0, (ctx.s:stats().requests[H.PAY] or 0))
  end)

  it("refuses a reused OriginatorConversationID with 500.002.1001 and no second callback", function()
    local first, body = send()
    assert.are.equal(200, first.status)
    local again = send({ OriginatorConversationID = body.OriginatorConversationID, Amount = 999 })
    assert.are.equal(500, again.status)
    assert.are.equal("500.002.1001", again.json.errorCode)
    assert.are.equal("Duplicate OriginatorConversationID.", again.json.errorMessage)
    local got = ctx.receiver:collect(0.4)
    assert.are.equal(1, #got)
    local st = ctx.s:stats()
    assert.are.equal(1, #st.payouts)
    assert.are.equal(2, st.sendsByOcid[body.OriginatorConversationID])
  end)

  it("allows an OCID again after the request that used it was rejected", function()
    local _, body = send({ Amount = "bad" })
    assert.are.equal(200, send({ OriginatorConversationID = body.OriginatorConversationID }).status)
  end)

  describe("SecurityCredential", function()
    local function result_for(cred, over)
      local o = over or {}
      o.SecurityCredential = cred
      local res = send(o)
      assert.are.equal(200, res.status)
      local got = ctx.receiver:wait(1, 3)
      assert.are.equal(1, #got)
      return got[1].body.Result
    end

    it("accepts a credential made with openssl pkeyutl from the certificate's public key", function()
      local pub = os.tmpname()
      assert(os.execute("openssl x509 -in '" .. ctx.s.certificate .. "' -pubkey -noout > " .. pub))
      local pw = os.tmpname()
      local f = assert(io.open(pw, "wb"))
      f:write(ctx.s.initiatorPassword)
      f:close()
      local p = io.popen("openssl pkeyutl -encrypt -pubin -inkey " .. pub .. " -in " .. pw
        .. " | openssl base64 -A")
      local cred = p:read("a"):gsub("%s", "")
      p:close()
      os.remove(pub)
      os.remove(pw)
      assert.are.equal(344, #cred)
      local r = result_for(cred)
      assert.are.equal(0, r.ResultCode)
    end)

    it("accepts a credential made with openssl rsautl -certin", function()
      local pw = os.tmpname()
      local f = assert(io.open(pw, "wb"))
      f:write(ctx.s.initiatorPassword)
      f:close()
      local p = io.popen("openssl rsautl -encrypt -certin -inkey '" .. ctx.s.certificate .. "' -in " .. pw
        .. " 2>/dev/null | openssl base64 -A")
      local cred = p:read("a"):gsub("%s", "")
      p:close()
      os.remove(pw)
      local r = result_for(cred)
      assert.are.equal(0, r.ResultCode)
    end)

    it("acknowledges a wrong password, then reports 2001 in the callback", function()
      local r = result_for(ctx.s:credential("WrongPassword1!"))
      assert.are.equal(0, r.ResultType)
      assert.are.equal(2001, r.ResultCode)
      assert.are.equal("The initiator information is invalid.", r.ResultDesc)
      assert.is_nil(r.ResultParameters)
      assert.matches("^%u%u%d0000000$", r.TransactionID)
      assert.are.equal("QueueTimeoutURL", r.ReferenceData.ReferenceItem.Key)
      local st = ctx.s:stats()
      assert.are.equal("failed", st.payouts[1].state)
      assert.is_false(st.payouts[1].credentialValid)
      assert.are.equal(1000000, st.balance.utility)
    end)

    it("reports 2001 for base64 that is no RSA ciphertext", function()
      local r = result_for(sim.base64("just some text, not encrypted"))
      assert.are.equal(2001, r.ResultCode)
    end)

    it("checks the password set by --initiator-password", function()
      local other = sim.start({ initiatorPassword = "Other-Pass#1", callbackDelay = 0.01 })
      finally(function() other:stop() end)
      assert.are.equal("Other-Pass#1", other.initiatorPassword)
      local t = other:token()
      H.post(other, H.PAY, H.payment(other, ctx.receiver, other:credential(), { OriginatorConversationID = "a" }), t)
      H.post(other, H.PAY, H.payment(other, ctx.receiver, ctx.credential, { OriginatorConversationID = "b" }), t)
      ctx.receiver:wait(2, 3)
      local codes = {}
      for _, p in ipairs(other:stats().payouts) do codes[p.ocid] = p.resultCode end
      assert.are.same({ a = 0, b = 2001 }, codes)
    end)

    it("decrypts with the openssl fallback when asked to", function()
      local other = sim.start({ args = { "--credential-engine", "openssl" }, callbackDelay = 0.01 })
      finally(function() other:stop() end)
      local t = other:token()
      H.post(other, H.PAY, H.payment(other, ctx.receiver, ctx.credential, { OriginatorConversationID = "ok" }), t)
      local wrong = other:credential("nope")
      H.post(other, H.PAY, H.payment(other, ctx.receiver, wrong, { OriginatorConversationID = "ko" }), t)
      local st = other:stats()
      assert.are.equal("openssl", st.credentialEngine)
      local codes = {}
      for _, p in ipairs(st.payouts) do codes[p.ocid] = p.resultCode end
      assert.are.same({ ok = 0, ko = 2001 }, codes)
    end)
  end)

  it("accepts the legacy v1 path without an OriginatorConversationID", function()
    local body = H.payment(ctx.s, ctx.receiver, ctx.credential, { OriginatorConversationID = false })
    local res = H.post(ctx.s, "/mpesa/b2c/v1/paymentrequest", body, ctx.token)
    assert.are.equal(200, res.status)
    assert.is_string(res.json.OriginatorConversationID)
    assert.are.equal(1, #ctx.s:stats().payouts)
  end)

  it("answers an unknown path with 404 and a wrong method with 405", function()
    local res = assert(ctx.s:request("GET", "/mpesa/nothing/here"))
    assert.are.equal(404, res.status)
    local wrong = assert(ctx.s:request("GET", H.PAY, { headers = { Authorization = "Bearer " .. ctx.token } }))
    assert.are.equal(405, wrong.status)
  end)
end)
