-- Input rules. Each checker returns the cleaned value, or nil and the rule
-- that was broken (phrased to follow "<field>: ").
local errors = require("b2c.errors")

local fields = {}

-- Locals, not globals: these checks run for every payout.
local type, floor, huge = type, math.floor, math.huge

local function is_whole(n)
  return n == n and n ~= huge and n ~= -huge and n == floor(n)
end

-- Whole numbers are sent as integers where the Lua has them (5.3+).
local tointeger = math.tointeger -- luacheck: ignore 143 (nil on 5.1 and LuaJIT)
local function as_integer(n)
  return tointeger and tointeger(n) or n
end
fields.as_integer = as_integer

-- Counts UTF-8 characters; nil when the bytes are not valid UTF-8.
local function utf8_length(s)
  local count, i, n = 0, 1, #s
  while i <= n do
    local c = s:byte(i)
    local extra
    if c < 0x80 then extra = 0
    elseif c >= 0xC2 and c <= 0xDF then extra = 1
    elseif c >= 0xE0 and c <= 0xEF then extra = 2
    elseif c >= 0xF0 and c <= 0xF4 then extra = 3
    else return nil end
    for k = i + 1, i + extra do
      local b = s:byte(k)
      if not b or b < 0x80 or b > 0xBF then return nil end
    end
    i = i + extra + 1
    count = count + 1
  end
  return count
end

local PHONE_RULE = "must be a Safaricom mobile number: 07XXXXXXXX, 01XXXXXXXX, "
  .. "2547XXXXXXXX, 2541XXXXXXXX or +254 7XX XXX XXX"

-- Normalises to 2547XXXXXXXX / 2541XXXXXXXX; spaces and dashes are allowed.
function fields.phone(value)
  if type(value) == "number" and is_whole(value) and value > 0 then
    value = string.format("%.0f", value)
  end
  if type(value) ~= "string" then return nil, PHONE_RULE end
  local s = value
  if s:find("[ %-]") then s = s:gsub("[ %-]", "") end
  local national = s:match("^0?([17]%d%d%d%d%d%d%d%d)$")
    or s:match("^%+?254([17]%d%d%d%d%d%d%d%d)$")
  if not national then return nil, PHONE_RULE end
  return "254" .. national
end

-- A whole number of shillings within [min, max]; never rounded.
function fields.amount(value, min, max)
  local n
  if type(value) == "number" then
    if not is_whole(value) then
      return nil, "must be a whole number of shillings (got " .. tostring(value) .. ")"
    end
    n = value
  elseif type(value) == "string" then
    if not (value:match("^%d+$") or value:match("^%d+%.0+$")) then
      return nil, "must be a whole number of shillings (got '" .. value:sub(1, 32) .. "')"
    end
    n = tonumber(value)
  else
    return nil, "must be a whole number of shillings (a number or a digit string)"
  end
  if n < min or n > max then
    return nil, string.format("must be between %d and %d shillings (got %.0f)", min, max, n)
  end
  return as_integer(n)
end

-- Free text: min..max characters of valid UTF-8, no control characters.
function fields.text(value, min, max)
  if type(value) ~= "string" then return nil, "must be a string" end
  local len = #value -- printable ASCII, the usual case: bytes are characters
  if value:find("[%z\1-\31\127-\255]") then
    len = utf8_length(value)
    if not len then return nil, "must be valid UTF-8" end
    if value:find("[%z\1-\31\127]") then return nil, "must not contain control characters" end
  end
  if len < min or len > max then
    return nil, string.format("must be %d to %d characters (got %d)", min, max, len)
  end
  return value
end

-- An absolute http(s) URL; https only when requireHttps.
function fields.url(value, requireHttps)
  if type(value) ~= "string" then return nil, "must be an absolute http(s) URL" end
  if #value > 2048 then return nil, "must be at most 2048 characters" end
  local scheme, host = value:match("^(https?)://([^/?#]+)")
  -- Characters RFC 3986 never allows unencoded (quotes, angle brackets,
  -- backslash...) are refused too: they only appear in injection attempts.
  if not scheme or value:find("[%s%z\1-\31\127\"<>\\^`{|}]") or host:find("^[:@]") then
    return nil, "must be an absolute http(s) URL"
  end
  if requireHttps and scheme ~= "https" then
    return nil, "must use https in production"
  end
  return value
end

-- A callback URL: the request's own (checked here), else the client's
-- default (checked once by b2c.new).
function fields.callback_url(own, default, requireHttps)
  if own == nil then
    if default == nil then return nil, "is required (here or in b2c.new)" end
    return default
  end
  return fields.url(own, requireHttps)
end

local COMMANDS = { BusinessPayment = true, SalaryPayment = true, PromotionPayment = true }

function fields.command(value)
  if COMMANDS[value] then return value end
  return nil, "must be BusinessPayment, SalaryPayment or PromotionPayment"
end

-- M-Pesa receipts: letters and digits (10 in practice, e.g. SG632NMUAB).
function fields.receipt(value)
  if type(value) ~= "string" or not value:match("^%w+$") or #value > 32 then
    return nil, "must be an M-Pesa receipt: 1-32 letters and digits (e.g. SG632NMUAB)"
  end
  return value
end

-- A pay bill, till or B2C shortcode: 5-10 digits (as b2c.new's shortCode).
function fields.shortcode(value)
  if type(value) == "number" and value >= 0 and is_whole(value) and value < 1e10 then
    value = string.format("%.0f", value)
  end
  if type(value) ~= "string" or not value:match("^%d+$") or #value < 5 or #value > 10 then
    return nil, "must be a shortcode: 5-10 digits"
  end
  return value
end

-- Daraja's B2B AccountReference: "up to 13 characters".
function fields.account_reference(value)
  if type(value) == "number" and value >= 0 and is_whole(value) and value < 1e13 then
    value = string.format("%.0f", value)
  end
  return fields.text(value, 1, 13)
end

-- Caller-made idempotency keys: 1-128 characters of [A-Za-z0-9._:-].
function fields.conversation_id(value)
  if type(value) ~= "string" or #value < 1 or #value > 128 or not value:match("^[%w%._:%-]+$") then
    return nil, "must be 1-128 characters of letters, digits and . _ : -"
  end
  return value
end

-- The caller's own reference for a payout (kept with its outcome, never
-- sent): a number, or 1-128 characters of text without control characters.
function fields.reference(value)
  if value == nil then return nil end
  if type(value) == "number" then
    if value ~= value or value == huge or value == -huge then return nil, "must be a finite number" end
    return value
  end
  if type(value) ~= "string" then return nil, "must be a string or a number" end
  return fields.text(value, 1, 128)
end

function fields.whole(value, min, max)
  if type(value) ~= "number" or not is_whole(value) or value < min or value > max then
    return nil, string.format("must be a whole number from %d to %d", min, max)
  end
  return as_integer(value)
end

-- An error for the first key of t that is not in known (typos never pass).
function fields.unknown_field(t, known, what)
  for k in pairs(t) do
    if not known[k] then
      return errors.validation(tostring(k), "is not a " .. what .. " field")
    end
  end
end

return fields
