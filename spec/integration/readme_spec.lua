-- The Lua snippets of README.md and the docs/ pages, run as written against
-- the simulator: the settings they read with os.getenv come from a table,
-- the names they leave to the reader (request_body, mark_paid, save_pending,
-- ...) are defined here.
local b2c = require("b2c")
local sim = require("support.sim")
local docs = require("support.docs")

local run = docs.run

describe("the documentation's snippets", function()
  local s

  setup(function() s = sim.start({ callbackDelay = 30 }) end)
  teardown(function() if s then s:stop() end end)

  it("README, a first payout: the send snippet pays out", function()
    local vars = {
      DARAJA_KEY = s.consumerKey, DARAJA_SECRET = s.consumerSecret, DARAJA_BASE_URL = s.url,
      DARAJA_INITIATOR_PASSWORD = s.initiatorPassword, DARAJA_CERTIFICATE = s.certificate,
      B2C_RESULT_URL = s.url .. "/nowhere", B2C_TIMEOUT_URL = s.url .. "/nowhere",
    }
    local printed = {}
    run(docs.blocks("README.md", "A first payout, in plain Lua")[1], {
      os = setmetatable({ getenv = function(name) return vars[name] end }, { __index = os }),
      print = function(...) printed[#printed + 1] = table.concat({ ... }, " ") end,
    })
    assert.are.equal(1, #printed)
    assert.matches("^AG_", printed[1])
    local payouts = s:stats().payouts
    assert.are.equal("254712345678", payouts[#payouts].partyB)
    assert.are.equal(500, payouts[#payouts].amount)
  end)

  local handlers = { { "README.md", "A first payout, in plain Lua", 2 }, { "docs/callbacks.md", "Callbacks", 1 } }
  for _, where in ipairs(handlers) do
    it(where[1] .. ": the result handler snippet reads a success callback", function()
      local body = require("support.files").must("spec/fixtures/daraja/b2c_result_success_docs_v3.json")
      local paid, failed
      run(docs.blocks(where[1], where[2])[where[3]], {
        b2c = b2c, request_body = body,
        mark_paid = function(...) paid = { ... } end,
        mark_failed = function(...) failed = { ... } end,
      })
      assert.is_nil(failed)
      assert.are.same({ "53e3-4aa8-9fe0-8fb5e4092cdd3533373", "SG632NMUAB", 10 }, paid)
    end)
  end

  it("docs/game-loops-and-c-hosts.md: the tick snippet completes a payout", function()
    local mpesa = assert(b2c.new(s:settings({ resultUrl = s.url .. "/nowhere",
      queueTimeOutUrl = s.url .. "/nowhere" })))
    local saved, reported
    local tick = run(docs.blocks("docs/game-loops-and-c-hosts.md", "Game loops: polled payouts")[1], {
      mpesa = mpesa,
      save_pending = function(ocid) saved = ocid end,
      report = function(ocid, ack, err) reported = { ocid = ocid, ack = ack, err = err } end,
    }, "\nreturn tick")
    assert.is_string(saved)
    for _ = 1, 20000 do
      tick()
      if reported then break end
      require("socket").sleep(0.001)
    end
    assert.is_not_nil(reported, "the payout did not finish")
    assert.are.equal(saved, reported.ocid)
    assert.is_nil(reported.err)
    assert.are.equal(saved, reported.ack.OriginatorConversationID)
    mpesa:close()
  end)

  it("docs/api.md, mpesa.b2c.sendBatch: the payroll snippet pays every row, stores each OCID by reference", function()
    local mpesa = assert(b2c.new(s:settings({ resultUrl = s.url .. "/nowhere",
      queueTimeOutUrl = s.url .. "/nowhere" })))
    local salaries = {}
    for i = 1, 3 do
      salaries[i] = { recipientPhone = "0708374149", amount = 1000 * i, remarks = "March salary",
        reference = 100 + i }
    end
    local stored, printed = {}, {}
    local db = { exec = function(_, sql, ocid, id)
      if sql:find("SET ocid", 1, true) then stored[id] = ocid end
    end }
    run(docs.blocks("docs/api.md", "mpesa.b2c.sendBatch")[1], {
      mpesa = mpesa, salaries = salaries, db = db,
      print = function(...) printed[#printed + 1] = table.concat({ ... }, " ") end,
    })
    mpesa:close()
    assert.are.equal("3 accepted; 0 to reconcile", printed[1])
    local sends = s:stats().sendsByOcid
    for i = 1, 3 do
      assert.is_string(stored[100 + i], "row " .. (100 + i) .. " has its OCID")
      assert.are.equal(1, sends[stored[100 + i]])
    end
  end)
  it("docs/api.md, More operations: each operation's snippet reaches its Daraja path", function()
    local mpesa = assert(b2c.new(s:settings({ resultUrl = s.url .. "/nowhere",
      queueTimeOutUrl = s.url .. "/nowhere" })))
    local before = s:stats().requests
    local ocid = b2c.newOriginatorConversationId()
    run(docs.blocks("docs/api.md", "More operations")[1], { mpesa = mpesa, ocid = ocid })
    mpesa:close()
    local st = s:stats()
    local function sent(path) return (st.requests[path] or 0) - (before[path] or 0) end
    assert.are.equal(1, sent("/mpesa/b2pochi/v1/paymentrequest"))
    assert.are.equal(3, sent("/mpesa/b2b/v1/paymentrequest"))     -- top up, pay bill, buy goods
    assert.are.equal(1, sent("/mpesa/reversal/v1/request"))
    assert.are.equal(1, st.sendsByOcid[ocid])
  end)

  it("docs/simulator.md, Testing against the simulator: the client snippet pays out", function()
    -- the snippet's keys are b2c-sim's defaults, which the spec helper's
    -- simulators leave for one of their own each
    local own = sim.start({ consumerKey = sim.DEFAULTS.consumerKey, callbackDelay = 30 })
    finally(function() own:stop() end)
    local receiver = sim.receiver()
    -- the snippet's placeholders (and only those) become this run's values
    local code = docs.blocks("docs/simulator.md", "Testing against the simulator")[1]
    local function replace(text, placeholder, value)
      local out, n = text:gsub(placeholder:gsub("%p", "%%%0"), (tostring(value):gsub("%%", "%%%%")))
      assert.is_true(n > 0, "the snippet no longer has " .. placeholder)
      return out
    end
    code = replace(code, "/path/sim-cert.pem", own.certificate)
    code = replace(code, "YOUR_PORT", receiver.port)
    code = replace(code, "PORT", own.port)
    local mpesa = run(code, { b2c = b2c }, "\nreturn mpesa")
    local ack = assert(mpesa.b2c.send({ recipientPhone = "0708374149", amount = 100, remarks = "Docs" }))
    mpesa:close()
    receiver:close()
    assert.are.equal(1, own:stats().sendsByOcid[ack.OriginatorConversationID])
  end)
end)
