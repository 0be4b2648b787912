-- examples/reconcile.lua, run as a user would run it, against the simulator.
local sim = require("support.sim")
local shell = require("support.shell")

describe("examples/reconcile.lua", function()
  local s

  setup(function() s = sim.start({ callbackDelay = 0.05 }) end)
  teardown(function() if s then s:stop() end end)

  it("resolves every payout and pays nobody twice", function()
    local ok, out, code = shell.run(string.format("B2C_BASE_URL=%s B2C_CONSUMER_KEY=%s B2C_CERTIFICATE=%s "
      .. "B2C_CALLBACK_WAIT=1 "
      .. "LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/?.so;;' lua5.4 examples/reconcile.lua",
      s.url, s.consumerKey, s.certificate))
    assert.is_true(ok, out)
    assert.are.equal(0, code)
    assert.matches("utility%s+KES 1000000%.00", out)
    assert.matches("verdict%s+completed, receipt %w+, KES 2500", out)
    assert.matches("verdict%s+not_found\n", out)
    assert.matches("verdict%s+completed, receipt %w+, KES 800", out)
    assert.matches("nobody was paid twice", out)

    local st = s:stats()
    local by_amount = {}
    for _, p in ipairs(st.payouts) do
      assert.are.equal("completed", p.state)
      by_amount[p.amount] = (by_amount[p.amount] or 0) + 1
    end
    -- one payout each; the 1200 one only after "not found", with a new OCID
    assert.are.same({ [2500] = 1, [1200] = 1, [800] = 1 }, by_amount)
    for ocid, n in pairs(st.sendsByOcid) do assert.are.equal(1, n, ocid) end
    assert.are.equal(3, #st.queries - 1) -- three status queries and the balance
  end)
end)
