local validate = require("b2c.fields")

describe("validate.phone", function()
  local good = {
    ["0712345678"] = "254712345678", ["0112345678"] = "254112345678",
    ["712345678"] = "254712345678", ["112345678"] = "254112345678",
    ["254712345678"] = "254712345678", ["+254712345678"] = "254712345678",
    ["+254 712 345 678"] = "254712345678", ["0712-345-678"] = "254712345678",
    ["254 112 345 678"] = "254112345678",
  }
  for input, want in pairs(good) do
    it("normalises " .. input, function()
      assert.are.equal(want, validate.phone(input))
    end)
  end
  it("accepts a whole number", function()
    assert.are.equal("254712345678", validate.phone(254712345678))
  end)
  local bad = { "0812345678", "071234567", "07123456789", "+0712345678", "255712345678",
    "2547123456789", "07l2345678", "", "+254 7123 4567 8x", "0712345678\n", "254-7", "(0712)345678" }
  for _, input in ipairs(bad) do
    it("rejects " .. string.format("%q", input), function()
      local v, rule = validate.phone(input)
      assert.is_nil(v)
      assert.matches("Safaricom mobile number", rule)
    end)
  end
  it("rejects non-strings", function()
    assert.is_nil(validate.phone({}))
    assert.is_nil(validate.phone(7.5))
    assert.is_nil(validate.phone(true))
  end)
end)

describe("validate.amount", function()
  it("accepts whole numbers and digit strings within limits", function()
    assert.are.equal(500, validate.amount(500, 10, 250000))
    assert.are.equal(500, validate.amount(500.0, 10, 250000))
    assert.are.equal(500, validate.amount("500", 10, 250000))
    assert.are.equal(500, validate.amount("500.00", 10, 250000))
    assert.are.equal(10, validate.amount(10, 10, 250000))
    assert.are.equal(250000, validate.amount("250000", 10, 250000))
  end)
  it("sends whole numbers as integers", function()
    -- luacheck: push ignore 143 (math.type: 5.3+)
    if math.type then assert.are.equal("integer", math.type(validate.amount(500.0, 10, 250000))) end
    -- luacheck: pop
  end)
  it("never rounds a fraction", function()
    for _, v in ipairs({ 500.5, 10.0000001, "500.50", "500.5", "1e3", " 500", "500 ", "-500", "0x20" }) do
      local n, rule = validate.amount(v, 10, 250000)
      assert.is_nil(n, tostring(v))
      assert.matches("whole number", rule)
    end
  end)
  it("rejects out-of-range amounts and names the limits", function()
    local n, rule = validate.amount(9, 10, 250000)
    assert.is_nil(n)
    assert.are.equal("must be between 10 and 250000 shillings (got 9)", rule)
    assert.is_nil(validate.amount(250001, 10, 250000))
    assert.is_nil(validate.amount(-10, 10, 250000))
    assert.is_nil(validate.amount(0, 10, 250000))
    assert.is_nil(validate.amount(1e300, 10, 250000))
  end)
  it("rejects NaN, infinity and other types", function()
    assert.is_nil(validate.amount(0 / 0, 10, 250000))
    assert.is_nil(validate.amount(math.huge, 10, 250000))
    assert.is_nil(validate.amount(nil, 10, 250000))
    assert.is_nil(validate.amount({}, 10, 250000))
  end)
end)

describe("validate.text", function()
  it("counts characters, not bytes", function()
    assert.are.equal("Malipo ya Jumamosi ✓", validate.text("Malipo ya Jumamosi ✓", 2, 20))
    assert.is_nil(validate.text(string.rep("é", 101), 2, 100))
    assert.is_not_nil(validate.text(string.rep("é", 100), 2, 100))
  end)
  it("enforces bounds", function()
    local v, rule = validate.text("a", 2, 100)
    assert.is_nil(v)
    assert.are.equal("must be 2 to 100 characters (got 1)", rule)
    assert.is_nil(validate.text(string.rep("a", 101), 2, 100))
  end)
  it("rejects control characters, invalid UTF-8 and non-strings", function()
    assert.matches("control", select(2, validate.text("line\nbreak", 2, 100)))
    assert.matches("control", select(2, validate.text("nul\0byte", 2, 100)))
    assert.matches("UTF%-8", select(2, validate.text("bad \255 byte", 2, 100)))
    assert.matches("string", select(2, validate.text(42, 2, 100)))
  end)
end)

describe("validate.url", function()
  it("accepts absolute http(s) URLs", function()
    assert.is_not_nil(validate.url("https://example.com/mpesa/b2c/result", false))
    assert.is_not_nil(validate.url("http://127.0.0.1:8080/cb?t=abc", false))
  end)
  it("requires https in production", function()
    local v, rule = validate.url("http://example.com/cb", true)
    assert.is_nil(v)
    assert.are.equal("must use https in production", rule)
    assert.is_not_nil(validate.url("https://example.com/cb", true))
  end)
  it("rejects relative, odd-scheme and whitespace URLs", function()
    for _, u in ipairs({ "/cb", "example.com/cb", "ftp://example.com", "https://", "https:// x.com",
      "https://x.com/a b", "https://x.com/\n", "javascript:alert(1)" }) do
      assert.is_nil(validate.url(u, false), u)
    end
  end)
end)

describe("validate.command and conversation_id", function()
  it("knows the three command ids", function()
    for _, c in ipairs({ "BusinessPayment", "SalaryPayment", "PromotionPayment" }) do
      assert.are.equal(c, validate.command(c))
    end
    assert.is_nil(validate.command("businesspayment"))
    assert.is_nil(validate.command("TransactionReversal"))
  end)
  it("bounds caller-made OriginatorConversationIDs", function()
    assert.is_not_nil(validate.conversation_id("payroll-2026-11:00042"))
    assert.is_not_nil(validate.conversation_id(string.rep("a", 128)))
    assert.is_nil(validate.conversation_id(string.rep("a", 129)))
    assert.is_nil(validate.conversation_id(""))
    assert.is_nil(validate.conversation_id("has space"))
    assert.is_nil(validate.conversation_id('quote"d'))
  end)
end)

describe("validate.callback_url", function()
  it("takes the request's own URL after checking it, else the client's default", function()
    assert.are.equal("https://a.example/r", validate.callback_url("https://a.example/r", nil, true))
    assert.are.equal("https://d.example/r", validate.callback_url(nil, "https://d.example/r", true))
    local v, rule = validate.callback_url("http://a.example/r", "https://d.example/r", true)
    assert.is_nil(v)
    assert.matches("https", rule)
    v, rule = validate.callback_url(nil, nil, false)
    assert.is_nil(v)
    assert.matches("is required", rule)
  end)
end)

describe("validate.reference", function()
  it("keeps numbers and short text, and nothing else", function()
    assert.is_nil((validate.reference(nil)))
    assert.are.equal(17, validate.reference(17))
    assert.are.equal("payroll:2026-03/17", validate.reference("payroll:2026-03/17"))
    assert.are.equal(string.rep("é", 128), validate.reference(string.rep("é", 128)))
    for _, bad in ipairs({ {}, true, "", string.rep("r", 129), "a\0b", "a\nb", 0 / 0, math.huge }) do
      local v, rule = validate.reference(bad)
      assert.is_nil(v)
      assert.is_string(rule)
    end
  end)
end)
