-- Daraja's request fields as an operation declares them (op.wire), and the
-- check of a request body against them. The simulator answers a request
-- with "Bad Request - Invalid <field>" for the first field this finds, and
-- the specs hold every body op.build makes to the same rules: they live
-- once, here and in the operation modules.
--
-- A wire entry: { "Field", kind, ...options }
--   kind        credential | name | values | amount | shortcode | msisdn |
--               text | url | receipt | ocid
--   values      the accepted texts (kind "values"; numbers are compared as text)
--   min, max    lengths (name, text)
--   optional    true: absent (or JSON null) is fine
--   unless      absent is fine when this other field is given (Transaction
--               Status: TransactionID unless OriginalConversationID)
--   alias       another spelling Daraja's own samples use ("Command ID")
local fields = require("b2c.fields")

local wire = {}

-- Text of a string, or of a whole number (JSON numbers may decode as floats).
local function as_text(v)
  if type(v) == "string" then return v end
  if type(v) == "number" and v == v and v % 1 == 0 and v > -1e15 and v < 1e15 then
    return string.format("%.0f", v)
  end
  return nil
end
wire.as_text = as_text

local KINDS = {
  credential = function(v)
    return type(v) == "string" and #v > 0 and #v <= 4096 and #v % 4 == 0
      and v:match("^[A-Za-z0-9+/]+=?=?$") ~= nil
  end,
  name = function(v, e)
    return type(v) == "string" and fields.text(v, 1, e.max or 100) ~= nil
  end,
  values = function(v, e)
    local s = as_text(v)
    for _, ok in ipairs(e.values) do
      if s == ok then return true end
    end
    return false
  end,
  amount = function(v)
    local s = as_text(v)
    return s ~= nil and #s <= 15 and s:match("^%d+$") ~= nil and s:match("^0+$") == nil
  end,
  shortcode = function(v)
    local s = as_text(v)
    return s ~= nil and s:match("^%d+$") ~= nil and #s >= 5 and #s <= 10
  end,
  msisdn = function(v)
    local s = as_text(v)
    return s ~= nil and (s:match("^2547%d%d%d%d%d%d%d%d$") or s:match("^2541%d%d%d%d%d%d%d%d$")) ~= nil
  end,
  text = function(v, e)
    local s = as_text(v)
    return s ~= nil and fields.text(s, e.min or 1, e.max or 100) ~= nil
  end,
  url = function(v)
    return type(v) == "string" and #v <= 1024 and fields.url(v, false) ~= nil
  end,
  receipt = function(v)
    return type(v) == "string" and #v <= 32 and v:match("^%w+$") ~= nil
  end,
  ocid = function(v)
    return type(v) == "string" and fields.text(v, 1, 128) ~= nil
  end,
}
wire.KINDS = KINDS

-- JSON null (cjson.null, a light userdata) counts as absent.
local function absent(v)
  return v == nil or type(v) == "userdata"
end

-- The value of an entry's field in body, under its name or its alias.
function wire.value(body, e)
  local v = body[e[1]]
  if v == nil and e.alias then v = body[e.alias] end
  return v
end

-- The name of the first field of body that breaks its entry, or nil.
function wire.check(body, entries)
  for _, e in ipairs(entries) do
    local v = wire.value(body, e)
    if absent(v) then
      if not (e.optional or (e.unless and not absent(body[e.unless]))) then return e[1] end
    elseif not KINDS[e[2]](v, e) then
      return e[1]
    end
  end
  return nil
end

return wire
