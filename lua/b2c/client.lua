-- b2c.new{...}: a configured client, and mpesa.b2c.send{...}.
-- Everything is checked here before the C core sees it; secrets are handed
-- to the core and not kept in the Lua table.
local core = require("b2c.core")
local credential = require("b2c.credential")
local errors = require("b2c.errors")
local async = require("b2c.async")
local batch = require("b2c.batch")
local gateway = require("b2c.gateway")
local json = require("b2c.json")
local payout = require("b2c.payout")
local validate = require("b2c.validate")
local queries = require("b2c.queries")

local HOSTS = {
  sandbox = "https://sandbox.safaricom.co.ke",
  production = "https://api.safaricom.co.ke",
}
local PAYMENT_PATH = "/mpesa/b2c/v3/paymentrequest"
local USER_AGENT = "b2c-lua/" .. core.version .. " libcurl/" .. core.curlVersion

local CONFIG_FIELDS = {
  consumerKey = true, consumerSecret = true, environment = true, shortCode = true,
  initiatorName = true, securityCredential = true, initiatorPassword = true, certificate = true,
  resultUrl = true, queueTimeOutUrl = true, baseUrl = true, timeout = true, connectTimeout = true,
  caFile = true, minAmount = true, maxAmount = true, maxResponseBytes = true, tokenStore = true,
  proxy = true,
}
local STORE_METHODS = { "get", "set", "delete", "lock", "unlock" }

local Client = {}
Client.__index = Client
Client.__tostring = function(c)
  return string.format("b2c client (%s, shortCode %s)", c.environment, c.shortCode)
end

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

local function check_seconds(cfg, name, default)
  local v = cfg[name]
  if v == nil then return default end
  if type(v) ~= "number" or not (v > 0 and v <= 86400) then
    return nil, errors.config(name, "must be a number of seconds, 0 < s <= 86400")
  end
  return v
end

local function check_config(cfg)
  local err = validate.unknown_field(cfg, CONFIG_FIELDS, "b2c.new")
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
    return nil, errors.config("shortCode", "must be the 5-10 digits of your B2C shortcode")
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
      c[name], rule = validate.url(cfg[name], https)
      if not c[name] then return nil, errors.config(name, rule) end
    end
  end
  c.baseUrl = HOSTS[c.environment]
  if cfg.baseUrl ~= nil then
    if type(cfg.baseUrl) ~= "string" or not cfg.baseUrl:match("^https?://[^/?#]+/?$") then
      return nil, errors.config("baseUrl", "must be scheme://host[:port] (no path)")
    end
    c.baseUrl = cfg.baseUrl:gsub("/$", "")
  end
  -- Proxy variables of the environment are ignored; an explicit proxy is a
  -- CONNECT tunnel for an https baseUrl only (the core checks the rest).
  if cfg.proxy ~= nil then
    if type(cfg.proxy) ~= "string" then
      return nil, errors.config("proxy", "must be a string: http://host:port")
    end
    c.proxy = cfg.proxy
  end
  c.timeout, err = check_seconds(cfg, "timeout", 30)
  if err then return nil, err end
  c.connectTimeout, err = check_seconds(cfg, "connectTimeout", 10)
  if err then return nil, err end
  if cfg.caFile ~= nil then
    local f = type(cfg.caFile) == "string" and io.open(cfg.caFile, "rb")
    if not f then return nil, errors.config("caFile", "must be a readable PEM file") end
    f:close()
    c.caFile = cfg.caFile
  end
  local rule
  c.minAmount, rule = validate.whole(cfg.minAmount or 10, 1, 1e9)
  if not c.minAmount then return nil, errors.config("minAmount", rule) end
  c.maxAmount, rule = validate.whole(cfg.maxAmount or 250000, c.minAmount, 1e9)
  if not c.maxAmount then return nil, errors.config("maxAmount", rule) end
  if cfg.maxResponseBytes ~= nil then
    c.maxResponseBytes, rule = validate.whole(cfg.maxResponseBytes, 1024, 64 * 1024 * 1024)
    if not c.maxResponseBytes then return nil, errors.config("maxResponseBytes", rule) end
  end
  if cfg.tokenStore ~= nil then
    local store = cfg.tokenStore
    local indexable = type(store) == "table" or type(store) == "userdata"
    for _, m in ipairs(STORE_METHODS) do
      if not indexable or type(store[m]) ~= "function" then
        return nil, errors.config("tokenStore", "must be an object with methods "
          .. table.concat(STORE_METHODS, ", ") .. " (e.g. b2c.ngx.shared_dict_store)")
      end
    end
    c.tokenStore = store
  end
  return c
