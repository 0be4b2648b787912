-- How each Daraja answer in the docs maps to an ack or an error object.
local gateway = require("b2c.engine.answer")

local function interpret(status, body)
  return gateway.interpret(status, body, { ocid = "ocid-1", payout = true })
end

local function daraja(code, message)
  return string.format('{"requestId":"11728-2929992-1","errorCode":"%s","errorMessage":"%s"}', code, message)
end

describe("gateway.interpret", function()
  it("returns the sync ack for ResponseCode \"0\"", function()
    local ack = assert(interpret(200, '{"ConversationID":"AG_1","OriginatorConversationID":"ocid-1",'
      .. '"ResponseCode":"0","ResponseDescription":"Accept the service request successfully."}'))
    assert.are.equal("AG_1", ack.ConversationID)
    assert.are.equal("0", ack.ResponseCode)
  end)

  it("reads ResponseCode 0 as a number the same way, whatever the Lua version", function()
    -- lua-cjson decodes 0 as the float 0.0 on Lua 5.3+, whose tostring is "0.0"
    local ack = assert(interpret(200, '{"ConversationID":"AG_2","ResponseCode":0}'))
    assert.are.equal("AG_2", ack.ConversationID)
    local _, err = interpret(200, '{"ConversationID":"AG_3","ResponseCode":0.5}')
    assert.are.equal("api", err.kind)
  end)

  -- errorCode, message, HTTP status, retryable, words the message must carry
  local table_of_errors = {
    { "400.002.02", "Bad Request - Invalid PartyB", 400, false },
    { "400.002.05", "Invalid Request Payload", 400, false },
    { "401.002.01", "Error Occurred - Invalid Access Token - [redacted]", 401, false },
    { "404.001.03", "Invalid Access Token", 404, false },
    { "400.003.01", "Invalid Access Token", 400, false },
    { "404.001.04", "Invalid Authentication Header", 404, false },
    { "403.002.1001", "You are not authorized to initiate this transaction", 403, false },
    { "500.001.1001", "Internal Server Error", 500, false, "reconcile" },
    { "500.002.1001", "Duplicate OriginatorConversationID.", 500, false, "never resend" },
    { "500.003.02", "Error Occurred: Spike Arrest Violation", 500, true },
    { "500.003.03", "Quota Violation", 500, false },
    { "500.003.1001", "Internal Server Error", 500, false, "reconcile" },
  }
  for _, case in ipairs(table_of_errors) do
    it("maps " .. case[1] .. " to kind api", function()
      local ack, err = interpret(case[3], daraja(case[1], case[2]))
      assert.is_nil(ack)
      assert.are.equal("api", err.kind)
      assert.are.equal(case[1], err.code)
      assert.are.equal(case[3], err.status)
      assert.are.equal("11728-2929992-1", err.requestId)
      assert.are.equal(case[4], err.retryable)
      assert.are.equal("ocid-1", err.originatorConversationId)
      assert.truthy(err.message:find(case[2], 1, true))
      if case[5] then assert.truthy(err.message:find(case[5], 1, true)) end
    end)
  end

  it("maps an HTML 403 to kind http with the status and a short snippet", function()
    local page = "<html><head><title>403 Forbidden</title></head><body>" .. string.rep("x", 500) .. "</body></html>"
    local ack, err = interpret(403, page)
    assert.is_nil(ack)
    assert.are.equal("http", err.kind)
    assert.are.equal(403, err.status)
    assert.truthy(err.message:find("403 Forbidden", 1, true))
    assert.is_true(#err.message < 250)
  end)

  it("maps a non-JSON 5xx to kind http with reconcile advice for a payout", function()
    local _, err = interpret(502, "Bad Gateway")
    assert.are.equal("http", err.kind)
    assert.truthy(err.message:find("reconcile", 1, true))
  end)

  it("maps a non-zero ResponseCode apart from errorCodes, as rejected", function()
    local _, err = interpret(200, '{"ResponseCode":"1","ResponseDescription":"Rejected"}')
    assert.are.equal("api", err.kind)
    assert.are.equal("1", err.responseCode)
    assert.is_nil(err.code) -- err.code is a gateway errorCode, never a ResponseCode
    assert.are.equal("rejected", err.outcome)
  end)

  it("reads an unreadable 2xx to a payout as ambiguous (kind timeout), to a query as http", function()
    for _, body in ipairs({ '{"hello":"world"}', "<html>OK</html>", "" }) do
      local _, err = interpret(200, body)
      assert.are.equal("timeout", err.kind, body)
      assert.are.equal("ambiguous", err.outcome, body)
      assert.matches("reconcile", err.message)
      local _, q = gateway.interpret(200, body, { payout = false })
      assert.are.equal("http", q.kind, body)
    end
  end)

  it("never takes an acknowledgement naming another OCID for this payout's", function()
    local ack, err = interpret(200, '{"ConversationID":"AG_9","OriginatorConversationID":"ocid-2",'
      .. '"ResponseCode":"0","ResponseDescription":"Accept the service request successfully."}')
    assert.is_nil(ack)
    assert.are.equal("timeout", err.kind)
    assert.are.equal("ambiguous", err.outcome)
    assert.are.equal("ocid-1", err.originatorConversationId)
    assert.matches("reconcile", err.message)
    assert.matches("ocid%-2", err.message)
    -- the same through the second (errorCode present but not a string) path, and a number
    local _, err2 = interpret(200, '{"errorCode":null,"OriginatorConversationID":7,"ResponseCode":0}')
    assert.are.equal("timeout", err2.kind)
  end)

  it("gives every error its outcome class", function()
    local want = {
      { 400, daraja("400.002.02", "Bad Request - Invalid PartyB"), "rejected" },
      { 500, daraja("500.003.02", "Spike Arrest Violation"), "rejected_retryable" },
      { 500, daraja("500.002.1001", "Duplicate OriginatorConversationID."), "ambiguous" },
      { 500, daraja("500.001.1001", "Internal Server Error"), "ambiguous" },
      { 500, daraja("500.003.03", "Quota Violation"), "rejected" },
      { 502, "Bad Gateway", "ambiguous" },
      { 503, "", "ambiguous" },
      { 403, "<html>Forbidden</html>", "rejected" },
    }
    for _, case in ipairs(want) do
      local _, err = interpret(case[1], case[2])
      assert.are.equal(case[3], err.outcome, case[2])
    end
  end)
end)

describe("gateway.interpret on Daraja's sample answers", function()
  local function fixture(name)
    local f = assert(io.open("spec/fixtures/daraja/" .. name, "rb"))
    local s = f:read("*a")
    f:close()
    return s
  end
  local errors_by_file = {
    ["error_invalid_access_token_404_real.json"] = { 404, "404.001.03" },
    ["error_invalid_access_token_401_legacy_docs.json"] = { 401, "401.002.01" },
    ["error_invalid_initiatorname_real.json"] = { 400, "400.002.02" },
    ["b2c_error_duplicate_docs_v3.json"] = { 500, "500.002.1001" },
  }
  for file, want in pairs(errors_by_file) do
    it("maps " .. file, function()
      local ack, err = interpret(want[1], fixture(file))
      assert.is_nil(ack)
      assert.are.equal("api", err.kind)
      assert.are.equal(want[2], err.code)
      assert.is_string(err.requestId)
    end)
  end
  for _, file in ipairs({ "b2c_v3_response_docs.json", "accountbalance_response_docs_v3.json" }) do
    it("reads " .. file .. " as an acknowledgement", function()
      local body = fixture(file)
      local ocid = body:match('"OriginatorConversationID"%s*:%s*"([^"]*)"')
      local ack = assert(gateway.interpret(200, body, { ocid = ocid, payout = true }))
      assert.are.equal("0", ack.ResponseCode)
      assert.matches("^AG_", ack.ConversationID)
    end)
  end
end)
