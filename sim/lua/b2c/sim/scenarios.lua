-- Outcomes of a B2C payout, chosen by the recipient number (PartyB).
--
-- Any number that is not listed here succeeds (when the amount is within the
-- limits and the simulated balance covers it).
local M = {}

-- Result texts, as Daraja writes them.
M.DESC = {
  [0] = "The service request is processed successfully.",
  [1] = "The balance is insufficient for the transaction.",
  [2] = "Declined due to limit rule: less than the minimum transaction amount.",
  [3] = "Declined due to limit rule: greater than the maximum transaction amount.",
  [2001] = "The initiator information is invalid.",
  [2040] = "Credit Party customer type (Unregistered or Registered Customer) can't be supported by the service.",
  [8006] = "The security credential is locked.",
  SFC_IC0003 = "The operator does not exist.",
}

M.MIN_AMOUNT = 10
M.MAX_AMOUNT = 250000

-- number -> scenario. `code` is a failure ResultCode; `delivery` changes how
-- the outcome is reported ("timeout", "none", "twice").
M.BY_NUMBER = {
  ["254708374149"] = { name = "success" },
  ["254700000001"] = { name = "insufficient-funds", code = 1 },
  ["254700002001"] = { name = "initiator-invalid", code = 2001 },
  ["254700002040"] = { name = "unregistered-customer", code = 2040 },
  ["254700000003"] = { name = "operator-does-not-exist", code = "SFC_IC0003" },
  ["254700008006"] = { name = "credential-locked", code = 8006 },
  ["254700009001"] = { name = "queue-timeout", delivery = "timeout" },
  ["254700009002"] = { name = "no-callback", delivery = "none" },
  ["254700009003"] = { name = "duplicate-callback", delivery = "twice" },
}

-- Display names for ReceiverPartyPublicName, picked from the number.
local NAMES = {
  "JOHN DOE", "JANE WANJIKU", "PETER OTIENO", "MARY AKINYI", "JAMES MWANGI",
  "GRACE NJERI", "DAVID KIPROTICH", "ANN MUTHONI",
}

function M.customer_name(msisdn)
  local sum = 0
  for d in msisdn:gmatch("%d") do
    sum = sum + tonumber(d)
  end
  return NAMES[sum % #NAMES + 1]
end

--- The scenario for a recipient number (a table with at least `name`).
function M.for_number(msisdn)
  return M.BY_NUMBER[msisdn] or { name = "success" }
end

--- Charge (in cents) debited from the charges account for a payout.
function M.charge_cents(amount)
  if amount <= 100 then
    return 0
  elseif amount <= 1500 then
    return 500
  elseif amount <= 20000 then
    return 1500
  end
  return 2240
end

-- B2B payments and top-ups (routes/b2b.lua): receiving shortcode (PartyB)
-- -> scenario, as BY_NUMBER.
M.BY_SHORTCODE = {
  ["600001"] = { name = "insufficient-funds", code = 1 },
  ["602001"] = { name = "initiator-invalid", code = 2001 },
  ["609001"] = { name = "queue-timeout", delivery = "timeout" },
  ["609002"] = { name = "no-callback", delivery = "none" },
}

--- The scenario for a receiving shortcode.
function M.for_shortcode(code)
  return M.BY_SHORTCODE[code] or { name = "success" }
end

-- Reversal result texts (Daraja's Reversal page).
M.REVERSAL_DESC = {
  R000001 = "The transaction has already been reversed.",
  R000002 = "The OriginalTransactionID is invalid.",
}

--- The list of scenarios in number order (for documentation and stats).
function M.list()
  local out = {}
  for number, s in pairs(M.BY_NUMBER) do
    out[#out + 1] = { number = number, name = s.name, code = s.code, delivery = s.delivery }
  end
  table.sort(out, function(a, b) return a.number < b.number end)
  return out
end

return M
