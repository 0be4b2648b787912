-- B2C Account Top Up: funds moved from this client's shortcode (its
-- Working/MMF account) to a B2C shortcode's Utility account, e.g. before a
-- salary run (mpesa.b2cTopUp.send{...}). CommandID BusinessPayToBulk on
-- the B2B path; the initiator needs the "Org Business Pay to Bulk API
-- initiator" role. Daraja makes the OriginatorConversationID (it is in the
-- acknowledgement only): an outcome lost with the acknowledgement has no
-- key the caller holds, and is reconciled from the account statement or by
-- Transaction Status with the receipt once known.
local params = require("b2c.params")

local IDENTIFIER_SHORTCODE = "4"

local op = {
  namespace = "b2cTopUp",
  verbs = { "send", "start", "sendBatch" },
  path = "/mpesa/b2b/v1/paymentrequest",
  movesMoney = true,
  label = "top-up",
  fields = {
    { "receiverShortCode", params.shortcode },
    { "amount", params.shillings },
    { "remarks", params.sentence },
    { "accountReference", params.account_reference, optional = true },
    { "requester", params.phone, optional = true },
    { "resultUrl", params.result_url, fallback = true },
    { "queueTimeOutUrl", params.timeout_url, fallback = true },
  },
  -- For the engine's message when the outcome is ambiguous (no OCID to give).
  reconcile = "Daraja makes a top-up's OriginatorConversationID, so a lost acknowledgement "
    .. "leaves no id to query by: check the Utility account of the receiving shortcode (Account "
    .. "Balance) or the M-PESA statement, and Transaction Status by the receipt once known, "
    .. "before sending it again",
  refuses = {
    originatorConversationId = "Daraja makes the OriginatorConversationID of a B2C Account Top "
      .. "Up (it comes in the acknowledgement); it cannot be given",
  },
  wire = {
    { "Initiator", "name" },
    { "SecurityCredential", "credential" },
    { "CommandID", "values", values = { "BusinessPayToBulk" }, alias = "Command ID" },
    { "SenderIdentifierType", "values", values = { IDENTIFIER_SHORTCODE } },
    { "RecieverIdentifierType", "values", values = { IDENTIFIER_SHORTCODE } },
    { "Amount", "amount" },
    { "PartyA", "shortcode" },
    { "PartyB", "shortcode" },
    { "AccountReference", "text", max = 13, optional = true },
    { "Requester", "msisdn", optional = true },
    { "Remarks", "text", max = 100 },
    { "QueueTimeOutURL", "url" },
    { "ResultURL", "url" },
  },
  result = {
    title = "B2B result (B2C Account Top Up, Business Pay Bill or Buy Goods: their results "
      .. "look alike)",
    parameters = { "DebitAccountBalance", "Amount", "DebitPartyAffectedAccountBalance",
      "TransCompletedTime", "DebitPartyCharges", "ReceiverPartyPublicName", "Currency",
      "InitiatorAccountCurrentBalance" },
  },
}

function op.build(client, p)
  local v, reference = params.check(client, p, op)
  if not v then return nil, reference end
  return {
    Initiator = client.initiatorName,
    CommandID = "BusinessPayToBulk",
    SenderIdentifierType = IDENTIFIER_SHORTCODE,
    RecieverIdentifierType = IDENTIFIER_SHORTCODE,
    Amount = v.amount,
    PartyA = client.shortCode,
    PartyB = v.receiverShortCode,
    AccountReference = v.accountReference,
    Requester = v.requester,
    Remarks = v.remarks,
    QueueTimeOutURL = v.queueTimeOutUrl,
    ResultURL = v.resultUrl,
  }, reference
end

return op
