-- The simulator's settings: their defaults, their rules (/sim/config and
-- the command line) and how /sim/config shows them.
local json = require("b2c.sim.json")
local faults = require("b2c.sim.faults")

local M = {}

-- Default settings (camelCase, as in /sim/config).
M.DEFAULTS = {
  consumerKey = "sim-consumer-key",
  consumerSecret = "sim-consumer-secret",
  initiatorPassword = "Safaricom999!*!",
  tokenTtl = 3599,
  expiresInNumber = false,
  invalidTokenStyle = "404",
  rejectAllTokens = false,  -- answer every Bearer token as invalid
  callbackDelay = 0.2,
  callbackAttempts = 3,
  callbackBackoff = { 0.2, 0.5 },
  callbackTimeout = 5,
  callbackHistory = 5000,   -- callback records /sim/stats keeps (newest)
  balance = 1000000,        -- utility account, KES
  workingBalance = 500000,  -- working account, KES
}

--- A deep copy (settings are copied, never shared).
function M.copy(v)
  if type(v) ~= "table" then
    return v
  end
  local t = {}
  for k, x in pairs(v) do
    t[k] = M.copy(x)
  end
  return setmetatable(t, getmetatable(v))
end
local copy = M.copy

-- Bounds of the settings given as whole numbers.
M.MAX_BALANCE = 1e13        -- KES: every cent below it is exact in a double
M.MAX_CALLBACK_HISTORY = 1000000

--- Whole cents of a balance check accepted.
function M.cents(kes)
  return math.tointeger(math.floor(kes * 100 + 0.5))
end

local function shown(v)
  local t = type(v)
  if t == "number" or t == "boolean" then
    return tostring(v)
  end
  return t == "string" and string.format("%q", v:sub(1, 40)) or t
end

--- nil when v suits setting k (balance, callbackHistory), else why not.
-- Also used for the command line's --balance and --callback-history.
function M.check(k, v)
  if k == "balance" then
    if type(v) ~= "number" or not (v >= 0 and v <= M.MAX_BALANCE)
        or tonumber(string.format("%.2f", v)) ~= v then
      return string.format("balance must be KES from 0 to %.0f with at most 2 decimals, got %s",
        M.MAX_BALANCE, shown(v))
    end
  elseif k == "callbackHistory" then
    if type(v) ~= "number" or not math.tointeger(v) or v < 0 or v > M.MAX_CALLBACK_HISTORY then
      return string.format("callbackHistory must be a whole number from 0 to %d, got %s",
        M.MAX_CALLBACK_HISTORY, shown(v))
    end
  end
  return nil
end

local function positive(v)
  return type(v) == "number" and v > 0 and v < 1e9
end

--- config with the /sim/config settings t applied. Returns the new config
-- and the new balance (nil when t sets none), or nil, message.
function M.apply(config, t)
  if type(t) ~= "table" then
    return nil, "config must be a JSON object"
  end
  local c = copy(config)
  local set_balance
  for k, v in pairs(t) do
    if k == "tokenTtl" then
      if not positive(v) then return nil, "tokenTtl must be a positive number" end
      c.tokenTtl = v
    elseif k == "callbackDelay" then
      if type(v) ~= "number" or v < 0 or v > 3600 then return nil, "callbackDelay must be >= 0" end
      c.callbackDelay = v
    elseif k == "invalidTokenStyle" then
      local s = tostring(v)
      if s ~= "404" and s ~= "401" then return nil, "invalidTokenStyle must be \"404\" or \"401\"" end
      c.invalidTokenStyle = s
    elseif k == "expiresInNumber" then
      if type(v) ~= "boolean" then return nil, "expiresInNumber must be true or false" end
      c.expiresInNumber = v
    elseif k == "rejectAllTokens" then
      if type(v) ~= "boolean" then return nil, "rejectAllTokens must be true or false" end
      c.rejectAllTokens = v
    elseif k == "callbackAttempts" then
      local n = math.tointeger(v)
      if not n or n < 1 or n > 20 then return nil, "callbackAttempts must be 1..20" end
      c.callbackAttempts = n
    elseif k == "callbackBackoff" then
      if type(v) == "number" then
        v = { v }
      end
      if type(v) ~= "table" or #v == 0 then return nil, "callbackBackoff must be a list of seconds" end
      for _, x in ipairs(v) do
        if type(x) ~= "number" or x < 0 or x > 600 then return nil, "callbackBackoff must be a list of seconds" end
      end
      c.callbackBackoff = v
    elseif k == "callbackHistory" then
      local err = M.check(k, v)
      if err then return nil, err end
      c.callbackHistory = math.tointeger(v)
    elseif k == "callbackTimeout" then
      if not positive(v) then return nil, "callbackTimeout must be a positive number" end
      c.callbackTimeout = v
    elseif k == "balance" then
      local err = M.check(k, v)
      if err then return nil, err end
      set_balance = v
    elseif k == "consumerKey" or k == "consumerSecret" or k == "initiatorPassword" then
      if type(v) ~= "string" or v == "" then return nil, k .. " must be a non-empty string" end
      c[k] = v
    elseif k == "fault" or k == "faults" then
      local list = {}
      if v == false or v == json.null or v == "" or v == "none" then
        list = {}
      else
        if k == "fault" then
          v = { v }
        end
        if type(v) ~= "table" then return nil, "faults must be a list" end
        for _, item in ipairs(v) do
          if type(item) == "string" then
            item = { spec = item }
          end
          local f, err = faults.global(item)
          if not f then return nil, err end
          list[#list + 1] = f
        end
      end
      c.faults = list
    else
      return nil, "unknown setting " .. tostring(k)
    end
  end
  return c, set_balance
end

--- The settings as /sim/config and /sim/stats show them.
function M.public(c)
  return {
    consumerKey = c.consumerKey,
    consumerSecret = c.consumerSecret,
    initiatorPassword = c.initiatorPassword,
    tokenTtl = c.tokenTtl,
    expiresInNumber = c.expiresInNumber,
    invalidTokenStyle = tostring(c.invalidTokenStyle),
    rejectAllTokens = c.rejectAllTokens,
    callbackDelay = c.callbackDelay,
    callbackAttempts = c.callbackAttempts,
    callbackBackoff = json.array(copy(c.callbackBackoff)),
    callbackTimeout = c.callbackTimeout,
    callbackHistory = c.callbackHistory,
    faults = json.array(faults.describe(c.faults)),
  }
end

return M
