-- b2c.outcome: the one place that says what an outcome means for the money.
local outcome = require("b2c.outcome")
local errors = require("b2c.errors")

describe("b2c.outcome.of", function()
  it("reads the class the SDK set", function()
    for _, class in ipairs(outcome.CLASSES) do
      assert.are.equal(class, outcome.of(errors.new("timeout", "m", { outcome = class })))
    end
    assert.are.equal("accepted", outcome.of(nil))
  end)

  it("places a plain copy (no outcome field) by kind, code and status", function()
    local cases = {
      { { kind = "validation" }, "unsent" }, { { kind = "config" }, "unsent" },
      { { kind = "auth" }, "unsent" }, { { kind = "network" }, "unsent" },
      { { kind = "thread" }, "unsent" }, { { kind = "timeout" }, "ambiguous" },
      { { kind = "api", code = "500.003.02" }, "rejected_retryable" },
      { { kind = "api", code = "500.002.1001" }, "ambiguous" },
      { { kind = "api", code = "500.001.1001" }, "ambiguous" },
      { { kind = "api", code = "500.003.1001" }, "ambiguous" },
      { { kind = "api", code = "400.002.02" }, "rejected" },
      { { kind = "api", code = "500.003.03" }, "rejected" },
      { { kind = "http", status = 403 }, "rejected" }, { { kind = "http", status = 302 }, "rejected" },
      { { kind = "http", status = 200 }, "ambiguous" }, { { kind = "http", status = 502 }, "ambiguous" },
      { { kind = "http" }, "ambiguous" }, { { kind = "something new" }, "ambiguous" },
      { { outcome = "paid?", kind = "timeout" }, "ambiguous" }, { "text", "ambiguous" },
    }
    for _, case in ipairs(cases) do
      local e = case[1]
      assert.are.equal(case[2], outcome.of(e), type(e) == "table" and tostring(e.kind) .. " "
        .. tostring(e.code or e.status) or e)
    end
  end)
end)
