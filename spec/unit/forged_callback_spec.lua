-- Callbacks forged to read as success where another reader (or a careful
-- person) sees a failure, and results without the Result wrapper. Each
-- reader of callbacks (parseDarajaResult, parseQueueTimeout, statusVerdict,
-- parseAccountBalance) shares one decoder and one set of rules.
local b2c = require("b2c")
local read = require("support.files").must

local function refused(body, pattern)
  local r, err = b2c.parseDarajaResult(body)
  assert.is_nil(r, body)
  assert.are.equal("callback", err.kind, body)
  if pattern then assert.matches(pattern, err.message, 1, true) end
  return err
end

local function wrap(inner) return '{"Result":{' .. inner .. '}}' end

describe("a repeated key anywhere in a callback", function()
  local cases = {
    { "ResultCode twice", wrap('"ResultCode":1,"ConversationID":"c","ResultCode":0') },
    { "two Result objects", '{"Result":{"ResultCode":1,"ConversationID":"c"},'
      .. '"Result":{"ResultCode":0,"ConversationID":"c"}}' },
    { "an escaped name repeating a plain one", wrap('"ResultCode":1,"ConversationID":"c","Result\\u0043ode":0') },
    { "escapes on both sides", wrap('"R\\u0065sultCode":1,"ConversationID":"c","Result\\u0043\\u006fde":0') },
    { "\\/ for /", '{"a/b":1,"a\\/b":2,"Result":{"ResultCode":0,"ConversationID":"c"}}' },
    { "a surrogate pair and its UTF-8", '{"\\ud83d\\ude00":1,"\240\159\152\128":2,'
      .. '"Result":{"ResultCode":0,"ConversationID":"c"}}' },
    { "an id twice", wrap('"ResultCode":0,"ConversationID":"c","ConversationID":"d"') },
    { "a Value twice in a parameter", wrap('"ResultCode":0,"ConversationID":"c","ResultParameters":'
      .. '{"ResultParameter":[{"Key":"TransactionAmount","Value":10,"Value":10000}]}') },
    { "deep inside", wrap('"ResultCode":0,"ConversationID":"c","x":[[{"y":{"z":1,"z":2}}]]') },
  }
  for _, case in ipairs(cases) do
    it("is refused: " .. case[1], function()
      local err = refused(case[2], "twice in one object")
      assert.are.equal("body", err.field)
      assert.is_nil(b2c.parseQueueTimeout(case[2]))
      assert.is_nil(b2c.statusVerdict(case[2]))
      assert.is_nil(b2c.parseAccountBalance(case[2]))
    end)
  end

  it("is found among many names (sorted, not compared pairwise) and names the key", function()
    local parts = {}
    for i = 1, 300 do parts[#parts + 1] = ('"k%d":%d'):format(i, i) end
    local unique = '{"Result":{"ResultCode":0,"ConversationID":"c",' .. table.concat(parts, ",") .. "}}"
    assert.is_true(assert(b2c.parseDarajaResult(unique)).ok)
    parts[#parts + 1] = '"k\\u0031\\u0037":0' -- k17
    local err = refused('{"Result":{"ResultCode":0,"ConversationID":"c",' .. table.concat(parts, ",") .. "}}")
    assert.matches('"k\\u0031\\u0037" twice', err.message, 1, true)
  end)

  it("is shown in the error bounded and printable", function()
    local long = string.rep("\195\169", 100) -- é x 100
    local err = refused(wrap('"ResultCode":0,"ConversationID":"c","' .. long .. '":1,"' .. long .. '":2'))
    assert.is_nil(err.message:find("[^ -~]"))
    assert.is_true(#err.message < 200)
  end)

  it("in different objects is not a repeat", function()
    local r = assert(b2c.parseDarajaResult(read("spec/fixtures/daraja/b2c_result_success_docs_v3.json")))
    assert.is_true(r.ok) -- Key and Value in every item
  end)
end)

describe("a numeric ResultCode", function()
  for _, literal in ipairs({ "1e-400", "1e-99999999999", "-1e-400", "0.0", "0e0", "0E+0", "0.5e-1",
    "-0", "1.0", "1e0", "2001.0", "100000000000000000000000000000001" }) do
    it("is refused when written " .. literal, function()
      refused(wrap('"ResultCode":' .. literal .. ',"ConversationID":"c"'), "Result.ResultCode must be an integer")
      refused('{"ResultCode":' .. literal .. ',"ResultDesc":"d","ConversationID":"c"}', "ResultCode must be")
      assert.is_nil(b2c.statusVerdict(wrap('"ResultCode":' .. literal .. ',"ConversationID":"c"')))
    end)
  end

  it("is read when an integer written as one", function()
    assert.is_true(assert(b2c.parseDarajaResult(wrap('"ResultCode":0,"ConversationID":"c"'))).ok)
    local r = assert(b2c.parseDarajaResult(wrap('"ResultCode" : 2001 ,"ConversationID":"c"')))
    assert.is_false(r.ok)
    assert.are.equal(2001, r.ResultCode)
    assert.are.equal(-1, assert(b2c.parseDarajaResult(wrap('"ResultCode":-1,"ConversationID":"c"'))).ResultCode)
    -- written with an escaped name: still the same literal rule
    refused(wrap('"Result\\u0043ode":1e-400,"ConversationID":"c"'), "must be an integer")
    assert.is_true(assert(b2c.parseDarajaResult(wrap('"Result\\u0043ode":0,"ConversationID":"c"'))).ok)
  end)

  it("from a decoded table must be a whole finite number", function()
    local function parse(code)
      return b2c.parseDarajaResult({ Result = { ResultCode = code, ConversationID = "c" } })
    end
    assert.is_true(assert(parse(0)).ok)
    for _, code in ipairs({ 0.5, 1 / 0, -1 / 0, 0 / 0 }) do assert.is_nil(parse(code)) end
  end)
end)

describe("a string ResultCode near zero", function()
  for _, code in ipairs({ "0 ", " 0", "00", "0.0", "-0", "+0", "0x0", "0\n", "0e0", "\0" .. "0",
    "O", "0\0" }) do
    it(("is never success: %q"):format(code), function()
      local body = wrap('"ResultCode":' .. require("cjson").encode(code) .. ',"ConversationID":"c",'
        .. '"ResultParameters":{"ResultParameter":[{"Key":"TransactionStatus","Value":"Completed"},'
        .. '{"Key":"ReceiptNo","Value":"R1"}]}')
      local r = assert(b2c.parseDarajaResult(body))
      assert.is_false(r.ok)
      assert.are.equal(code, r.ResultCode)
      local v = assert(b2c.statusVerdict(body))
      assert.are_not.equal("completed", v.verdict)
      assert.are.equal("pending", v.verdict)
      assert.is_true(v.queryFailed)
      assert.is_nil(b2c.parseAccountBalance(body))
    end)
  end

  it("\"0\" is success, \"2032\" is not found, \"02032\" is neither", function()
    local function verdict(code)
      return assert(b2c.statusVerdict(wrap('"ResultCode":"' .. code .. '","ConversationID":"c"'))).verdict
    end
    assert.are.equal("pending", verdict("0")) -- success without a status: not final
    assert.are.equal("not_found", verdict("2032"))
    assert.are.equal("pending", verdict("02032"))
    assert.are.equal("pending", verdict("2032 "))
  end)
end)

describe("ids in a callback", function()
  for _, name in ipairs({ "OriginatorConversationID", "ConversationID", "TransactionID" }) do
    for _, v in ipairs({ "5", "true", "1e400", '""', "{}", "[]", "0" }) do
      it(name .. " " .. v .. " is refused", function()
        local other = name == "ConversationID" and '"OriginatorConversationID":"o"' or '"ConversationID":"c"'
        local err = refused(wrap('"ResultCode":0,' .. other .. ',"' .. name .. '":' .. v),
          "Result." .. name .. " must be a non-empty string")
        assert.are.equal("Result." .. name, err.field)
      end)
    end
  end

  it("null is absent", function()
    local r = assert(b2c.parseDarajaResult(wrap('"ResultCode":0,"ConversationID":"c","TransactionID":null')))
    assert.is_nil(r.TransactionID)
  end)

  it("a queue timeout's ids follow the same rule, and agree where given twice", function()
    for _, body in ipairs({
      '{"OriginatorConversationID":5}',
      '{"OriginatorConversationID":1e400}',
      '{"OriginatorConversationID":""}',
      '{"OriginatorConversationID":"a","ConversationID":7}',
      '{"Result":{"OriginatorConversationID":true}}',
      '{"OriginatorConversationID":"a","Result":{"OriginatorConversationID":"b"}}',
      '{"OriginatorConversationID":"a","originatorConversationID":"b"}',
      '{"OriginatorConversationID":"a","ConversationID":"c","Result":{"ConversationID":"d"}}',
      '{"OriginatorConversationID":"a","OriginatorConversationID":"a"}',
    }) do
      local t, err = b2c.parseQueueTimeout(body)
      assert.is_nil(t, body)
      assert.are.equal("callback", err.kind)
    end
    local t = assert(b2c.parseQueueTimeout(
      '{"OriginatorConversationID":"a","Result":{"OriginatorConversationID":"a"}}'))
    assert.are.equal("a", t.OriginatorConversationID)
  end)
end)

describe("a result without the Result wrapper", function()
  local text = read("spec/fixtures/daraja/accountbalance_failure_toplevel.json")

  it("is read (a real production Account Balance failure has this shape)", function()
    local r = assert(b2c.parseDarajaResult(text))
    assert.is_false(r.ok)
    assert.are.equal(2001, r.ResultCode)
    assert.are.equal(0, r.ResultType)
    assert.are.equal("The initiator information is invalid.", r.ResultDesc)
    assert.are.equal("AG_20200120_00004e48cb8d1c2f7b3a", r.ConversationID)
    assert.is_nil(r.OriginatorConversationID)
    assert.are.equal("OAK0000000", r.TransactionID)
    assert.are.same({}, r.parameters)
    assert.are.equal(2001, r.raw.ResultCode)
  end)

  it("gives a failed balance query and a failed status query", function()
    local accounts, err = b2c.parseAccountBalance(text)
    assert.is_nil(accounts)
    assert.are.equal("2001", err.code)
    local v = assert(b2c.statusVerdict(text))
    assert.are.equal("pending", v.verdict)
    assert.is_true(v.queryFailed)
    assert.is_nil(v.receipt)
  end)

  it("needs ResultCode, ResultDesc and an id to count as a result", function()
    for _, body in ipairs({
      '{"ResultCode":0,"ConversationID":"c"}',
      '{"ResultCode":0,"ResultDesc":"ok"}',
      '{"ResultDesc":"ok","ConversationID":"c"}',
    }) do
      refused(body, "no Result object")
    end
    assert.is_true(assert(b2c.parseDarajaResult(
      '{"ResultCode":"0","ResultDesc":"ok","OriginatorConversationID":"o"}')).ok)
  end)

  it("is refused beside a Result object (which one would count?)", function()
    refused('{"ResultCode":0,"ResultDesc":"ok","ConversationID":"c","Result":{"ResultCode":1,"ConversationID":"c"}}',
      "both a Result object and a top-level ResultCode")
  end)
end)
