-- A strict RFC 8259 JSON decoder, written independently of the SDK, as the
-- oracle of the generative specs: decode(text[, number]) -> value | nil, why.
-- Objects and arrays become tables; null becomes M.null. Text must be UTF-8
-- (no overlong forms, no surrogates encoded directly), and an object may
-- not name a member twice (names compared decoded). number, when given,
-- turns each number's text into its value (default: tonumber).
local M = {}
M.null = setmetatable({}, { __tostring = function() return "null" end })

local MAX_DEPTH = 1000

local function utf8_char(cp)
  if cp < 0x80 then return string.char(cp) end
  if cp < 0x800 then return string.char(0xC0 + math.floor(cp / 64), 0x80 + cp % 64) end
  if cp < 0x10000 then
    return string.char(0xE0 + math.floor(cp / 4096), 0x80 + math.floor(cp / 64) % 64, 0x80 + cp % 64)
  end
  return string.char(0xF0 + math.floor(cp / 262144), 0x80 + math.floor(cp / 4096) % 64,
    0x80 + math.floor(cp / 64) % 64, 0x80 + cp % 64)
end

-- Length of the valid UTF-8 sequence starting at byte i, or nil.
local function utf8_seq(s, i)
  local c = s:byte(i)
  local n, lo, hi
  if c < 0x80 then return 1
  elseif c >= 0xC2 and c <= 0xDF then n, lo, hi = 1, 0x80, 0xBF
  elseif c == 0xE0 then n, lo, hi = 2, 0xA0, 0xBF
  elseif c == 0xED then n, lo, hi = 2, 0x80, 0x9F
  elseif c >= 0xE1 and c <= 0xEF then n, lo, hi = 2, 0x80, 0xBF
  elseif c == 0xF0 then n, lo, hi = 3, 0x90, 0xBF
  elseif c >= 0xF1 and c <= 0xF3 then n, lo, hi = 3, 0x80, 0xBF
  elseif c == 0xF4 then n, lo, hi = 3, 0x80, 0x8F
  else return nil end
  local b = s:byte(i + 1)
  if not b or b < lo or b > hi then return nil end
  for k = i + 2, i + n do
    b = s:byte(k)
    if not b or b < 0x80 or b > 0xBF then return nil end
  end
  return n + 1
end

local decode_value

local function skip(s, i)
  return s:find("[^ \t\n\r]", i) or #s + 1
end

local function decode_string(s, i) -- s:sub(i, i) == '"'
  local out, j = {}, i + 1
  while true do
    local k = s:find('[%z\1-\31"\\\128-\255]', j) -- the next byte that is not plain
    if not k then return nil, "unterminated string" end
    if k > j then
      out[#out + 1] = s:sub(j, k - 1)
      j = k
    end
    local c = s:byte(j)
    if not c then return nil, "unterminated string" end
    if c == 34 then return table.concat(out), j + 1 end
    if c < 0x20 then return nil, "control character in string" end
    if c == 92 then
      local e = s:sub(j + 1, j + 1)
      local simple = ({ ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n",
        r = "\r", t = "\t" })[e]
      if simple then
        out[#out + 1] = simple
        j = j + 2
      elseif e == "u" then
        local hex = s:match("^%x%x%x%x", j + 2)
        if not hex then return nil, "bad \\u escape" end
        local cp = tonumber(hex, 16)
        j = j + 6
        if cp >= 0xD800 and cp <= 0xDBFF then
          local low = s:match("^\\u(%x%x%x%x)", j)
          local lcp = low and tonumber(low, 16)
          if lcp and lcp >= 0xDC00 and lcp <= 0xDFFF then
            cp = 0x10000 + (cp - 0xD800) * 1024 + (lcp - 0xDC00)
            j = j + 6
          else
            cp = 0xFFFD -- a lone surrogate is grammatical JSON
          end
        elseif cp >= 0xDC00 and cp <= 0xDFFF then
          cp = 0xFFFD
        end
        out[#out + 1] = utf8_char(cp)
      else
        return nil, "bad escape"
      end
    else
      local n = utf8_seq(s, j)
      if not n then return nil, "invalid UTF-8" end
      out[#out + 1] = s:sub(j, j + n - 1)
      j = j + n
    end
  end
end

local function decode_number(s, i, number)
  local text = s:match("^%-?%d+%.?%d*[eE]?[%+%-]?%d*", i)
  if not text then return nil, "bad number" end
  local int, frac, exp = text:match("^%-?(%d+)(%.?%d*)([eE]?[%+%-]?%d*)$")
  if not int or (#int > 1 and int:sub(1, 1) == "0") or frac == "." or
    (exp ~= "" and not exp:match("^[eE][%+%-]?%d+$")) then
    return nil, "bad number"
  end
  if number then return number(text), i + #text end
  local value = tonumber(text)
  if value == nil then
    -- LuaJIT's tonumber gives up on exponents of many digits (1e4002001),
    -- which the grammar allows: such a number is 0 or infinite.
    local mantissa, sign = text:match("^(%-?[%d%.]+)[eE]([%+%-]?)")
    value = tonumber(mantissa .. "e" .. (sign == "-" and "-999" or "999"))
  end
  return value, i + #text
end

local function decode_container(s, i, depth, close, number)
  if depth > MAX_DEPTH then return nil, "too deep" end
  local t, j, n = {}, skip(s, i + 1), 0
  if s:sub(j, j) == close then return t, j + 1 end
  while true do
    local key, v, err
    if close == "}" then
      if s:sub(j, j) ~= '"' then return nil, "expected a key" end
      key, j = decode_string(s, j)
      if not key then return nil, j end
      j = skip(s, j)
      if s:sub(j, j) ~= ":" then return nil, "expected :" end
      j = skip(s, j + 1)
    end
    v, err = decode_value(s, j, depth + 1, number)
    if v == nil then return nil, err end
    if close == "}" then
      if t[key] ~= nil then return nil, "duplicate key" end
      t[key] = v
    else
      n = n + 1
      t[n] = v
    end
    j = skip(s, err)
    local c = s:sub(j, j)
    if c == close then return t, j + 1 end
    if c ~= "," then return nil, "expected , or " .. close end
    j = skip(s, j + 1)
  end
end

decode_value = function(s, i, depth, number)
  local c = s:sub(i, i)
  if c == "{" then return decode_container(s, i, depth, "}", number) end
  if c == "[" then return decode_container(s, i, depth, "]", number) end
  if c == '"' then return decode_string(s, i) end
  if s:sub(i, i + 3) == "true" then return true, i + 4 end
  if s:sub(i, i + 4) == "false" then return false, i + 5 end
  if s:sub(i, i + 3) == "null" then return M.null, i + 4 end
  return decode_number(s, i, number)
end

function M.decode(s, number)
  if type(s) ~= "string" then return nil, "not a string" end
  local v, j = decode_value(s, skip(s, 1), 1, number)
  if v == nil then return nil, j end
  if skip(s, j) <= #s then return nil, "trailing text" end
  return v
end

return M
