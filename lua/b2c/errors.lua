-- Error objects: every operational failure is `nil, err` where err has a
-- kind, a message and, where they apply, field, status, code, requestId,
-- retryable, originatorConversationId and outcome (b2c.outcome). tostring(err)
-- is the message, and so is err in a concatenation ("failed: " .. err).
local Error = {}
Error.__index = Error
Error.__tostring = function(e) return e.message end
Error.__concat = function(a, b) return tostring(a) .. tostring(b) end

local errors = {}

function errors.new(kind, message, fields)
  local e = fields or {}
  e.kind = kind
  e.message = message
  if e.retryable == nil then e.retryable = false end
  return setmetatable(e, Error)
end

function errors.is(value)
  return getmetatable(value) == Error
end

-- "<field>: <rule>", for input that breaks a rule; nothing was sent.
function errors.validation(field, rule)
  return errors.new("validation", field .. ": " .. rule, { field = field })
end

function errors.config(field, rule)
  return errors.new("config", field .. ": " .. rule, { field = field })
end

return errors
