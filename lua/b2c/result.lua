-- Reading what Daraja POSTs back: result callbacks and queue-timeout
-- notifications. Nothing here raises on bad input: a payload that is not
-- what it should be is `nil, err` with kind "callback".
local core = require("b2c.core")
local json = require("b2c.json")
local errors = require("b2c.errors")
local as_integer = require("b2c.validate").as_integer

-- Locals, not globals: this file runs per callback, at volume.
local type, tostring = type, tostring

local result = {}

local MAX_BODY = 1024 * 1024

local function callback_error(message)
  return errors.new("callback", message)
end

-- lua-cjson is lenient where a payment result must not be: it reads 0x0,
-- 1., 01, NaN and Infinity as numbers, takes raw control characters inside
-- strings and passes invalid UTF-8 through. A callback whose text is not
-- strict JSON (RFC 8259) is refused before it is decoded; the check is the
-- core's scanner, in C, so it costs about as much as a second decode would
-- not.
local function decode(body)
  if type(body) == "table" then return body end
  if type(body) ~= "string" then
    return nil, callback_error("callback body must be JSON text or a decoded table (got "
      .. type(body) .. ")")
  end
  if #body > MAX_BODY then return nil, callback_error("callback body is larger than 1 MiB") end
  if not core.json_valid(body) then
    return nil, callback_error("callback body is not strict JSON (RFC 8259, UTF-8)")
  end
  local doc = json.decode(body)
  if type(doc) ~= "table" then return nil, callback_error("callback body is not a JSON object") end
  return doc
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

-- b2c.parseDarajaResult(body) -> result | nil, err
function result.parse(body)
  local doc, err = decode(body)
  if not doc then return nil, err end
  local r = doc.Result
  if type(r) ~= "table" then return nil, callback_error("callback has no Result object") end
  local ocid, conversation = text(r.OriginatorConversationID), text(r.ConversationID)
  if not ocid and not conversation then
    return nil, callback_error("Result has neither OriginatorConversationID nor ConversationID")
  end
  local code = r.ResultCode
  if type(code) == "number" then
    code = as_integer(code)
  elseif type(code) ~= "string" or code == "" then
    return nil, callback_error("Result has no ResultCode")
  end
  return {
    ok = code == 0 or code == "0",
    ResultCode = code,
    ResultType = value(r.ResultType),
    ResultDesc = text(r.ResultDesc),
    OriginatorConversationID = ocid,
    ConversationID = conversation,
    TransactionID = text(r.TransactionID),
    parameters = items(nested(r, "ResultParameters", "ResultParameter")),
    referenceData = items(nested(r, "ReferenceData", "ReferenceItem")),
    raw = doc,
  }
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
-- and find the OCID at the top level or under Result.
function result.parse_queue_timeout(body)
  local doc, err = decode(body)
  if not doc then return nil, err end
  local r = type(doc.Result) == "table" and doc.Result or {}
  local ocid = text(doc.OriginatorConversationID) or text(r.OriginatorConversationID)
    or text(doc.originatorConversationID)
  if not ocid then
    return nil, callback_error("queue timeout notification has no OriginatorConversationID")
  end
  return {
    OriginatorConversationID = ocid,
    ConversationID = text(doc.ConversationID) or text(r.ConversationID),
    raw = doc,
  }
end

return result
