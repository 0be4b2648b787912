rockspec_format = "3.0"
package = "b2c-sim"
version = "scm-1"
source = {
  url = "git+file:///dev/null",
}
description = {
  summary = "b2c-sim: an offline Daraja (M-Pesa) simulator for tests",
  detailed = [[
A Daraja gateway on loopback for the b2c SDK's specs and your own: OAuth,
B2C payments, Transaction Status, Account Balance, the asynchronous result
callbacks, scenarios by number and amount, and wire-level faults. Lua 5.4.
See docs/simulator.md.
]],
  license = "MIT",
}
dependencies = {
  "lua >= 5.4",
  "luasocket",
  "lua-cjson",
  -- b2c.core decrypts SecurityCredentials (without it: the openssl tool)
  "b2c",
}
build = {
  type = "builtin",
  -- every file under sim/lua/b2c/sim (spec/sim/rockspec_spec.lua checks)
  modules = {
    ["b2c.sim"] = "sim/lua/b2c/sim/init.lua",
    ["b2c.sim.callbacks"] = "sim/lua/b2c/sim/callbacks.lua",
    ["b2c.sim.checks"] = "sim/lua/b2c/sim/checks.lua",
    ["b2c.sim.console"] = "sim/lua/b2c/sim/console/init.lua",
    ["b2c.sim.console.page"] = "sim/lua/b2c/sim/console/page.lua",
    ["b2c.sim.credential"] = "sim/lua/b2c/sim/credential.lua",
    ["b2c.sim.daraja"] = "sim/lua/b2c/sim/daraja.lua",
    ["b2c.sim.faults"] = "sim/lua/b2c/sim/faults.lua",
    ["b2c.sim.http"] = "sim/lua/b2c/sim/http/init.lua",
    ["b2c.sim.http.client"] = "sim/lua/b2c/sim/http/client.lua",
    ["b2c.sim.http.conn"] = "sim/lua/b2c/sim/http/conn.lua",
    ["b2c.sim.http.loop"] = "sim/lua/b2c/sim/http/loop.lua",
    ["b2c.sim.http.message"] = "sim/lua/b2c/sim/http/message.lua",
    ["b2c.sim.http.request"] = "sim/lua/b2c/sim/http/request.lua",
    ["b2c.sim.http.response"] = "sim/lua/b2c/sim/http/response.lua",
    ["b2c.sim.http.server"] = "sim/lua/b2c/sim/http/server.lua",
    ["b2c.sim.json"] = "sim/lua/b2c/sim/json.lua",
    ["b2c.sim.query"] = "sim/lua/b2c/sim/query.lua",
    ["b2c.sim.receiver"] = "sim/lua/b2c/sim/receiver.lua",
    ["b2c.sim.reply"] = "sim/lua/b2c/sim/reply.lua",
    ["b2c.sim.results"] = "sim/lua/b2c/sim/results.lua",
    ["b2c.sim.routes"] = "sim/lua/b2c/sim/routes/init.lua",
    ["b2c.sim.routes.account_balance"] = "sim/lua/b2c/sim/routes/account_balance.lua",
    ["b2c.sim.routes.b2b"] = "sim/lua/b2c/sim/routes/b2b.lua",
    ["b2c.sim.routes.b2c"] = "sim/lua/b2c/sim/routes/b2c.lua",
    ["b2c.sim.routes.b2pochi"] = "sim/lua/b2c/sim/routes/b2pochi.lua",
    ["b2c.sim.routes.control"] = "sim/lua/b2c/sim/routes/control.lua",
    ["b2c.sim.routes.oauth"] = "sim/lua/b2c/sim/routes/oauth.lua",
    ["b2c.sim.routes.reversal"] = "sim/lua/b2c/sim/routes/reversal.lua",
    ["b2c.sim.routes.transaction_status"] = "sim/lua/b2c/sim/routes/transaction_status.lua",
    ["b2c.sim.scenarios"] = "sim/lua/b2c/sim/scenarios.lua",
    ["b2c.sim.settings"] = "sim/lua/b2c/sim/settings.lua",
    ["b2c.sim.tokens"] = "sim/lua/b2c/sim/tokens.lua",
    ["b2c.sim.util"] = "sim/lua/b2c/sim/util.lua",
  },
  install = {
    bin = { ["b2c-sim"] = "sim/bin/b2c-sim" },
  },
}
