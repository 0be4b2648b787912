-- What `b2c` writes: text cleaned of terminal control sequences, rows of
-- label and value, JSON documents (--json), and failures on stderr.
local output = {}

-- Text from input is untrusted: no terminal control sequence reaches the
-- screen. C0 controls, DEL and bytes that are not UTF-8 show as \xHH, the
-- C1 controls U+0080-U+009F (8-bit CSI, OSC...) as \u00HH; other UTF-8
-- text stays as it is.
function output.clean(v)
  local s = tostring(v)
  if not s:find("[%z\1-\31\127-\255]") then return s end
  local out, i, n = {}, 1, #s
  while i <= n do
    local b = s:byte(i)
    local len = b < 0x80 and 1 or (b >= 0xC2 and b <= 0xDF and 2) or (b >= 0xE0 and b <= 0xEF and 3)
      or (b >= 0xF0 and b <= 0xF4 and 4) or 0
    local seq = len > 0 and s:sub(i, i + len - 1)
    if seq and len > 1 and (#seq < len or not seq:find("^.[\128-\191]+$")
        or (b == 0xE0 and seq:byte(2) < 0xA0) or (b == 0xED and seq:byte(2) > 0x9F)
        or (b == 0xF0 and seq:byte(2) < 0x90) or (b == 0xF4 and seq:byte(2) > 0x8F)) then
      seq = nil -- overlong, surrogate, beyond U+10FFFF or cut short
    end
    if not seq then
      out[#out + 1] = string.format("\\x%02x", b)
      i = i + 1
    elseif len == 1 and (b < 32 or b == 127) then
      out[#out + 1] = string.format("\\x%02x", b)
      i = i + 1
    elseif b == 0xC2 and seq:byte(2) <= 0x9F then
      out[#out + 1] = string.format("\\u%04x", seq:byte(2))
      i = i + 2
    else
      out[#out + 1] = seq
      i = i + len
    end
  end
  return table.concat(out)
end
local clean = output.clean

-- "label:                    value", cleaned; nothing when value is nil.
function output.row(out, label, value)
  if value ~= nil then out:write(string.format("%-25s %s\n", label, clean(value))) end
end

local ARRAY = {}

-- Marks a table as a JSON array, so that an empty one is [] and not {}.
function output.array(t)
  return setmetatable(t, ARRAY)
end

-- JSON for scripts (--json): keys sorted, so the same answer is the same
-- text; every string escaped as the text output escapes it, so the
-- document is UTF-8 without control characters whatever the input held.
-- A table with [1] (or marked by output.array) is an array; an empty one
-- otherwise, {}.
local function encode(v)
  local kind = type(v)
  if kind == "string" then
    return '"' .. clean(v):gsub('[%c"\\]', function(c)
      return c == '"' and '\\"' or c == "\\" and "\\\\" or string.format("\\u%04x", c:byte())
    end) .. '"'
  elseif kind == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return "null" end
    if v == math.floor(v) and math.abs(v) < 2 ^ 53 then return string.format("%d", v) end
    return string.format("%.17g", v)
  elseif kind == "boolean" then
    return tostring(v)
  elseif kind == "table" then
    local parts = {}
    if v[1] ~= nil or getmetatable(v) == ARRAY then
      for i, item in ipairs(v) do parts[i] = encode(item) end
      return "[" .. table.concat(parts, ",") .. "]"
    end
    local names = {}
    for k in pairs(v) do names[#names + 1] = tostring(k) end
    table.sort(names)
    for i, k in ipairs(names) do parts[i] = encode(k) .. ":" .. encode(v[k]) end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  return "null"
end
output.encode = encode

-- One JSON document on stdout.
function output.document(sys, doc)
  sys.stdout:write(encode(doc), "\n")
end

-- A failure: one line on stderr, "b2c COMMAND: message", or with --json
-- {"error":{"kind":..., "message":..., "field":...}} on stderr. stdout
-- stays empty, so what a script reads there is always a result. Returns
-- the exit status (1; 2 for kind "usage").
local ERROR_FIELDS = { "kind", "message", "field", "status", "code", "requestId", "retryable",
  "outcome", "originatorConversationId", "responseCode" }

function output.failed(sys, command, err)
  if sys.json then
    local e = {}
    for _, k in ipairs(ERROR_FIELDS) do e[k] = err[k] end
    e.message = tostring(err.message)
    sys.stderr:write(encode({ command = command, error = e }), "\n")
  else
    sys.stderr:write("b2c " .. command .. ": " .. clean(err.message) .. "\n")
    if err.kind == "usage" then sys.stderr:write("see: b2c help " .. command .. "\n") end
  end
  return err.kind == "usage" and 2 or 1
end

function output.usage_error(sys, command, message)
  return output.failed(sys, command, { kind = "usage", message = message })
end

return output
