-- b2c.ngx.plain_values: the values that cross between Lua VMs (a request's
-- and a pool thread's): only strings, numbers, booleans and tables of them
-- cross, so results and errors are copied down to those, and what a caller
-- hands to a pool thread is checked to be made of them.
local M = {}

local ERROR_FIELDS = {
  "kind", "message", "field", "status", "code", "requestId", "retryable",
  "originatorConversationId", "outcome", "responseCode", "reference", "cause", "index",
}

-- A copy with only strings, numbers, booleans and tables of them (no
-- functions, userdata, cjson.null or metatables).
local function plain(v, depth)
  local t = type(v)
  if t == "string" or t == "number" or t == "boolean" then return v end
  if t ~= "table" or depth > 16 then return nil end
  local out = {}
  for k, x in pairs(v) do
    local kt = type(k)
    if kt == "string" or kt == "number" then
      local px = plain(x, depth + 1)
      if px ~= nil then out[k] = px end
    end
  end
  return out
end
M.plain = plain

function M.plain_error(e)
  local out = {}
  for _, f in ipairs(ERROR_FIELDS) do
    local v = e[f]
    local t = type(v)
    if t == "string" or t == "number" or t == "boolean" then out[f] = v end
  end
  out.message = out.message or tostring(e)
  out.kind = out.kind or "internal"
  if type(e.report) == "table" then out.report = plain(e.report, 0) end  -- a batch's
  return out
end

-- Raises (misuse) unless v is made of strings, numbers, booleans and tables
-- of them: only such values cross to a pool thread, and a dropped one
-- (a function, a store object) would change what the thread does.
local function check_plain(v, where, depth)
  local t = type(v)
  if t == "string" or t == "number" or t == "boolean" or t == "nil" then return end
  if t ~= "table" or getmetatable(v) ~= nil or depth > 16 then
    error(where .. ": must be plain values (strings, numbers, booleans, tables of them) to cross "
      .. "to the pool's threads, got " .. t, depth + 3)
  end
  for k, x in pairs(v) do check_plain(x, where .. "." .. tostring(k), depth + 1) end
end
M.check_plain = check_plain

return M
