-- GET /oauth/v1/generate?grant_type=client_credentials: a token for the
-- consumer key and secret in Basic authentication.
local json = require("b2c.sim.json")
local util = require("b2c.sim.util")
local reply = require("b2c.sim.reply")
local tokens = require("b2c.sim.tokens")

local function ttl_text(ttl)
  local i = math.tointeger(ttl)
  if i then
    return string.format("%d", i)
  end
  return string.format("%.3f", ttl):gsub("0+$", "")
end

return {
  paths = { "/oauth/v1/generate" },
  method = "GET",
  handle = function(gw, req)
    local cfg = gw.config
    local auth = req.headers.authorization or ""
    local b64 = auth:match("^[Bb][Aa][Ss][Ii][Cc]%s+(%S+)%s*$")
    local pair = b64 and util.base64_decode(b64)
    if pair ~= cfg.consumerKey .. ":" .. cfg.consumerSecret then
      return reply.gateway_error(400, "400.008.01", "Invalid Authentication passed")
    end
    if req.query.grant_type ~= "client_credentials" then
      return reply.gateway_error(400, "400.008.02", "Invalid grant type passed")
    end
    local token = tokens.issue(gw)
    local expires_in
    if cfg.expiresInNumber then
      expires_in = json.raw(ttl_text(cfg.tokenTtl))
    else
      expires_in = ttl_text(cfg.tokenTtl)
    end
    return reply.json(200, json.object({
      { "access_token", token },
      { "expires_in", expires_in },
    }))
  end,
}
