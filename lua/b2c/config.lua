-- Every b2c.new setting's rule, checked once, here: config.check(cfg) ->
-- the checked settings, or nil, err (err.field names the setting). The C
-- binding only marshals what this returns.
local core = require("b2c.core")
local credential = require("b2c.credential")
local errors = require("b2c.errors")
local events = require("b2c.events")
local fields = require("b2c.fields")

local config = {}

local HOSTS = {
  sandbox = "https://sandbox.safaricom.co.ke",
  production = "https://api.safaricom.co.ke",
}
config.USER_AGENT = "b2c-lua/" .. core.version .. " libcurl/" .. core.curlVersion

local CONFIG_FIELDS = {
  consumerKey = true, consumerSecret = true, environment = true, shortCode = true,
  initiatorName = true, securityCredential = true, initiatorPassword = true, certificate = true,
  resultUrl = true, queueTimeOutUrl = true, baseUrl = true, timeout = true, connectTimeout = true,
  caFile = true, minAmount = true, maxAmount = true, maxResponseBytes = true, tokenStore = true,
  tokenStoreFallback = true, proxy = true, events = true,
}
local STORE_METHODS = { "get", "set", "delete", "lock", "unlock" }

local function required_string(cfg, name)
  local v = cfg[name]
  if type(v) ~= "string" or v == "" then
    return nil, errors.config(name, "is required (a non-empty string)")
  end
  if v:find("[%z\1-\31\127]") then
    return nil, errors.config(name, "must not contain control characters")
  end
  return v
end

-- Inside nginx (lua-nginx-module), where a tokenStore may be named by its
-- lua_shared_dict.
local function in_nginx()
  local ngx = rawget(_G, "ngx")
  return type(ngx) == "table" and type(ngx.shared) == "table"
end

local function check_seconds(cfg, name, default)
  local v = cfg[name]
  if v == nil then return default end
  if type(v) ~= "number" or not (v > 0 and v <= 86400) then
    return nil, errors.config(name, "must be a number of seconds, 0 < s <= 86400")
  end
  return v
end

