-- The redaction of secrets from server texts (csrc/redact.c), on its own:
-- spec/c/redact_test.c checks each encoding, the cut edges and what must
-- stay untouched, and prints the cost per text.
local shell = require("support.shell")

describe("the C core's redaction", function()
  it("finds every secret in every encoding, and leaves other text alone", function()
    local bin = os.tmpname()
    local built, out = shell.run("cc -std=c99 -O2 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -o "
      .. bin .. " spec/c/redact_test.c csrc/redact.c csrc/secret.c -lcrypto")
    assert.is_true(built, out)
    local ok, result = shell.run(bin)
    os.remove(bin)
    assert.is_true(ok, result)
    assert.is_nil(result:find("FAILED", 1, true), result)
    local _, passed = result:gsub("ok: ", "")
    assert.are.equal(22, passed, result)
    for line in result:gmatch("cost: [^\n]+") do print("    " .. line) end
  end)
end)
