-- OAuth access tokens of the simulated gateway: issued per consumer key
-- (a new one replaces the old), checked on every API request, revoked on
-- demand. The state lives on the gateway (gw.tokens, gw.latest,
-- gw.tokensIssued).
local socket = require("socket")
local reply = require("b2c.sim.reply")
local util = require("b2c.sim.util")

local M = {}

--- A new token for the configured consumer key; the previous one dies.
function M.issue(gw)
  local cfg = gw.config
  local token = util.random_alnum(28)
  local old = gw.latest[cfg.consumerKey]
  if old then
    gw.tokens[old] = nil
  end
  gw.tokens[token] = { key = cfg.consumerKey, expires = socket.gettime() + cfg.tokenTtl }
  gw.latest[cfg.consumerKey] = token
  gw.tokensIssued = gw.tokensIssued + 1
  return token
end

--- nil when the request carries a valid token, else the error response.
function M.check(gw, req)
  local auth = req.headers.authorization or ""
  -- the scheme exactly as Daraja documents it: `Bearer`, one space (no
  -- capture shows another spelling accepted; a client sending one is caught
  -- here, not in production)
  local token = auth:match("^Bearer (%S+)$")
  local entry = token and gw.tokens[token]
  if entry and gw.latest[entry.key] == token and entry.expires > socket.gettime()
      and not gw.config.rejectAllTokens then
    return nil
  end
  if tostring(gw.config.invalidTokenStyle) == "401" then
    return reply.gateway_error(401, "401.002.01", "Error Occurred - Invalid Access Token - " .. (token or ""))
  end
  return reply.gateway_error(404, "404.001.03", "Invalid Access Token")
end

--- Forget every token.
function M.revoke(gw)
  gw.tokens = {}
  gw.latest = {}
end

--- How many tokens would pass check now.
function M.valid(gw)
  local valid = 0
  local now = socket.gettime()
  for token, e in pairs(gw.tokens) do
    if e.expires > now and gw.latest[e.key] == token then
      valid = valid + 1
    end
  end
  return valid
end

return M
