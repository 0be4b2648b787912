-- The C token cache under real threads: compiled from spec/c and run.
local shell = require("support.shell")

describe("the process-wide token cache (C, threads)", function()
  it("does one fetch for many concurrent callers and invalidates by generation", function()
    local bin = os.tmpname()
    local cc = "cc -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -pthread -o " .. bin
      .. " spec/c/token_cache_test.c csrc/token_cache.c csrc/secret.c -lcrypto"
    local built, build_out = shell.run(cc)
    assert.is_true(built, build_out)
    local ok, out = shell.run(bin)
    os.remove(bin)
    assert.is_true(ok, out)
    local passed = select(2, out:gsub("\nok: ", "")) + (out:find("^ok: ") and 1 or 0)
    assert.are.equal(5, passed, out)
  end)
end)
