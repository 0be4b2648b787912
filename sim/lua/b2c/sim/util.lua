-- Small helpers: base64, random identifiers, Daraja time formats, files.
local M = {}

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local B64_INDEX = {}
for i = 1, #B64 do
  B64_INDEX[B64:byte(i)] = i - 1
end

function M.base64_encode(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local c1, c2, c3, c4 = n >> 18, (n >> 12) & 63, (n >> 6) & 63, n & 63
    out[#out + 1] = B64:sub(c1 + 1, c1 + 1) .. B64:sub(c2 + 1, c2 + 1)
      .. (b and B64:sub(c3 + 1, c3 + 1) or "=") .. (c and B64:sub(c4 + 1, c4 + 1) or "=")
  end
  return table.concat(out)
end

--- True when s is canonical padded base64 (no whitespace).
function M.is_base64(s)
  return type(s) == "string" and #s > 0 and #s % 4 == 0
    and s:match("^[A-Za-z0-9+/]+=?=?$") ~= nil
end

--- Decode padded base64; nil when it is not base64.
function M.base64_decode(s)
  if not M.is_base64(s) then
    return nil
  end
  local out = {}
  for i = 1, #s, 4 do
    local c1, c2, c3, c4 = s:byte(i, i + 3)
    local v1, v2 = B64_INDEX[c1], B64_INDEX[c2]
    local v3, v4 = B64_INDEX[c3], B64_INDEX[c4]
    if not v1 or not v2 or (not v3 and c3 ~= 61) or (not v4 and c4 ~= 61) then
      return nil
    end
    local n = (v1 << 18) | (v2 << 12) | ((v3 or 0) << 6) | (v4 or 0)
    out[#out + 1] = string.char(n >> 16)
    if v3 then
      out[#out + 1] = string.char((n >> 8) & 255)
    end
    if v4 then
      out[#out + 1] = string.char(n & 255)
    end
  end
  return table.concat(out)
end

local ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
local UPPER_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
local UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

local function random_from(alphabet, n)
  local out = {}
  for i = 1, n do
    local k = math.random(#alphabet)
    out[i] = alphabet:sub(k, k)
  end
  return table.concat(out)
end
M.random_from = random_from

function M.random_alnum(n)
  return random_from(ALNUM, n)
end

function M.random_hex(n)
  return random_from("0123456789abcdef", n)
end

--- A receipt such as "SG632NMUAB": 10 upper-case letters and digits.
function M.receipt()
  return random_from(UPPER, 2) .. random_from("0123456789", 1) .. random_from(UPPER_ALNUM, 7)
end

--- The placeholder Daraja puts in TransactionID on failures ("SG70000000").
function M.placeholder_receipt()
  return random_from(UPPER, 2) .. random_from("0123456789", 1) .. "0000000"
end

--- A gateway request id such as "5031-1921185-1".
function M.request_id()
  return string.format("%d-%d-%d", math.random(1000, 99999), math.random(1000000, 99999999),
    math.random(1, 9))
end

-- Daraja's clock is East Africa Time (UTC+3, no daylight saving).
local EAT = 3 * 3600

function M.eat_date(fmt, t)
  return os.date("!" .. fmt, math.floor(t or os.time()) + EAT)
end

function M.conversation_id(t)
  return "AG_" .. M.eat_date("%Y%m%d", t) .. "_" .. M.random_hex(20)
end

--- A shell word that the shell gives back unchanged.
function M.shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

function M.read_file(path)
  local f, err = io.open(path, "rb")
  if not f then
    return nil, err
  end
  local data = f:read("a")
  f:close()
  return data
end

function M.write_file(path, data)
  local f, err = io.open(path, "wb")
  if not f then
    return nil, err
  end
  f:write(data)
  f:close()
  return true
end

function M.file_exists(path)
  local f = io.open(path, "rb")
  if f then
    f:close()
    return true
  end
  return false
end

--- Absolute form of a path (relative paths are taken from $PWD).
function M.absolute(path)
  if path:sub(1, 1) == "/" then
    return path
  end
  local cwd = os.getenv("PWD")
  if not cwd or cwd == "" then
    local p = io.popen("pwd")
    if p then
      cwd = p:read("l")
      p:close()
    end
  end
  path = path:gsub("^%./", "")
  return (cwd or ".") .. "/" .. path
end

return M
