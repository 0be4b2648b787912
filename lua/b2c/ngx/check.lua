-- b2c.ngx.check(config) -> config: the configuration check for
-- init_by_lua. Raises "b2c.ngx.check: <field>: <rule>" on a setting b2c.new
-- refuses, or a value that cannot cross to a pool thread. In init_by_lua
-- that stops nginx at start, not at the first payout.
local check_plain = require("b2c.ngx.plain_values").check_plain

local function check(config)
  if type(config) ~= "table" then
    error("b2c.ngx.check: expected a table of b2c.new settings, got " .. type(config), 2)
  end
  for k, v in pairs(config) do check_plain(v, "b2c.ngx.check: " .. tostring(k), 0) end
  local mpesa, err = require("b2c").new(config)
  if not mpesa then error("b2c.ngx.check: " .. tostring(err), 2) end
  mpesa:close()
  return config
end

return check
