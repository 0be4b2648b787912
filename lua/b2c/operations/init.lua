-- The registry of Daraja operations, in the order the client offers them.
-- Each module declares its namespace, verbs, path, whether it moves money
-- and how its body is built (see operations/b2c.lua); the client, the
-- engine and b2c.ngx work from these and know no operation's fields.
local registry = {
  list = {
    require("b2c.operations.b2c"),
    require("b2c.operations.b2pochi"),
    require("b2c.operations.b2c_top_up"),
    require("b2c.operations.b2b"),
    require("b2c.operations.reversal"),
    require("b2c.operations.transaction_status"),
    (require("b2c.operations.account_balance")),
  },
}

local by_namespace = {}
for _, op in ipairs(registry.list) do by_namespace[op.namespace] = op end

-- The operation module of a namespace ("b2c", "transactionStatus"...), or nil.
function registry.get(namespace)
  return by_namespace[namespace]
end

return registry