end

local function send(client, p)
  if type(p) ~= "table" then
    error("mpesa.b2c.send: expected a table of payout fields, got " .. type(p), 3)
  end
  local body, reference = payout.body(client, p)
  if not body then return nil, reference end
  local ocid = body.OriginatorConversationID
  local ack, err = gateway.call(client.core, PAYMENT_PATH, json.encode(body),
    { ocid = ocid, payout = true, shared = client.sharedToken })
  if not ack then
    err.reference = reference
    return nil, err
  end
  ack.OriginatorConversationID = ack.OriginatorConversationID or ocid
  ack.reference = reference
  return ack
end

-- The polled twin of send: a handle at once, progress through mpesa:step().
local function start(client, p)
  if type(p) ~= "table" then
    error("mpesa.b2c.start: expected a table of payout fields, got " .. type(p), 3)
  end
  local body, reference = payout.body(client, p)
  if not body then return nil, reference end
  client.queue = client.queue or async.new(client.core)
  return client.queue:start(PAYMENT_PATH, json.encode(body),
    { ocid = body.OriginatorConversationID, payout = true, reference = reference })
end

local client = {}

function client.new(cfg)
  if type(cfg) ~= "table" then
    error("b2c.new: expected a table of settings, got " .. type(cfg), 2)
  end
  local c, err = check_config(cfg)
  if not c then return nil, err end
  local handle, message, field = core.client({
    baseUrl = c.baseUrl, consumerKey = c.consumerKey, consumerSecret = c.consumerSecret,
    securityCredential = c.securityCredential, initiatorPassword = c.initiatorPassword,
    certificate = c.certificate, userAgent = USER_AGENT, caFile = c.caFile, timeout = c.timeout,
    connectTimeout = c.connectTimeout, maxResponseBytes = c.maxResponseBytes, proxy = c.proxy,
  })
  if not handle then return nil, errors.config(field or "baseUrl", (message:gsub("^%w+: ", ""))) end
  local self = setmetatable({
    environment = c.environment, shortCode = c.shortCode, initiatorName = c.initiatorName,
    baseUrl = c.baseUrl, resultUrl = c.resultUrl, queueTimeOutUrl = c.queueTimeOutUrl,
    minAmount = c.minAmount, maxAmount = c.maxAmount, core = handle,
  }, Client)
  if c.tokenStore then
    -- Named by a digest of host, key and secret: apps stay apart and the
    -- name reveals no secret. A fetch may hold the lock for its whole timeout.
    self.sharedToken = {
      store = c.tokenStore, lockSeconds = c.timeout + 1,
      key = core.token_key(c.baseUrl, c.consumerKey, c.consumerSecret),
    }
  end
  local namespace = {}
  -- mpesa.b2c.send{...} as documented; mpesa.b2c:send{...} works too.
  namespace.send = function(a, b)
    if a == namespace then a = b end
    return send(self, a)
  end
  namespace.start = function(a, b)
    if a == namespace then a = b end
    return start(self, a)
  end
  namespace.sendBatch = function(a, b, options)
    if a == namespace then a, b = b, options end
    self.queue = self.queue or async.new(self.core)
    return batch.run(self, self.queue, a, b)
  end
  self.b2c = namespace
  -- mpesa.transactionStatus.query{...}, mpesa.accountBalance.query{...}
  queries.attach(self)
  return self
end

-- Does the I/O that is ready for started payouts, waiting at most timeout
-- seconds (default 0: not at all). Returns how many are not done yet.
function Client:step(timeout)
  if timeout ~= nil and type(timeout) ~= "number" then
    error("mpesa:step: timeout must be a number of seconds", 2)
  end
  if not self.queue then return 0 end
  return self.queue:step(timeout or 0)
end

-- Releases the connection and wipes the secrets; idempotent. Polled
-- payouts still in flight finish first, with an error (see async.abandon).
function Client:close()
  if self.queue then self.queue:abandon() end
  self.core:close()
end

return client
