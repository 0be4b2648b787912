-- Properties of the C core checked from C: compiled from spec/c and run.
local shell = require("support.shell")

local function compile_and_run(sources, args)
  local bin = os.tmpname()
  local built, build_out = shell.run("cc -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror "
    .. "-pthread -o " .. bin .. " " .. sources .. " -lcrypto")
  assert.is_true(built, build_out)
  local ok, out = shell.run(bin .. " " .. (args or ""))
  os.remove(bin)
  assert.is_true(ok, out)
  return select(2, out:gsub("\nok: ", "")) + (out:find("^ok: ") and 1 or 0), out
end

describe("the C core", function()
  it("token cache: one fetch for many threads, invalidation by generation, stalls, fork", function()
    local passed, out = compile_and_run("spec/c/token_cache_test.c csrc/token_cache.c csrc/secret.c")
    assert.are.equal(16, passed, out)
  end)

  it("random pool: distinct bytes across threads and across fork", function()
    local passed, out = compile_and_run("spec/c/random_test.c csrc/random.c -lcrypto")
    assert.are.equal(3, passed, out)
  end)

  it("http: a POST cleared to go counts as sent, whatever libcurl says it wrote", function()
    local passed, out = compile_and_run("spec/c/http_sent_test.c csrc/http.c csrc/secret.c -lcurl")
    assert.are.equal(2, passed, out)
  end)

  it("credential: every failure leaves OpenSSL's error queue empty", function()
    local passed, out = compile_and_run("spec/c/crypto_errors_test.c csrc/crypto.c csrc/random.c csrc/secret.c",
      "spec/fixtures/sim/sim-cert.pem")
    assert.are.equal(6, passed, out)
  end)
end)

describe("lua-cjson's global settings", function()
  it("are not changed by using b2c", function()
    local cjson = require("cjson")
    local before = { cjson.decode_max_depth(), cjson.encode_max_depth(), cjson.encode_keep_buffer() }
    local b2c = require("b2c")
    b2c.parseDarajaResult(string.rep("[", 200))
    b2c.parseDarajaResult('{"Result":{"ResultCode":0,"ConversationID":"c"}}')
    assert.are.same(before, { cjson.decode_max_depth(), cjson.encode_max_depth(), cjson.encode_keep_buffer() })
  end)
end)
