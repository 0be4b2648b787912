-- Secrets are wiped in C memory before they are freed: spec/c/wipe_test.c
-- wraps free() for the core's code and searches every freed block.
local shell = require("support.shell")

describe("the C core wipes secrets", function()
  it("before each free of a secret, token, header or credential buffer", function()
    local bin = os.tmpname()
    local built, out = shell.run("cc -std=c99 -D_GNU_SOURCE -Wall -Wextra -Werror -pthread -o " .. bin
      .. " spec/c/wipe_test.c csrc/secret.c csrc/token_cache.c csrc/http.c csrc/oauth.c"
      .. " csrc/json_scan.c csrc/crypto.c csrc/random.c -Wl,--wrap=free -lcurl -lcrypto")
    assert.is_true(built, out)
    local ok, result = shell.run(bin .. " spec/fixtures/sim/sim-cert.pem")
    os.remove(bin)
    assert.is_true(ok, result)
    local _, passed = result:gsub("ok: ", "")
    assert.are.equal(8, passed, result)
  end)
end)