function config.check(cfg)
  local err = fields.unknown_field(cfg, CONFIG_FIELDS, "b2c.new")
  if err then err.kind = "config"; return nil, err end
  local c = { environment = cfg.environment or "sandbox" }
  if not HOSTS[c.environment] then
    return nil, errors.config("environment", "must be \"sandbox\" or \"production\"")
  end
  for _, name in ipairs({ "consumerKey", "consumerSecret", "shortCode", "initiatorName" }) do
    c[name], err = required_string(cfg, name)
    if err then return nil, err end
  end
  if not c.shortCode:match("^%d%d%d%d%d+$") or #c.shortCode > 10 then
    return nil, errors.config("shortCode", "must be the 5-10 digits of the shortcode that pays (PartyA)")
  end
  if #c.initiatorName > 64 then
    return nil, errors.config("initiatorName", "must be at most 64 characters")
  end
  if (cfg.securityCredential == nil) == (cfg.initiatorPassword == nil) then
    return nil, errors.config("securityCredential",
      "give exactly one of securityCredential (already encrypted) or initiatorPassword")
  end
  if cfg.securityCredential ~= nil then
    local v = cfg.securityCredential
    if type(v) ~= "string" or #v < 16 or #v > 4096 or not v:match("^[%w+/]+=?=?$") then
      return nil, errors.config("securityCredential", "must be the base64 text of the encrypted "
        .. "initiator password")
    end
    c.securityCredential = v
  else
    if type(cfg.initiatorPassword) ~= "string" or cfg.initiatorPassword == "" then
      return nil, errors.config("initiatorPassword", "must be a non-empty string")
    end
    c.initiatorPassword = cfg.initiatorPassword
    c.certificate, err = credential.certificate(cfg.certificate, c.environment)
    if err then return nil, err end
  end
  local https = c.environment == "production"
  for _, name in ipairs({ "resultUrl", "queueTimeOutUrl" }) do
    if cfg[name] ~= nil then
      local rule
      c[name], rule = fields.url(cfg[name], https)
      if not c[name] then return nil, errors.config(name, rule) end
    end
  end
  c.baseUrl = HOSTS[c.environment]
  if cfg.baseUrl ~= nil then
    if type(cfg.baseUrl) ~= "string" or not cfg.baseUrl:match("^https?://[^/?#]+/?$") then
      return nil, errors.config("baseUrl", "must be scheme://host[:port] (no path)")
    end
    if cfg.baseUrl:find("%z") then return nil, errors.config("baseUrl", "must not contain NUL bytes") end
    c.baseUrl = cfg.baseUrl:gsub("/$", "")
  end
  -- Proxy variables of the environment are ignored; an explicit proxy is a
  -- CONNECT tunnel for an https baseUrl only (the core's http.c checks its
  -- syntax and baseUrl's host and port, and b2c.new reports them as proxy
  -- or baseUrl errors).
  if cfg.proxy ~= nil then
    if type(cfg.proxy) ~= "string" then
      return nil, errors.config("proxy", "must be a string: http://host:port")
    end
    if cfg.proxy:find("%z") then return nil, errors.config("proxy", "must not contain NUL bytes") end
    c.proxy = cfg.proxy
  end
  c.timeout, err = check_seconds(cfg, "timeout", 30)
  if err then return nil, err end
  c.connectTimeout, err = check_seconds(cfg, "connectTimeout", 10)
  if err then return nil, err end
  if cfg.caFile ~= nil then
    local f = type(cfg.caFile) == "string" and not cfg.caFile:find("%z") and io.open(cfg.caFile, "rb")
    if not f then return nil, errors.config("caFile", "must be a readable PEM file") end
    f:close()
    c.caFile = cfg.caFile
  end
  local rule
  c.minAmount, rule = fields.whole(cfg.minAmount or 10, 1, 1e9)
  if not c.minAmount then return nil, errors.config("minAmount", rule) end
  c.maxAmount, rule = fields.whole(cfg.maxAmount or 250000, c.minAmount, 1e9)
  if not c.maxAmount then return nil, errors.config("maxAmount", rule) end
  if cfg.maxResponseBytes ~= nil then
    c.maxResponseBytes, rule = fields.whole(cfg.maxResponseBytes, 1024, 64 * 1024 * 1024)
    if not c.maxResponseBytes then return nil, errors.config("maxResponseBytes", rule) end
  end
  if cfg.tokenStore ~= nil then
    local store = cfg.tokenStore
    -- "redis://host:port/db" or { url = ..., password = ... }: b2c.redis
    local redis = require("b2c.redis")
    if redis.is_spec(store) then
      local failure
      store, failure = redis.store(store)
      if not store then return nil, failure end
    elseif type(store) == "string" and in_nginx() then
      -- the name of a lua_shared_dict (b2c.ngx.shared_dict_store)
      local failure
      store, failure = require("b2c.ngx").shared_dict_store(store)
      if not store then return nil, failure end
    end
    local indexable = type(store) == "table" or type(store) == "userdata"
    for _, m in ipairs(STORE_METHODS) do
      if not indexable or type(store[m]) ~= "function" then
        return nil, errors.config("tokenStore", "must be an object with methods "
          .. table.concat(STORE_METHODS, ", ") .. ', a "redis://host:port/db" URL, or (inside '
          .. "nginx) the name of a lua_shared_dict")
      end
    end
    c.tokenStore = store
  end
  -- "local": a store that fails leaves each process its own token (which
  -- revokes the fleet's); by default such a send fails, kind "store".
  if cfg.tokenStoreFallback ~= nil then
    if cfg.tokenStoreFallback ~= "local" then
      return nil, errors.config("tokenStoreFallback", 'must be "local" (or absent: fail)')
    end
    if cfg.tokenStore == nil then
      return nil, errors.config("tokenStoreFallback", "needs a tokenStore")
    end
    c.tokenStoreFallback = cfg.tokenStoreFallback
  end
  -- a function, or a module's name (what crosses into a b2c.ngx pool thread)
  c.events, err = events.check(cfg.events, "events")
  if err then return nil, err end
  return c
end

return config
