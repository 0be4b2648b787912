-- b2c.ledger.failures: how a store failure deep inside a ledger method
-- becomes that method's nil, err. must() raises it as a marked table; the
-- public method (guarded) returns it; misuse still raises.
local M = {}

local Failure = {}

-- v, or the store's err raised as a failure when v is nil.
function M.must(v, err)
  if v == nil then error(setmetatable({ err = err }, Failure), 0) end
  return v
end

-- Whether e (caught by pcall) is a failure must() raised; its err is e.err.
function M.is_failure(e)
  return getmetatable(e) == Failure
end

local function finish(ok, ...)
  if ok then return ... end
  local e = ...
  if getmetatable(e) == Failure then return nil, e.err end
  error(e, 0)
end

-- fn as a public method: a failure it raises is returned as nil, err.
function M.guarded(fn)
  return function(...) return finish(pcall(fn, ...)) end
end

return M
