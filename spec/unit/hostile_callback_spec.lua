-- Generative test of the callback readers (parseDarajaResult and
-- parseQueueTimeout): random and mutated JSON from the fixtures, deep
-- nesting, huge strings, wrong types, invalid UTF-8, non-table values.
-- Properties: never raises; a failure is a "callback" error; success only
-- for a payload that a strict, independent JSON decoder (support.strict_json:
-- no repeated names) reads the same way, with a ResultCode written as an
-- integer or a string and ids that are non-empty strings. B2C_HOSTILE_CASES
-- sets the number of cases (default 100000; each runs through both
-- readers); B2C_HOSTILE_SEED the seed (default pinned, so CI is
-- deterministic; the seed is printed). Known forgeries are checked apart,
-- whatever the seed.
local b2c = require("b2c")
local cjson = require("cjson.safe").new()
local strict = require("support.strict_json")

local CASES = tonumber(os.getenv("B2C_HOSTILE_CASES") or "") or 100000
local SEED = tonumber(os.getenv("B2C_HOSTILE_SEED") or "") or 1796155012

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
FIXTURES[#FIXTURES + 1] = read("spec/fixtures/daraja/accountbalance_failure_toplevel.json")
FIXTURES[#FIXTURES + 1] = '{"ResultCode":0,"ResultDesc":"ok","ConversationID":"c","OriginatorConversationID":"o"}'

local TOKENS = { "0x0", "NaN", "-Infinity", "1.", "01", "-", "1e", ".5", "+1", '"', "\\", "\\u0000",
  "\\ud800", "\\uZZZZ", "\255", "\192\128", "\237\160\128", "\244\144\128\128", "\226\130",
  "\0", "\1", "\t", "\n", "{", "}", "[", "]", ":", ",", "null", "true", "false", "0", '"0"', "-0",
  '"ResultCode":0,', '"Result":', '{"Result":{}}', "1e400", "-1e-400", " ", "\127", "\239\187\191",
  "1e-400", "0.0", "0e0", "-0", '"0 "', '" 0"', '"00"', '"+0"', '"0x0"', '"0.0"', '"Result\\u0043ode":0,',
  '"ResultCode":1,', '"\\u0052esult":{"ResultCode":0,"ConversationID":"c"},', '"OriginatorConversationID":1,',
  '"ConversationID":true,', '"TransactionID":1e400,' }

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

-- Known ways to forge a success: a second ResultCode (plainly or with an
-- escaped name), a second Result, a code that decodes to 0 without being
-- 0, an id that is not a string. Each is put at a place where it counts.
local ZEROISH = { "0", "-0", "0.0", "0e0", "1e-400", "-1e-400", "1e-99999999999", "0E+1", '"0"', '"00"',
  '"0 "', '" 0"', '"+0"', '"0x0"', '"-0"', '"0.0"', "0.0e0" }
local FORGED_NAMES = { '"ResultCode"', '"Result\\u0043ode"', '"\\u0052esultCode"', '"ResultCod\\u0065"' }
local NOT_IDS = { "1", "true", "1e400", '""', "{}", "[]", "null", "-0", "0" }

local function forge(text)
  local r = random(5)
  local at = text:find('"Result"%s*:%s*{') and select(2, text:find('"Result"%s*:%s*{')) or text:find("{")
  if not at then return text end
  local insert
  if r == 1 then
    insert = pick(FORGED_NAMES) .. ":" .. pick(ZEROISH) .. ","
  elseif r == 2 then
    insert = pick({ '"OriginatorConversationID"', '"ConversationID"', '"TransactionID"' }) .. ":"
      .. pick(NOT_IDS) .. ","
  elseif r == 3 then
    local first = text:find("{")
    return text:sub(1, first) .. '"Result":{"ResultCode":' .. pick(ZEROISH) .. ',"ConversationID":"c"},'
      .. text:sub(first + 1)
  elseif r == 4 then
    return (text:gsub('("ResultCode"%s*:%s*)("?[%w_]*"?)', function(k) return k .. pick(ZEROISH) end, 1))
  else
    return '{"ResultCode":' .. pick(ZEROISH) .. ',"ResultDesc":"d","ConversationID":"c",'
      .. '"OriginatorConversationID":' .. pick({ '"o"', pick(NOT_IDS) }) .. "}"
  end
  return text:sub(1, at) .. insert .. text:sub(at + 1)
end

local function generate(i)
  local r = random(100)
  if i <= #NON_STRINGS + 1 then return NON_STRINGS[i - 1], "non-string" end
  if r <= 10 then return forge(pick(FIXTURES)), "forged" end
  if r <= 55 then return mutate(pick(FIXTURES)), "mutated" end
  if r <= 80 then return reshape(pick(FIXTURES)), "reshaped" end
  if r <= 95 then return random_json(1), "random" end
  if r <= 99 then return deep(random(10, 3000)), "deep" end
  local size = random(20) == 1 and random(1000000, 1100000) or random(1000, 40000)
  local unit = pick({ "a", "\255", "\\u0000", "\"" })
  local fill = string.rep(unit, math.floor(size / #unit))
  return '{"Result":{"ResultCode":0,"ConversationID":"' .. fill .. '"}}', "huge"
end

-- The oracle keeps each number as written: { literal = text }.
local NUMBER = {}
local function number(literal) return setmetatable({ literal = literal }, NUMBER) end
local function absent(v) return v == nil or v == strict.null end
local function id_ok(v) return absent(v) or (type(v) == "string" and v ~= "") end
local function present_id(v) return type(v) == "string" and v ~= "" end

-- A failure must be a callback error; a success must come from strict JSON.
-- Returns false for a failure; true and the oracle's decoding for a success.
local function oracle_doc(input, res, err)
  if res == nil then
    assert(type(err) == "table" and err.kind == "callback", "a failure that is not a callback error")
    return false
  end
  if type(input) ~= "string" then return true, input end
  local doc = strict.decode(input, number)
  assert(doc ~= nil, "success for text that is not strict JSON with unique names")
  return true, doc
end

-- What a correct reader may report, from the oracle's decoding.
local function check_result(input, res, err)
  local succeeded, doc = oracle_doc(input, res, err)
  if not succeeded then return false end
  assert(type(doc) == "table" and getmetatable(doc) ~= NUMBER, "success for a non-object")
  local r = doc
  if absent(doc.Result) then
    assert(not absent(doc.ResultDesc), "success for a top-level result without ResultDesc")
  else
    assert(type(doc.Result) == "table" and getmetatable(doc.Result) ~= NUMBER, "success without a Result object")
    assert(absent(doc.ResultCode), "success with a Result object and a top-level ResultCode")
    r = doc.Result
  end
  for _, name in ipairs({ "OriginatorConversationID", "ConversationID", "TransactionID" }) do
    assert(id_ok(r[name]), "success with " .. name .. " not a non-empty string")
  end
  assert(present_id(r.OriginatorConversationID) or present_id(r.ConversationID), "success without an id")
  local code = r.ResultCode
  local ok
  if getmetatable(code) == NUMBER then
    assert(code.literal:match("^%-?%d+$"), "success with ResultCode written " .. code.literal)
    ok = code.literal == "0"
  elseif type(code) == "number" then -- a decoded table given
    ok = code == 0
  else
    assert(type(code) == "string" and code ~= "", "success without a ResultCode")
    ok = code == "0"
  end
  assert(res.ok == ok, "ok does not match ResultCode")
  assert(res.ResultCode == 0 or res.ResultCode == "0" or not res.ok)
  return res.ok
end

local function check_timeout(input, res, err)
  local succeeded, doc = oracle_doc(input, res, err)
  if not succeeded then return false end
  assert(type(doc) == "table" and getmetatable(doc) ~= NUMBER, "success for a non-object")
  local r = type(doc.Result) == "table" and getmetatable(doc.Result) ~= NUMBER and doc.Result or {}
  local ocids = { doc.OriginatorConversationID, r.OriginatorConversationID, doc.originatorConversationID }
  local found
  for i = 1, 3 do
    assert(id_ok(ocids[i]), "success with an OriginatorConversationID that is not a non-empty string")
    if present_id(ocids[i]) then
      assert(found == nil or found == ocids[i], "success with two different OriginatorConversationIDs")
      found = ocids[i]
    end
  end
  assert(found and res.OriginatorConversationID == found, "success without the OriginatorConversationID")
  assert(id_ok(doc.ConversationID) and id_ok(r.ConversationID), "success with a ConversationID not a string")
  return true
end

-- Forgeries reported against earlier versions: each must be refused (or
-- read as a failure), whatever the seed.
local KNOWN = {
  '{"Result":{"ResultCode":1e-400,"ConversationID":"c"}}',
  '{"Result":{"ResultCode":1e-99999999999,"ConversationID":"c"}}',
  '{"Result":{"ResultCode":1,"ConversationID":"c","ResultCode":0}}',
  '{"Result":{"ResultCode":1,"ConversationID":"c"},"Result":{"ResultCode":0,"ConversationID":"c"}}',
  '{"Result":{"ResultCode":1,"ConversationID":"c","Result\\u0043ode":0}}',
  '{"Result":{"ResultCode":0,"OriginatorConversationID":5}}',
  '{"Result":{"ResultCode":0,"OriginatorConversationID":true,"ConversationID":"c"}}',
  '{"Result":{"ResultCode":0,"OriginatorConversationID":1e400}}',
  '{"Result":{"ResultCode":"0 ","ConversationID":"c"}}',
  '{"Result":{"ResultCode":"00","ConversationID":"c"}}',
  '{"Result":{"ResultCode":" 0","ConversationID":"c"}}',
  '{"Result":{"ResultCode":"0.0","ConversationID":"c"}}',
  '{"Result":{"ResultCode":"-0","ConversationID":"c"}}',
  '{"Result":{"ResultCode":"+0","ConversationID":"c"}}',
  '{"Result":{"ResultCode":"0x0","ConversationID":"c"}}',
  '{"Result":{"ResultCode":-0,"ConversationID":"c"}}',
  '{"Result":{"ResultCode":0.0,"ConversationID":"c"}}',
  '{"ResultCode":1e-400,"ResultDesc":"d","ConversationID":"c"}',
}

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
    print(("\n    hostile callbacks: %d cases (seed %d, B2C_HOSTILE_SEED; %s): %d successful results (ok), %d refused; "
      .. "%d queue timeouts read"):format(stats.cases, SEED, table.concat(kinds, ", "), stats.ok,
      stats.failed, stats.timeouts))
    assert.are.equal(CASES, stats.cases)
  end)

  it("never reads a known forgery as success (whatever the seed)", function()
    for _, body in ipairs(KNOWN) do
      local res, err = b2c.parseDarajaResult(body)
      if res then assert.is_false(res.ok, body) end
      local fine, why = pcall(check_result, body, res, err)
      assert(fine, body .. ": " .. tostring(why))
      res, err = b2c.parseQueueTimeout(body)
      fine, why = pcall(check_timeout, body, res, err)
      assert(fine, body .. ": " .. tostring(why))
    end
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
