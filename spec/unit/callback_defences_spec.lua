-- The callback defence helpers: b2c.callbackToken and b2c.isSafaricomAddress.
local b2c = require("b2c")

describe("b2c.callbackToken", function()
  it("is 64 URL-safe hex digits, different every time", function()
    local seen = {}
    for _ = 1, 2000 do
      local t = b2c.callbackToken()
      assert.are.equal(64, #t)
      assert.truthy(t:match("^%x+$"), t)
      assert.is_nil(seen[t])
      seen[t] = true
    end
  end)

  it("uses all 16 digits in every free position (not a counter or a clock)", function()
    local digits = {}
    for _ = 1, 500 do
      local t = b2c.callbackToken()
      for i = 1, 64 do
        digits[i] = digits[i] or {}
        digits[i][t:sub(i, i)] = true
      end
    end
    local varied = 0
    for i = 1, 64 do
      local n = 0
      for _ in pairs(digits[i]) do n = n + 1 end
      if n == 16 then varied = varied + 1 end
    end
    assert.is_true(varied >= 60, varied .. " positions vary fully") -- 2 per UUID are fixed
  end)
end)

describe("b2c.isSafaricomAddress", function()
  it("accepts each published address, also IPv4-mapped", function()
    assert.are.equal(12, #b2c.safaricomAddresses)
    for _, ip in ipairs({ "196.201.214.200", "196.201.214.206", "196.201.214.207",
      "196.201.214.208", "196.201.213.114", "196.201.213.44", "196.201.212.127",
      "196.201.212.138", "196.201.212.129", "196.201.212.136", "196.201.212.74",
      "196.201.212.69" }) do
      assert.is_true(b2c.isSafaricomAddress(ip), ip)
      assert.is_true(b2c.isSafaricomAddress("::ffff:" .. ip), ip)
    end
  end)

  it("refuses everything else", function()
    for _, ip in ipairs({ "127.0.0.1", "196.201.214.201", "196.201.214.2000", " 196.201.214.200",
      "196.201.214.200 ", "196.201.214.200, 10.0.0.1", "196.201.214.0200", "::1",
      "196.201.214.200.evil.example", "::ffff:127.0.0.1", "", "0.0.0.0" }) do
      assert.is_false(b2c.isSafaricomAddress(ip), ip)
    end
    for _, v in ipairs({ 0, true, {}, print }) do assert.is_false(b2c.isSafaricomAddress(v)) end
    assert.is_false(b2c.isSafaricomAddress(nil))
  end)
end)
