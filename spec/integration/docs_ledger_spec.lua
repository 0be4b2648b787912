-- The ledger snippet of docs/ledger.md, run as written against the simulator
-- on a SQLite ledger. The only change made to its text: the folder of the
-- database, /var/lib/payouts, becomes a temporary one. `mpesa` and `body`
-- (the result callback the simulator made for the payout) are given here.
local b2c = require("b2c")
local json = require("b2c.json")
local sim = require("support.sim")
local docs = require("support.docs")
local files = require("support.files")

local FOLDER = "/var/lib/payouts"

describe("the ledger snippet of docs/ledger.md", function()
  local s, dir

  setup(function()
    s = sim.start({ callbackDelay = 30 })
    dir = files.tempdir()
  end)
  teardown(function()
    if s then s:stop() end
    if dir then os.execute("rm -rf '" .. dir .. "'") end
  end)

  it("pays, records the result and reconciles", function()
    if not pcall(require, "luasql.sqlite3") then
      pending("LuaSQL for SQLite is not installed for " .. _VERSION)
      return
    end
    local code = docs.blocks("docs/ledger.md", "The payout ledger (b2c.ledger)")[1]
    local at = code:find(FOLDER, 1, true)
    assert.is_not_nil(at, "the snippet no longer keeps its ledger in " .. FOLDER)
    code = code:sub(1, at - 1) .. dir .. code:sub(at + #FOLDER)
    local mpesa = assert(b2c.new(s:settings({ resultUrl = s.url .. "/nowhere",
      queueTimeOutUrl = s.url .. "/nowhere" })))
    -- `body` is read after the payout went: the simulator's pending callback for it
    local names = setmetatable({ mpesa = mpesa }, { __index = function(_, name)
      if name ~= "body" then return _G[name] end
      local callbacks = s:stats().callbacks
      return json.encode(callbacks[#callbacks].payload)
    end })
    docs.run(code, names)
    mpesa:close()
    local book = assert(require("b2c.ledger").open("sqlite://" .. dir .. "/ledger.db"))
    local payout = assert(book:get("invoice-1042"))
    book:close()
    assert.are.equal("paid", payout.state)
    assert.are.equal(500, payout.amount)
    assert.are.equal(1, s:stats().sendsByOcid[payout.originatorConversationId])
  end)
end)
