-- docs/callbacks.md's "Receiving callbacks in a test, without nginx", run as
-- written against the simulator: a payout whose result callback reaches the
-- b2c.sim.receiver the snippet opens. The settings it reads with os.getenv
-- come from a table; the simulator is stopped even when the snippet fails.
local sim = require("support.sim")
local docs = require("support.docs")

describe("the snippets of docs/callbacks.md", function()
  it("Receiving callbacks in a test, without nginx: the payout's result arrives", function()
    local s = sim.start({ callbackDelay = 0.05 })
    finally(function() s:stop() end)
    local vars = {
      DARAJA_KEY = s.consumerKey, DARAJA_SECRET = s.consumerSecret, DARAJA_BASE_URL = s.url,
      DARAJA_INITIATOR_PASSWORD = s.initiatorPassword, DARAJA_CERTIFICATE = s.certificate,
    }
    local printed = {}
    docs.run(docs.blocks("docs/callbacks.md", "Receiving callbacks in a test, without nginx")[1], {
      os = setmetatable({ getenv = function(name) return vars[name] end }, { __index = os }),
      print = function(...) printed[#printed + 1] = table.concat({ ... }, " ") end,
    })
    assert.are.same({ "The service request is processed successfully." }, printed)
    -- the receiver's answer may still be on its way to the simulator: no
    -- assertion on the delivery's state, only on what was sent where
    local callbacks = s:stats().callbacks
    assert.are.equal(1, #callbacks)
    assert.matches("/result$", callbacks[1].url)
  end)
end)
