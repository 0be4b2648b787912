-- b2c: M-Pesa Daraja B2C payouts. The public API.
local core = require("b2c.core")
local client = require("b2c.client")
local errors = require("b2c.errors")
local result = require("b2c.callbacks.result")
local certs = require("b2c.certs")
local credential = require("b2c.credential")
local callback = require("b2c.callbacks.defences")

local b2c = {
  _VERSION = core.version,
  new = client.new,
  parseDarajaResult = result.parse,
  getResultParametersMap = result.parameters_map,
  parseQueueTimeout = result.parse_queue_timeout,
  certificates = certs,
  securityCredential = credential.encrypt,
  isError = errors.is,
  -- A fresh OriginatorConversationID (UUID v4), to persist before sending.
  newOriginatorConversationId = core.uuid,
  libcurl = { version = core.curlVersion, ssl = core.sslVersion, asyncDns = core.asyncDns },
  -- Callback defences (see b2c.callbacks.defences).
  callbackToken = callback.token,
  isSafaricomAddress = callback.is_safaricom_address,
  safaricomAddresses = callback.SAFARICOM_ADDRESSES,
}

-- Reconciliation: reading the status and balance results, and what codes mean.
local reconcile = require("b2c.callbacks.verdict")
local codes = require("b2c.callbacks.codes")
b2c.statusVerdict = reconcile.status_verdict
b2c.parseAccountBalance = reconcile.parse_account_balance
b2c.resultCodes = codes.catalogue
b2c.describe = codes.describe

return b2c
