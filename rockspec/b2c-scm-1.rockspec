rockspec_format = "3.0"
package = "b2c"
version = "scm-1"
source = {
  url = "git+file:///dev/null",
}
description = {
  summary = "M-Pesa Daraja B2C payouts for Lua, with a C core (libcurl, OpenSSL)",
  detailed = [[
Send money from an M-Pesa B2C shortcode to customers' phones through
Safaricom's Daraja API: validated payouts, a process-wide OAuth token cache,
the security credential computed in C, callback parsing that accepts every
known payload quirk. The Daraja simulator is its own rock, b2c-sim.
]],
  license = "MIT",
}
dependencies = {
  "lua >= 5.1",
  "lua-cjson",
}
external_dependencies = {
  CURL = { header = "curl/curl.h", library = "curl" },
  OPENSSL = { header = "openssl/evp.h", library = "crypto" },
}
build = {
  type = "builtin",
  modules = {
    ["b2c.core"] = {
      sources = {
        "csrc/crypto.c", "csrc/http.c", "csrc/json_scan.c", "csrc/lua_core.c",
        "csrc/oauth.c", "csrc/random.c", "csrc/redact.c", "csrc/secret.c", "csrc/token_cache.c",
        "csrc/transfers.c",
      },
      defines = { "_POSIX_C_SOURCE=200809L" },
      libraries = { "curl", "crypto", "pthread" },
      incdirs = { "$(CURL_INCDIR)", "$(OPENSSL_INCDIR)" },
      libdirs = { "$(CURL_LIBDIR)", "$(OPENSSL_LIBDIR)" },
    },
    ["b2c"] = "lua/b2c/init.lua",
    ["b2c.callbacks.codes"] = "lua/b2c/callbacks/codes.lua",
    ["b2c.callbacks.defences"] = "lua/b2c/callbacks/defences.lua",
    ["b2c.callbacks.result"] = "lua/b2c/callbacks/result.lua",
    ["b2c.callbacks.verdict"] = "lua/b2c/callbacks/verdict.lua",
    ["b2c.certs"] = "lua/b2c/certs.lua",
    ["b2c.cli"] = "lua/b2c/cli/init.lua",
    ["b2c.cli.args"] = "lua/b2c/cli/args.lua",
    ["b2c.cli.cert"] = "lua/b2c/cli/cert.lua",
    ["b2c.cli.certificate"] = "lua/b2c/cli/certificate.lua",
    ["b2c.cli.config"] = "lua/b2c/cli/config.lua",
    ["b2c.cli.credential"] = "lua/b2c/cli/credential.lua",
    ["b2c.cli.explain"] = "lua/b2c/cli/explain.lua",
    ["b2c.cli.explain_text"] = "lua/b2c/cli/explain_text.lua",
    ["b2c.cli.input"] = "lua/b2c/cli/input.lua",
    ["b2c.cli.listener"] = "lua/b2c/cli/listener.lua",
    ["b2c.cli.output"] = "lua/b2c/cli/output.lua",
    ["b2c.cli.parse"] = "lua/b2c/cli/parse.lua",
    ["b2c.cli.query"] = "lua/b2c/cli/query.lua",
    ["b2c.cli.terminal"] = "lua/b2c/cli/terminal.lua",
    ["b2c.client"] = "lua/b2c/client.lua",
    ["b2c.config"] = "lua/b2c/config.lua",
    ["b2c.credential"] = "lua/b2c/credential.lua",
    ["b2c.engine.answer"] = "lua/b2c/engine/answer.lua",
    ["b2c.engine.batch"] = "lua/b2c/engine/batch.lua",
    ["b2c.engine.polled"] = "lua/b2c/engine/polled.lua",
    ["b2c.engine.request"] = "lua/b2c/engine/request.lua",
    ["b2c.engine.token"] = "lua/b2c/engine/token.lua",
    ["b2c.errors"] = "lua/b2c/errors.lua",
    ["b2c.events"] = "lua/b2c/events.lua",
    ["b2c.fields"] = "lua/b2c/fields.lua",
    ["b2c.json"] = "lua/b2c/json.lua",
    ["b2c.ledger"] = "lua/b2c/ledger/init.lua",
    ["b2c.ledger.batch"] = "lua/b2c/ledger/batch.lua",
    ["b2c.ledger.callbacks"] = "lua/b2c/ledger/callbacks.lua",
    ["b2c.ledger.cli"] = "lua/b2c/ledger/cli.lua",
    ["b2c.ledger.failures"] = "lua/b2c/ledger/failures.lua",
    ["b2c.ledger.lookups"] = "lua/b2c/ledger/lookups.lua",
    ["b2c.ledger.pay"] = "lua/b2c/ledger/pay.lua",
    ["b2c.ledger.postgres"] = "lua/b2c/ledger/postgres.lua",
    ["b2c.ledger.reconcile"] = "lua/b2c/ledger/reconcile.lua",
    ["b2c.ledger.references"] = "lua/b2c/ledger/references.lua",
    ["b2c.ledger.request"] = "lua/b2c/ledger/request.lua",
    ["b2c.ledger.retry"] = "lua/b2c/ledger/retry.lua",
    ["b2c.ledger.rows"] = "lua/b2c/ledger/rows.lua",
    ["b2c.ledger.schema"] = "lua/b2c/ledger/schema.lua",
    ["b2c.ledger.sql"] = "lua/b2c/ledger/sql.lua",
    ["b2c.ledger.sqlite"] = "lua/b2c/ledger/sqlite.lua",
    ["b2c.ledger.states"] = "lua/b2c/ledger/states.lua",
    ["b2c.ledger.statements"] = "lua/b2c/ledger/statements.lua",
    ["b2c.ledger.view"] = "lua/b2c/ledger/view.lua",
    ["b2c.metrics"] = "lua/b2c/metrics.lua",
    ["b2c.metrics.ngx"] = "lua/b2c/metrics/ngx.lua",
    ["b2c.ngx"] = "lua/b2c/ngx.lua",
    ["b2c.operations"] = "lua/b2c/operations/init.lua",
    ["b2c.operations.account_balance"] = "lua/b2c/operations/account_balance.lua",
    ["b2c.operations.b2b"] = "lua/b2c/operations/b2b.lua",
    ["b2c.operations.b2c"] = "lua/b2c/operations/b2c.lua",
    ["b2c.operations.b2c_top_up"] = "lua/b2c/operations/b2c_top_up.lua",
    ["b2c.operations.b2pochi"] = "lua/b2c/operations/b2pochi.lua",
    ["b2c.operations.reversal"] = "lua/b2c/operations/reversal.lua",
    ["b2c.operations.transaction_status"] = "lua/b2c/operations/transaction_status.lua",
    ["b2c.outcome"] = "lua/b2c/outcome.lua",
    ["b2c.params"] = "lua/b2c/params.lua",
    ["b2c.redis"] = "lua/b2c/redis.lua",
    ["b2c.wire"] = "lua/b2c/wire.lua",
  },
  install = {
    bin = { ["b2c"] = "bin/b2c" },
  },
}
