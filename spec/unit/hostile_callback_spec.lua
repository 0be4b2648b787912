-- Generative test of the callback readers (parseDarajaResult and
-- parseQueueTimeout): random and mutated JSON from the fixtures, deep
-- nesting, huge strings, wrong types, invalid UTF-8, non-table values.
-- Properties: never raises; a failure is a "callback" error; success only
-- for a payload that a strict, independent JSON decoder (support.strict_json)
-- reads the same way. B2C_HOSTILE_CASES sets the number of cases (default
-- 100000; each runs through both readers); B2C_HOSTILE_SEED the seed.
local b2c = require("b2c")
local cjson = require("cjson.safe").new()
local strict = require("support.strict_json")

local CASES = tonumber(os.getenv("B2C_HOSTILE_CASES") or "") or 100000
local SEED = tonumber(os.getenv("B2C_HOSTILE_SEED") or "") or os.time()

local read = require("support.files").must

local FIXTURES = {}
for _, name in ipairs({ "b2c_result_success_docs_v3", "b2c_result_failure_2001_docs_v3",
  "transactionstatus_result_success_docs_v3", "accountbalance_result_success_docs_v3",
  "b2c_v3_request_docs", "b2c_v3_response_docs", "b2c_error_duplicate_docs_v3" }) do
  FIXTURES[#FIXTURES + 1] = read("spec/fixtures/daraja/" .. name .. ".json")
end
-- A queue-timeout notification as the simulator sends it, and small valid results.
FIXTURES[#FIXTURES + 1] = '{"OriginatorConversationID":"abc-1","InitiatorName":"testapi","Amount":10}'
FIXTURES[#FIXTURES + 1] = '{"Result":{"ResultType":0,"ResultCode":0,"OriginatorConversationID":"o",'
  .. '"ConversationID":"c","ResultDesc":"ok"}}'
FIXTURES[#FIXTURES + 1] = '{"Result":{"ResultCode":"0","ConversationID":"c"}}'

local TOKENS = { "0x0", "NaN", "-Infinity", "1.", "01", "-", "1e", ".5", "+1", '"', "\\", "\\u0000",
  "\\ud800", "\\uZZZZ", "\255", "\192\128", "\237\160\128", "\244\144\128\128", "\226\130",
  "\0", "\1", "\t", "\n", "{", "}", "[", "]", ":", ",", "null", "true", "false", "0", '"0"', "-0",
  '"ResultCode":0,', '"Result":', '{"Result":{}}', "1e400", "-1e-400", " ", "\127", "\239\187\191" }

local random = math.random

local function pick(list) return list[random(#list)] end

-- Byte-level mutation: 1-8 edits of random bytes or interesting tokens.
local function mutate(s)
  for _ = 1, random(8) do
    local n = #s
    local at = random(0, n)
    local op = random(6)
    if op == 1 and n > 0 then
      s = s:sub(1, at - 1) .. s:sub(at + 1)                              -- delete a byte
    elseif op == 2 then
      s = s:sub(1, at) .. string.char(random(0, 255)) .. s:sub(at + 1)   -- insert a byte
    elseif op == 3 and n > 0 then
      s = s:sub(1, at - 1) .. string.char(random(0, 255)) .. s:sub(at + 1) -- replace a byte
    elseif op == 4 then
      s = s:sub(1, at) .. pick(TOKENS) .. s:sub(at + 1)                 -- insert a token
    elseif op == 5 and n > 0 then
      local len = random(1, 8)
      s = s:sub(1, at - 1) .. pick(TOKENS) .. s:sub(at + len)           -- replace a span
    else
      local b = random(0, n)                                             -- duplicate a span
      s = s:sub(1, at) .. s:sub(b, b + random(0, 16)) .. s:sub(at + 1)
    end
  end
  return s
end

local function random_scalar(depth)
  local r = random(12)
  if r == 1 then return cjson.null end
  if r == 2 then return random(2) == 1 end
  if r == 3 then return random(-5, 5) end
  if r == 4 then return random() * 10 ^ random(-10, 300) * (random(2) == 1 and 1 or -1) end
  if r == 5 then return "0" end
  if r == 6 then return 0 end
  if r == 7 then return string.rep("x", random(0, 20) == 0 and 20000 or random(0, 40)) end
  if r == 8 then return "\"';\n\0<script>" end
  if r == 9 and depth < 6 then return { random_scalar(depth + 1), random_scalar(depth + 1) } end
  if r == 10 and depth < 6 then
    return { ResultCode = random_scalar(depth + 1), Key = random_scalar(depth + 1),
      Value = random_scalar(depth + 1) }
  end
  return "s" .. random(1000)
end

-- Structural mutation: decode a fixture, replace some values by values of
-- other types, encode again (valid JSON with the wrong shapes).
local function reshape(text)
  local doc = cjson.decode(text)
  local function walk(t, depth)
    for k, v in pairs(t) do
      if random(4) == 1 then
        t[k] = random_scalar(depth)
      elseif type(v) == "table" and depth < 8 then
        walk(v, depth + 1)
      end
    end
    if random(8) == 1 then t[pick({ "ResultCode", "Result", "OriginatorConversationID",
      "ConversationID", "ResultParameters", "ResultParameter", "Key", "Value" })] = random_scalar(depth) end
  end
  walk(doc, 1)
  return cjson.encode(doc) or text
end

local function random_json(depth)
  local r = random(depth > 4 and 3 or 6)
  if r == 1 then return tostring(random(-100, 100)) end
  if r == 2 then return pick({ "true", "false", "null", '"0"', "0", '"x"', "1.5e3" }) end
  if r == 3 then return '"' .. pick({ "a", "ResultCode", "\\u00e9", "\\\"" }) .. '"' end
  local parts = {}
  if r == 4 then
    for _ = 1, random(0, 4) do parts[#parts + 1] = random_json(depth + 1) end
    return "[" .. table.concat(parts, ",") .. "]"
  end
  for _ = 1, random(0, 5) do
    parts[#parts + 1] = '"' .. pick({ "Result", "ResultCode", "OriginatorConversationID",
      "ConversationID", "ResultParameters", "ResultParameter", "Key", "Value", "x" }) .. '":'
      .. random_json(depth + 1)
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

local function deep(n)
  local kind = random(3)
  if kind == 1 then return string.rep("[", n) .. string.rep("]", n) end
  if kind == 2 then return '{"Result":' .. string.rep('{"a":', n) .. "0" .. string.rep("}", n) .. "}" end
  return '{"Result":{"ResultCode":0,"ConversationID":"c","ResultParameters":'
    .. string.rep("[", n) .. string.rep("]", n) .. "}}"
end

local NON_STRINGS = { nil, 0, 1.5, true, false, print, coroutine.create(function() end), io.stdout,
  {}, { Result = "x" }, { Result = { ResultCode = 0 } }, { Result = { ResultCode = {}, ConversationID = "c" } },
  { Result = { ResultCode = 0, ConversationID = {} } }, { Result = { ResultCode = 0 / 0, ConversationID = "c" } },
  { Result = { ResultCode = 0, ConversationID = "c", ResultParameters = { ResultParameter = 5 } } },
  { Result = { ResultCode = "0", OriginatorConversationID = 12, ReferenceData = "x" } } }

local function generate(i)
  local r = random(100)
  if i <= #NON_STRINGS + 1 then return NON_STRINGS[i - 1], "non-string" end
  if r <= 55 then return mutate(pick(FIXTURES)), "mutated" end
  if r <= 80 then return reshape(pick(FIXTURES)), "reshaped" end
  if r <= 95 then return random_json(1), "random" end
  if r <= 99 then return deep(random(10, 3000)), "deep" end
  local size = random(20) == 1 and random(1000000, 1100000) or random(1000, 40000)
  local unit = pick({ "a", "\255", "\\u0000", "\"" })
  local fill = string.rep(unit, math.floor(size / #unit))
  return '{"Result":{"ResultCode":0,"ConversationID":"' .. fill .. '"}}', "huge"
end

local function code_ok(c) return c == 0 or c == "0" end

local function text(v)
  if type(v) == "string" and v ~= "" then return v end
  if type(v) == "number" then return v end
end

-- A failure must be a callback error; a success must come from strict JSON.
-- Returns false for a failure; true and the oracle's decoding for a success.
local function oracle_doc(input, res, err)
  if res == nil then
    assert(type(err) == "table" and err.kind == "callback", "a failure that is not a callback error")
    return false
  end
  if type(input) ~= "string" then return true, input end
  local doc = strict.decode(input)
  assert(doc ~= nil, "success for text that is not strict JSON")
  return true, doc
end

-- What a correct reader may report, from the oracle's decoding.
local function check_result(input, res, err)
  local succeeded, doc = oracle_doc(input, res, err)
  if not succeeded then return false end
  assert(type(doc) == "table" and type(doc.Result) == "table", "success without a Result object")
  local r = doc.Result
  assert(text(r.OriginatorConversationID) or text(r.ConversationID), "success without an id")
  assert(type(r.ResultCode) == "number" or (type(r.ResultCode) == "string" and r.ResultCode ~= ""),
    "success without a ResultCode")
  assert(res.ok == code_ok(r.ResultCode), "ok does not match ResultCode")
  if res.ok then assert(code_ok(res.ResultCode)) end
  return res.ok
end

local function check_timeout(input, res, err)
  local succeeded, doc = oracle_doc(input, res, err)
  if not succeeded then return false end
  assert(type(doc) == "table", "success for a non-object")
  local r = type(doc.Result) == "table" and doc.Result or {}
  assert(text(doc.OriginatorConversationID) or text(r.OriginatorConversationID)
    or text(doc.originatorConversationID), "success without an OriginatorConversationID")
  return true
end

describe("callback readers under hostile input", function()
  it("never raise and never report success for a malformed payload (" .. CASES .. " cases)", function()
    math.randomseed(SEED)
    local stats = { cases = 0, ok = 0, failed = 0, timeouts = 0 }
    local by_kind = {}
    for i = 1, CASES do
      local input, kind = generate(i)
      by_kind[kind] = (by_kind[kind] or 0) + 1
      local called, res, err = pcall(b2c.parseDarajaResult, input)
      if not called then error(("seed %d case %d (%s): parseDarajaResult raised: %s"):format(SEED, i, kind, res)) end
      local ok_check, why = pcall(check_result, input, res, err)
      if not ok_check then
        error(("seed %d case %d (%s): %s\ninput: %q"):format(SEED, i, kind, why, tostring(input):sub(1, 400)))
      end
      if res then
        if why then stats.ok = stats.ok + 1 end
      else
        stats.failed = stats.failed + 1
      end
      called, res, err = pcall(b2c.parseQueueTimeout, input)
      if not called then error(("seed %d case %d (%s): parseQueueTimeout raised: %s"):format(SEED, i, kind, res)) end
      ok_check, why = pcall(check_timeout, input, res, err)
      if not ok_check then
        error(("seed %d case %d (%s): %s\ninput: %q"):format(SEED, i, kind, why, tostring(input):sub(1, 400)))
      end
      if res then stats.timeouts = stats.timeouts + 1 end
      stats.cases = i
    end
    local kinds = {}
    for k, n in pairs(by_kind) do kinds[#kinds + 1] = k .. " " .. n end
    table.sort(kinds)
    print(("\n    hostile callbacks: %d cases (seed %d; %s): %d successful results (ok), %d refused; "
      .. "%d queue timeouts read"):format(stats.cases, SEED, table.concat(kinds, ", "), stats.ok,
      stats.failed, stats.timeouts))
    assert.are.equal(CASES, stats.cases)
  end)

  it("refuses what lua-cjson alone would read as success", function()
    for _, body in ipairs({
      '{"Result":{"ResultCode":0x0,"ConversationID":"c"}}',
      '{"Result":{"ResultCode":0.,"ConversationID":"c"}}',
      '{"Result":{"ResultCode":00,"ConversationID":"c"}}',
      '{"Result":{"ResultCode":0,"ConversationID":"c\1"}}',
      '{"Result":{"ResultCode":0,"ConversationID":"\255"}}',
      '{"Result":{"ResultCode":0,"ConversationID":"\237\160\128"}}',
    }) do
      local res, err = b2c.parseDarajaResult(body)
      assert.is_nil(res, body)
      assert.are.equal("callback", err.kind)
    end
  end)
end)
