-- What a payout's outcome means for the money, decided in one place. Every
-- error object from a call carries its class (err.outcome); sendBatch counts
-- by it and b2c.describe advises by it.
--   accepted            Daraja acknowledged the request; the result comes by callback
--   rejected            refused before processing: fix the cause, then send again
--   rejected_retryable  spike arrest, refused before processing: back off, send again
--   ambiguous           the request may have been processed: reconcile by OCID, never resend
--   unsent              nothing reached Daraja: safe to send again
local outcome = {}

outcome.CLASSES = { "accepted", "rejected", "rejected_retryable", "ambiguous", "unsent" }

local KNOWN = {}
for _, c in ipairs(outcome.CLASSES) do KNOWN[c] = true end

-- Gateway errorCodes that say the request reached processing (or may have).
local AMBIGUOUS_CODES = {
  ["500.001.1001"] = true, ["500.003.1001"] = true,
  ["500.002.1001"] = true, -- this OCID was submitted before: it may be paid
}
local RETRYABLE_CODES = { ["500.003.02"] = true }
outcome.SPIKE_ARREST = "500.003.02"

local UNSENT_KINDS = { validation = true, config = true, auth = true, network = true, thread = true }

-- The class of an error (nil: accepted). Reads err.outcome when the SDK set
-- it; otherwise (a plain copy of an error, an older one) decides from kind,
-- code and status, and anything it cannot place is ambiguous.
function outcome.of(err)
  if err == nil then return "accepted" end
  if type(err) ~= "table" then return "ambiguous" end
  if KNOWN[err.outcome] then return err.outcome end
  local kind = err.kind
  if UNSENT_KINDS[kind] then return "unsent" end
  if kind == "api" then
    if RETRYABLE_CODES[err.code] then return "rejected_retryable" end
    if AMBIGUOUS_CODES[err.code] then return "ambiguous" end
    return "rejected"
  end
  if kind == "http" then
    local status = tonumber(err.status)
    -- A 4xx or a redirect came from before processing; a 2xx or a 5xx may
    -- follow it (an unreadable acknowledgement, a proxy that lost the answer).
    if status and status >= 300 and status < 500 then return "rejected" end
  end
  return "ambiguous"
end

-- Sets err.outcome (when not already set) and returns err.
function outcome.mark(err)
  err.outcome = outcome.of(err)
  return err
end

function outcome.is_ambiguous_code(code)
  return AMBIGUOUS_CODES[code] == true
end

return outcome
