-- Rules for Daraja's request fields, as the simulator checks them. Each
-- rule takes a decoded JSON value and says whether it is acceptable (some
-- return the value read, e.g. whole_amount).
local json = require("b2c.sim.json")
local util = require("b2c.sim.util")
local http = require("b2c.sim.http")

local M = {}

-- Text of a string, or of a whole number (JSON numbers arrive as floats).
function M.as_text(v)
  if type(v) == "string" then
    return v
  end
  if type(v) == "number" then
    local i = math.tointeger(v)
    if i then
      return string.format("%d", i)
    end
  end
  return nil
end
local as_text = M.as_text

local function text_len(s)
  return utf8.len(s) or #s
end

function M.is_name(v, max)
  return type(v) == "string" and #v >= 1 and text_len(v) <= max and not v:find("%c")
end

function M.whole_amount(v)
  local n
  if type(v) == "number" then
    n = math.tointeger(v)
  elseif type(v) == "string" and v:match("^%d+$") and #v <= 15 then
    n = math.tointeger(tonumber(v))
  end
  if n and n > 0 then
    return n
  end
  return nil
end

-- Daraja publishes no length for a shortcode (sandbox ones have 6 digits):
-- 5-10 digits, the rule b2c.new applies to shortCode.
function M.is_shortcode(v)
  local s = as_text(v)
  return s ~= nil and s:match("^%d+$") ~= nil and #s >= 5 and #s <= 10
end

function M.msisdn(v)
  local s = as_text(v)
  if s and (s:match("^2547%d%d%d%d%d%d%d%d$") or s:match("^2541%d%d%d%d%d%d%d%d$")) then
    return s
  end
  return nil
end

local function is_remarks(v)
  local s = as_text(v)
  return s ~= nil and text_len(s) >= 2 and text_len(s) <= 100
end

local function is_url(v)
  return type(v) == "string" and #v <= 1024 and http.parse_url(v) ~= nil
end

function M.is_occasion(v)
  if v == nil or v == json.null then
    return true
  end
  local s = as_text(v)
  return s ~= nil and text_len(s) <= 100
end

function M.is_identifier_type(v)
  local s = as_text(v)
  return s == "1" or s == "2" or s == "4"
end

function M.is_credential(v)
  return util.is_base64(v) and #v <= 4096
end

function M.initiator(v)
  return M.is_name(v, 100)
end

--- The first field of body whose rule fails, for rules given as
-- { field, rule, field, rule, ... }; nil when every one holds.
function M.first_bad(body, rules)
  for i = 1, #rules, 2 do
    if not rules[i + 1](body[rules[i]]) then
      return rules[i]
    end
  end
  return nil
end

--- The fields every request with a result callback ends with.
M.CALLBACK_RULES = {
  "Remarks", is_remarks, "QueueTimeOutURL", is_url, "ResultURL", is_url, "Occasion", M.is_occasion,
}

--- A field that has a spelling with a space in Daraja's own samples.
function M.field(body, name, spaced)
  local v = body[name]
  if v == nil then
    v = body[spaced]
  end
  return v
end

--- The text of a value, nil when empty or not text.
function M.nonempty(v)
  local s = as_text(v)
  if s and s ~= "" then
    return s
  end
  return nil
end

return M
