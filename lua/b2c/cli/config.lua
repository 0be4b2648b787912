-- --config FILE: the settings of b2c.new as a JSON object (status, balance
-- and `b2c ledger reconcile` take the same file).
local b2c = require("b2c")
local json = require("b2c.json")
local input = require("b2c.cli.input")

local config = {}

-- The settings in path (- for stdin), or nil, err.
function config.read(sys, path)
  local data, err = input.read(sys, path, input.LIMITS.cert)
  if not data then
    return nil, { kind = "input", field = "--config", message = "cannot read " .. path .. ": " .. err }
  end
  local cfg = json.decode(data)
  if type(cfg) ~= "table" then
    return nil, { kind = "input", field = "--config", message = path .. " is not a JSON object of b2c.new settings" }
  end
  return cfg
end

-- A client made with the settings in path: client, nil, settings; or nil, err.
function config.client(sys, path)
  local cfg, err = config.read(sys, path)
  if not cfg then return nil, err end
  local mpesa, nerr = b2c.new(cfg)
  return mpesa, nerr, cfg
end

return config
