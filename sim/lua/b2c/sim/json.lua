-- JSON for the simulator.
--
-- Decoding goes through a private lua-cjson instance (global cjson settings
-- are never touched).  Encoding is done here because the simulator needs two
-- things cjson cannot do: keep the key order Daraja uses, and write numbers
-- exactly as Daraja does ("8959269.60", "-1980.00").
local cjson = require("cjson.safe").new()

local M = {}

M.null = cjson.null

local RAW = {}      -- metatable marking a raw JSON fragment
local ARRAY = {}    -- metatable marking a table to encode as an array
local ORDERED = {}  -- metatable marking an ordered object

--- A JSON fragment written as is (e.g. a number with trailing zeros).
function M.raw(text)
  return setmetatable({ text = text }, RAW)
end

--- A number written with exactly two decimals, as Daraja writes balances.
function M.money(cents)
  local sign = cents < 0 and "-" or ""
  cents = math.abs(cents)
  return M.raw(string.format("%s%d.%02d", sign, cents // 100, cents % 100))
end

--- Mark a table as an array (so that an empty one is written as []).
function M.array(t)
  return setmetatable(t or {}, ARRAY)
end

--- An object whose keys are written in the given order.
-- `list` is a sequence of {key, value} pairs; a pair whose value is nil is
-- left out.
function M.object(list)
  return setmetatable({ list = list }, ORDERED)
end

--- Decode JSON text. Returns the value, or nil and a message.
function M.decode(text)
  if type(text) ~= "string" then
    return nil, "not a string"
  end
  local value, err = cjson.decode(text)
  if value == nil then
    return nil, err or "invalid JSON"
  end
  return value
end

local escapes = {
  ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
}

local function quote(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return escapes[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end
M.quote = quote

local function number(n)
  if math.type(n) == "integer" then
    return string.format("%d", n)
  end
  if n ~= n or n == math.huge or n == -math.huge then
    return "null"
  end
  local i = math.tointeger(n)
  if i and math.abs(n) < 2 ^ 53 then
    return string.format("%d", i)
  end
  return string.format("%.17g", n)
end

local encode

local function is_sequence(t)
  local n = #t
  if n == 0 then
    return false
  end
  local count = 0
  for _ in pairs(t) do
    count = count + 1
  end
  return count == n
end

encode = function(v, out, depth)
  if depth > 64 then
    error("json: nesting too deep")
  end
  local tv = type(v)
  if v == nil or v == M.null then
    out[#out + 1] = "null"
  elseif tv == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif tv == "number" then
    out[#out + 1] = number(v)
  elseif tv == "string" then
    out[#out + 1] = quote(v)
  elseif tv == "table" then
    local mt = getmetatable(v)
    if mt == RAW then
      out[#out + 1] = v.text
    elseif mt == ORDERED then
      out[#out + 1] = "{"
      local first = true
      for _, kv in ipairs(v.list) do
        if kv[2] ~= nil then
          if not first then
            out[#out + 1] = ","
          end
          first = false
          out[#out + 1] = quote(tostring(kv[1]))
          out[#out + 1] = ":"
          encode(kv[2], out, depth + 1)
        end
      end
      out[#out + 1] = "}"
    elseif mt == ARRAY or is_sequence(v) then
      out[#out + 1] = "["
      for i = 1, #v do
        if i > 1 then
          out[#out + 1] = ","
        end
        encode(v[i], out, depth + 1)
      end
      out[#out + 1] = "]"
    else
      local keys = {}
      for k in pairs(v) do
        keys[#keys + 1] = tostring(k)
      end
      table.sort(keys)
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then
          out[#out + 1] = ","
        end
        local value = v[k]
        if value == nil then
          value = v[tonumber(k)]
        end
        out[#out + 1] = quote(k)
        out[#out + 1] = ":"
        encode(value, out, depth + 1)
      end
      out[#out + 1] = "}"
    end
  else
    error("json: cannot encode a " .. tv)
  end
end

--- Encode a value to JSON text.
function M.encode(v)
  local out = {}
  encode(v, out, 0)
  return table.concat(out)
end

return M
