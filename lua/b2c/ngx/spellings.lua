-- b2c.ngx.spellings, a function (t) -> t: gives each function of t its
-- other spelling, snake_case or camelCase. The SDK's public names are
-- camelCase (b2c.parseDarajaResult, mpesa.b2c.sendBatch); b2c.ngx's first
-- names were snake_case, kept for code written against them and for
-- OpenResty's own style: the same function under both.

-- "handle_result" <-> "handleResult"; nil for a name with one spelling.
local function other_spelling(name)
  if name:find("_%l") then return (name:gsub("_(%l)", string.upper)) end
  if name:find("%l%u") then
    return (name:gsub("(%l)(%u)", function(low, up) return low .. "_" .. up:lower() end))
  end
end

local function spellings(t)
  local added = {}
  for name, value in pairs(t) do
    local other = type(value) == "function" and other_spelling(name)
    if other and t[other] == nil then added[other] = value end
  end
  for name, value in pairs(added) do t[name] = value end
  return t
end

return spellings
