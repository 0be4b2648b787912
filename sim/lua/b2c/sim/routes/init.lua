-- The simulated Daraja APIs, one file per route. Adding an API is one file
-- in this folder and its line in this list (and its module in
-- rockspec/b2c-sim-scm-1.rockspec). A route is a table:
--   paths    the request paths it answers
--   method   the HTTP method it accepts
--   api      true: a Bearer token and a JSON object body are checked first
--   payment  true: recorded as a payment request (/sim/stats: lastHeaders,
--            sendsByOcid, paymentsPerSecond)
--   handle(gw, req, body) -> response (body: the decoded JSON of an api route)
-- The control endpoints (routes/control.lua) answer everything under /sim/.
local list = {}
for _, name in ipairs({
  "oauth",
  "b2c",
  "b2pochi",
  "b2b",
  "reversal",
  "transaction_status",
  "account_balance",
}) do
  list[#list + 1] = require("b2c.sim.routes." .. name)
end
return list
