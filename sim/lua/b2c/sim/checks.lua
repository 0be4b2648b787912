-- Reading Daraja's request fields once a route has checked them (the
-- rules themselves are the SDK operation modules' op.wire, checked by
-- b2c.wire): JSON numbers arrive as floats, and some samples spell a
-- field with a space.
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

--- The amount as an integer (a JSON number or a digit string), or nil.
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

--- A 2547/2541 number as text, or nil.
function M.msisdn(v)
  local s = as_text(v)
  if s and (s:match("^2547%d%d%d%d%d%d%d%d$") or s:match("^2541%d%d%d%d%d%d%d%d$")) then
    return s
  end
  return nil
end

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
