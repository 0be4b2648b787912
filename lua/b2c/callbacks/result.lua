-- Reading what Daraja POSTs back: result callbacks and queue-timeout
-- notifications. Nothing here raises on bad input: a payload that is not
-- what it should be is `nil, err` with kind "callback".
local core = require("b2c.core")
local json = require("b2c.json")
local errors = require("b2c.errors")
local events = require("b2c.events")
local as_integer = require("b2c.fields").as_integer

-- Locals, not globals: this file runs per callback, at volume.
local type, tostring = type, tostring

local result = {}

local MAX_BODY = 1024 * 1024
local MAX_DEPTH = 32 -- as the core's scanner

local function callback_error(message, field)
  return errors.new("callback", message, field and { field = field } or nil)
end

-- Present, and not JSON null.
local function given(v) return v ~= nil and v ~= json.null end

-- A name from the callback, fit for an error message and a log line:
-- printable ASCII only, at most 64 bytes.
local function shown(name)
  local s = name:sub(1, 64):gsub("[^ -~]", "?")
  return '"' .. s .. (#name > 64 and '..."' or '"')
end

-- A decoded table from the caller, copied with raw access (next, type):
-- no metamethod runs, so reading it cannot raise. Only strings, numbers,
-- booleans and tables are kept (JSON null is absent). A table met twice
-- (shared or cyclic) is copied once, so the work stays linear; nil when
-- nested deeper than the scanner allows.
local function plain(t, depth, copies)
  if depth > MAX_DEPTH then return nil end
  local out = {}
  copies[t] = out
  local k, v = next(t)
  while k ~= nil do
    local kt, vt = type(k), type(v)
    if kt == "string" or kt == "number" then
      if vt == "table" then
        local copy = copies[v] or plain(v, depth + 1, copies)
        if copy == nil then return nil end
        out[k] = copy
      elseif vt == "string" or vt == "number" or vt == "boolean" then
        out[k] = v
      end
    end
    k, v = next(t, k)
  end
  return out
end

-- lua-cjson is lenient where a payment result must not be: it reads 0x0,
-- 1., 01, NaN and Infinity as numbers, takes raw control characters inside
-- strings, passes invalid UTF-8 through and keeps the last of repeated
-- names. A callback whose text is not strict JSON (RFC 8259) with unique
-- names in every object (compared decoded: "Result\u0043ode" repeats
-- "ResultCode") is refused before it is decoded; the check is the core's
-- scanner, in C.
local function decode(body)
  if type(body) == "table" then
    local doc = plain(body, 1, {})
    if not doc then
      return nil, callback_error("callback table is nested deeper than " .. MAX_DEPTH .. " levels")
    end
    return doc
  end
  if type(body) ~= "string" then
    return nil, callback_error("callback body must be JSON text or a decoded table (got "
      .. type(body) .. ")")
  end
  if #body > MAX_BODY then return nil, callback_error("callback body is larger than 1 MiB") end
  local valid, why, name = core.json_valid(body)
  if not valid then
    if why == "duplicate" then
      return nil, callback_error("callback body names " .. shown(name) .. " twice in one object "
        .. "(a repeated key is refused: readers disagree on which one counts)", "body")
    elseif why == "memory" then
      return nil, callback_error("callback body could not be checked: out of memory")
    end
    return nil, callback_error("callback body is not strict JSON (RFC 8259, UTF-8)")
  end
  local doc = json.decode(body)
  if type(doc) ~= "table" then return nil, callback_error("callback body is not a JSON object") end
  return doc
end

-- Ids must be non-empty strings when present (JSON null is absent): a
-- number such as 1e400 has no single text to match a record against.
local function id(t, name, where)
  local v = t[name]
  if not given(v) then return true, nil end
  if type(v) == "string" and v ~= "" then return true, v end
  local field = where .. name
  return false, callback_error(field .. " must be a non-empty string (got "
    .. (type(v) == "string" and "an empty one" or type(v)) .. ")", field)
end

-- A numeric ResultCode counts only as an integer written as one: 1e-400,
-- 1e-99999999999, 0.0 and -0 decode to 0 but do not say 0. From a table
-- (no text) it must be a whole finite number.
local function integer_code(v, literal)
  if literal == "0" then return 0 end -- the usual case
  if literal then
    if not literal:find("^%-?%d+$") or literal == "-0" or ("%.0f"):format(v) ~= literal then
      return nil
    end
  elseif v ~= v or v % 1 ~= 0 then
    return nil
  end
  return as_integer(v)
end

local function text(v)
  if type(v) == "string" and v ~= "" then return v end
  if type(v) == "number" then return tostring(as_integer(v)) end
  return nil
end

-- Values keep their type; whole numbers become integers where Lua has them.
local function value(v)
  if type(v) == "number" then return as_integer(v) end
  if type(v) == "string" or type(v) == "boolean" then return v end
  return nil -- absent, JSON null, or a nested structure
end

-- Every item is { Key = string, Value = string | number | absent }: the
-- usual case. Whole-number Values become integers in place.
local function well_formed(list)
  for i = 1, #list do
    local item = list[i]
    if type(item) ~= "table" or type(item.Key) ~= "string" then return false end
    local v = item.Value
    local kind = type(v)
    if kind == "number" then
      item.Value = as_integer(v)
    elseif kind ~= "string" and v ~= nil then
      return false
    end
  end
  return true
end

-- {Key, Value} items from a single object or an array of them. A
-- well-formed decoded array is returned as it is (callbacks are parsed at
-- volume: no copy). Otherwise items without a Key (old SDKs read "Name")
-- are skipped and nested Values dropped.
local function items(list)
  if type(list) ~= "table" then return {} end
  if list.Key ~= nil or list.Name ~= nil then list = { list } end
  if well_formed(list) then return list end
  local out, n = {}, 0
  for i = 1, #list do
    local item = list[i]
    if type(item) == "table" then
      local key = item.Key
      if key == nil then key = item.Name end
      if type(key) == "string" then
        n = n + 1
        out[n] = { Key = key, Value = value(item.Value) }
      end
    end
  end
  return out
end

local function nested(t, outer, inner)
  local o = type(t) == "table" and t[outer]
  return type(o) == "table" and o[inner] or nil
end

-- The result fields: under Result, or at the top level as in a real
-- production Account Balance failure (ResultCode, ResultDesc and an id
-- there, no Result). Returns the object and the path to its ResultCode.
local function result_fields(doc)
  local r = doc.Result
  if not given(r) then
    if given(doc.ResultCode) and given(doc.ResultDesc)
      and (given(doc.ConversationID) or given(doc.OriginatorConversationID)) then
      return doc, "", "ResultCode"
    end
    return nil, callback_error("callback has no Result object")
  end
  if type(r) ~= "table" then
    return nil, callback_error("callback has no Result object (Result is a " .. type(r) .. ")", "Result")
  end
  if given(doc.ResultCode) then
    return nil, callback_error("callback has both a Result object and a top-level ResultCode",
      "ResultCode")
  end
  return r, "Result.", "Result", "ResultCode"
end

-- With options.events (a function, b2c.events), each parse reports
-- callback.read or callback.refused to it.
local function report(name, body, options, parsed, err)
  if options == nil then return parsed, err end
  if type(options) ~= "table" then error("b2c." .. name .. ": options must be a table", 3) end
  local hook = options.events
  if hook == nil then return parsed, err end
  if type(hook) ~= "function" then error("b2c." .. name .. ": options.events must be a function", 3) end
  local callback = name == "parseQueueTimeout" and "queueTimeout" or "result"
  if parsed then
    events.deliver(hook, { name = "callback.read", callback = callback,
      ocid = parsed.OriginatorConversationID, conversationId = parsed.ConversationID,
      resultCode = parsed.ResultCode, ok = parsed.ok })
  else
    -- the OCID the refused body seems to carry, if any: unverified, cut short
    local ocid = type(body) == "string" and body:match('"OriginatorConversationID"%s*:%s*"([^"]*)"')
    events.deliver(hook, { name = "callback.refused", callback = callback,
      ocid = ocid and ocid:sub(1, 64), reason = err.message, field = err.field })
  end
  return parsed, err
end

-- b2c.parseDarajaResult(body) -> result | nil, err
local function parse(body)
  local doc, err = decode(body)
  if not doc then return nil, err end
  local r, where, k1, k2 = result_fields(doc)
  if not r then return nil, where end
  local fine, ocid, conversation, transaction
  fine, ocid = id(r, "OriginatorConversationID", where)
  if not fine then return nil, ocid end
  fine, conversation = id(r, "ConversationID", where)
  if not fine then return nil, conversation end
  fine, transaction = id(r, "TransactionID", where)
  if not fine then return nil, transaction end
  if not ocid and not conversation then
    return nil, callback_error("Result has neither OriginatorConversationID nor ConversationID")
  end
  local code = r.ResultCode
  if type(code) == "number" then
    local literal -- the number as written, when there is text
    if type(body) == "string" then
      if k2 then literal = core.json_literal(body, k1, k2) else literal = core.json_literal(body, k1) end
    end
    code = integer_code(code, literal)
    if not code then
      return nil, callback_error(where .. "ResultCode must be an integer written without a fraction "
        .. "or exponent, or a string", where .. "ResultCode")
    end
  elseif type(code) ~= "string" or code == "" then
    return nil, callback_error("Result has no ResultCode", where .. "ResultCode")
  end
  return {
    -- success is the exact code 0 or "0": never "00", "0 " or 0.0
    ok = code == 0 or code == "0",
    ResultCode = code,
    ResultType = value(r.ResultType),
    ResultDesc = text(r.ResultDesc),
    OriginatorConversationID = ocid,
    ConversationID = conversation,
    TransactionID = transaction,
    parameters = items(nested(r, "ResultParameters", "ResultParameter")),
    referenceData = items(nested(r, "ReferenceData", "ReferenceItem")),
    raw = doc,
  }
end

-- b2c.parseDarajaResult(body[, { events = hook }])
function result.parse(body, options)
  return report("parseDarajaResult", body, options, parse(body))
end

-- b2c.getResultParametersMap(result) -> { Key = Value, ... }
-- Takes a parsed result, or a decoded callback / Result table. When a key
-- repeats, the first value is kept; items without a value are left out.
function result.parameters_map(res)
  if type(res) ~= "table" then
    error("b2c.getResultParametersMap: expected a result table, got " .. type(res), 2)
  end
  local list = res.parameters
  if type(list) ~= "table" then
    local r = type(res.Result) == "table" and res.Result or res
    list = items(nested(r, "ResultParameters", "ResultParameter"))
  end
  local map = {}
  for i = 1, #list do
    local item = list[i]
    if map[item.Key] == nil and item.Value ~= nil then map[item.Key] = item.Value end
  end
  return map
end

-- b2c.parseQueueTimeout(body) -> { OriginatorConversationID, ConversationID, raw } | nil, err
-- No verified capture of this notification exists: accept any JSON object
-- and find the OCID at the top level or under Result. Every id present
-- must be a non-empty string, and where one is given twice the two agree.
local function one_id(doc, r, names)
  local found, from
  for i = 1, #names do
    local t, where = doc, ""
    if names[i]:sub(1, 7) == "Result." then t, where = r, "Result." end
    local name = names[i]:sub(#where + 1)
    local fine, v = id(t, name, where)
    if not fine then return false, v end
    if v and found and v ~= found then
      return false, callback_error("queue timeout notification names two different ids: " .. from
        .. " and " .. names[i], names[i])
    end
    if v and not found then found, from = v, names[i] end
  end
  return true, found
end

local function parse_queue_timeout(body)
  local doc, err = decode(body)
  if not doc then return nil, err end
  local r = type(doc.Result) == "table" and doc.Result or {}
  local fine, ocid = one_id(doc, r, { "OriginatorConversationID", "Result.OriginatorConversationID",
    "originatorConversationID" })
  if not fine then return nil, ocid end
  if not ocid then
    return nil, callback_error("queue timeout notification has no OriginatorConversationID")
  end
  local conversation
  fine, conversation = one_id(doc, r, { "ConversationID", "Result.ConversationID" })
  if not fine then return nil, conversation end
  return {
    OriginatorConversationID = ocid,
    ConversationID = conversation,
    raw = doc,
  }
end

-- b2c.parseQueueTimeout(body[, { events = hook }])
function result.parse_queue_timeout(body, options)
  return report("parseQueueTimeout", body, options, parse_queue_timeout(body))
end

return result
