-- Pieces of the result callbacks every route builds: Daraja's Key/Value
-- items and the gateway's own queue-timeout URL in ReferenceData.
local json = require("b2c.sim.json")

local M = {}

function M.kv(key, value)
  return json.object({ { "Key", key }, { "Value", value } })
end

--- The gateway's internal URL for a kind of result (b2cresults, ...).
function M.internal_url(gw, kind)
  return gw.base_url .. "/mpesa/" .. kind .. "/v1/submit"
end

return M
