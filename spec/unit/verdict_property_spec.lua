-- "Never raises" for the readers of results, whatever Lua value they are
-- given: random values of every type, nested tables, tables that look
-- already parsed ({ raw = 1, parameters = { 1 } }), cycles, and metatables
-- whose every metamethod raises. statusVerdict must return a verdict or
-- nil, err (kind "callback"); the other readers share its decoder.
-- B2C_VERDICT_CASES sets the number of values (default 300000, or three
-- times B2C_HOSTILE_CASES where that is set: make asan and make valgrind
-- lower it), B2C_VERDICT_SEED the seed (default pinned, so CI is
-- deterministic).
local b2c = require("b2c")
local read = require("support.files").must

local HOSTILE = tonumber(os.getenv("B2C_HOSTILE_CASES") or "")
local CASES = tonumber(os.getenv("B2C_VERDICT_CASES") or "") or (HOSTILE and 3 * HOSTILE) or 300000
local SEED = tonumber(os.getenv("B2C_VERDICT_SEED") or "") or 20261201

local random = math.random
local VERDICTS = { completed = true, failed = true, not_found = true, pending = true }

local TEXTS = {}
for _, name in ipairs({ "transactionstatus_result_success_docs_v3", "b2c_result_success_docs_v3",
  "accountbalance_failure_toplevel", "b2c_result_failure_2001_docs_v3" }) do
  TEXTS[#TEXTS + 1] = read("spec/fixtures/daraja/" .. name .. ".json")
end
for _, name in ipairs({ "not_found_2032", "failed_sim", "query_failed_2001" }) do
  TEXTS[#TEXTS + 1] = read("spec/fixtures/status/" .. name .. ".json")
end
local PARSED = {}
for i, text in ipairs(TEXTS) do PARSED[i] = assert(b2c.parseDarajaResult(text)) end

local function boom() error("metamethod called") end
local function boom_table() error({ "an error that is a table" }) end
-- Every metamethod raises, and the metatable is protected.
local HOSTILE_MT = { __index = boom, __newindex = boom, __len = boom, __pairs = boom, __ipairs = boom,
  __tostring = boom, __eq = boom, __lt = boom, __le = boom, __concat = boom, __call = boom,
  __unm = boom, __add = boom, __mode = nil, __metatable = "locked" }
-- __index answers with more hostile values, never the same twice.
local SHIFTY_MT

local KEYS = { "raw", "parameters", "Result", "ResultCode", "ResultDesc", "ResultType",
  "OriginatorConversationID", "ConversationID", "TransactionID", "ResultParameters", "ResultParameter",
  "ReferenceData", "ReferenceItem", "Key", "Value", "Name", "ok", 1, 2, 3 }
local PARAMETER_KEYS = { "TransactionStatus", "TransactionReceipt", "ReceiptNo", "Amount",
  "DebitPartyName", "DebitPartyCharges", "FinalisedTime", "OriginatorConversationID",
  "Conversation ID", "AccountBalance", "TransactionReason" }

local value

local function scalar()
  local r = random(24)
  if r == 1 then return nil end
  if r == 2 then return random(2) == 1 end
  if r == 3 then return random(-3, 2100) end
  if r == 4 then return ({ 0 / 0, 1 / 0, -1 / 0, -0.0, 0.5, 2 ^ 63, 1e-400, 2032, 2033 })[random(9)] end
  if r == 5 then return ({ "0", "00", "0 ", "2032", "", "Completed", "x|y|z", "a&b", "|||&|" })[random(9)] end
  if r == 6 then return PARAMETER_KEYS[random(#PARAMETER_KEYS)] end
  if r == 7 and random(3) == 1 then return TEXTS[random(#TEXTS)] end
  if r == 8 and random(3) == 1 then
    local t = TEXTS[random(#TEXTS)]
    local at = random(#t)
    return t:sub(1, at) .. string.char(random(0, 255)) .. t:sub(at + 2)
  end
  if r == 9 then return print end
  if r == 10 then return coroutine.create(boom) end
  if r == 11 then return io.stdout end
  if r == 12 then return require("cjson").null end
  if r == 13 then return string.rep("9", random(1, 400)) end
  return "s" .. random(100)
end

local function table_value(depth)
  local t = {}
  for _ = 1, random(0, 4) do
    local k = KEYS[random(#KEYS)]
    t[k] = value(depth + 1)
  end
  local r = random(12)
  if r == 1 then t.raw = value(depth + 1) end
  if r == 2 then t.parameters = { value(depth + 1), value(depth + 1) } end
  if r == 3 then t.Result = t end                      -- a cycle
  if r == 4 then t.raw = t end
  if r == 5 then setmetatable(t, HOSTILE_MT) end
  if r == 6 then setmetatable(t, SHIFTY_MT) end
  if r == 7 then
    t.Key = PARAMETER_KEYS[random(#PARAMETER_KEYS)]
    t.Value = value(depth + 1)
  end
  return t
end

SHIFTY_MT = { __index = function() return table_value(5) end, __len = function() return 2 ^ 40 end,
  __tostring = boom_table }

value = function(depth)
  if depth > 3 or random(3) > 1 then return scalar() end
  return table_value(depth)
end

-- A parsed result, then damaged: what a caller may hand back.
local function damaged_parsed()
  local src = PARSED[random(#PARSED)]
  local r = {}
  for k, v in pairs(src) do r[k] = v end
  for _ = 1, random(1, 3) do
    local k = ({ "parameters", "ResultCode", "TransactionID", "ResultDesc", "raw", "ok" })[random(6)]
    r[k] = value(2)
  end
  if random(4) == 1 then r.parameters = { 1, "x", { Key = 5 }, { Key = "Amount", Value = {} } } end
  if random(6) == 1 then setmetatable(r, HOSTILE_MT) end
  return r
end

local function generate(i)
  if i == 1 then return { raw = 1, parameters = { 1 } } end
  if i == 2 then return setmetatable({}, HOSTILE_MT) end
  local r = random(20)
  if r <= 2 then return damaged_parsed() end
  if r <= 10 then return table_value(1) end
  return value(1)
end

local function check(name, fn, x, i)
  local called, v, err = pcall(fn, x)
  if not called then
    error(("seed %d case %d: %s raised: %s"):format(SEED, i, name, type(v) == "string" and v or type(v)))
  end
  if v == nil then
    if type(err) ~= "table" or err.kind ~= "callback" then
      error(("seed %d case %d: %s failed without a callback error"):format(SEED, i, name))
    end
  end
  return v
end

describe("readers of results, given any Lua value", function()
  it("never raise (" .. CASES .. " values, seed " .. SEED .. ")", function()
    print(("\n    verdict property: %d values, seed %d (B2C_VERDICT_SEED)"):format(CASES, SEED))
    math.randomseed(SEED)
    local verdicts = {}
    for i = 1, CASES do
      local x = generate(i)
      local v = check("statusVerdict", b2c.statusVerdict, x, i)
      if v ~= nil then
        assert(VERDICTS[v.verdict], "not a verdict")
        assert(type(v.advice) == "string", "no advice")
        verdicts[v.verdict] = (verdicts[v.verdict] or 0) + 1
      end
      if i % 8 == 0 then
        check("parseAccountBalance", b2c.parseAccountBalance, x, i)
        check("parseDarajaResult", b2c.parseDarajaResult, x, i)
        check("parseQueueTimeout", b2c.parseQueueTimeout, x, i)
      end
    end
    -- the generator reaches every verdict
    for name in pairs(VERDICTS) do assert.is_truthy(verdicts[name], name) end
  end)

  it("reads a damaged parsed result from its raw document", function()
    local text = read("spec/fixtures/daraja/transactionstatus_result_success_docs_v3.json")
    local r = assert(b2c.parseDarajaResult(text))
    r.parameters = { 1 }
    r.ResultCode = {}
    r.TransactionID = 5
    local v = assert(b2c.statusVerdict(r))
    assert.are.equal("completed", v.verdict)
    assert.are.equal(300, v.amount)
    local v2, err = b2c.statusVerdict({ raw = 1, parameters = { 1 } })
    assert.is_nil(v2)
    assert.are.equal("callback", err.kind)
  end)
end)
