-- POST /mpesa/b2pochi/v1/paymentrequest: a B2C payout to a Pochi la
-- Biashara wallet. Daraja documents it as B2C v3 with CommandID
-- BusinessPayToPochi (same scenarios, limits, duplicate-OCID answer and
-- result parameters), so the payout is routes/b2c.lua's; the request
-- rules are the SDK's operation module's (op.wire).
local b2c = require("b2c.sim.routes.b2c")
local wire = require("b2c.wire")
local op = require("b2c.operations.b2pochi")

local function check(body)
  return wire.check(body, op.wire)
end

return {
  paths = { op.path },
  method = "POST",
  api = true,
  payment = true,
  handle = function(gw, _, body)
    return b2c.payout(gw, body, { api = "b2pochi", check = check })
  end,
}
