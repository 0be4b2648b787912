-- The tokenStore is honoured by polled calls too: one process sending one
-- payout at a time and another running a 400-payout sendBatch, on one store
-- shared through files, fetch one token between them. (Before the engine,
-- sendBatch ignored the store: each fetch killed the other's token.)
local b2c = require("b2c")
local sim = require("support.sim")
local files = require("support.files")
local file_store = require("support.file_store")

local PAYMENT = "/mpesa/b2c/v3/paymentrequest"

describe("a tokenStore shared by a blocking sender and a sendBatch in two processes", function()
  local s, dir

  setup(function()
    s = sim.start({ callbackDelay = 30 })
    dir = files.tempdir()
  end)
  teardown(function()
    if s then s:stop() end
    if dir then os.execute("rm -rf " .. dir) end
  end)

  it("fetches at most two tokens, with about one invalid-token refusal", function()
    local credential = assert(b2c.securityCredential(s.initiatorPassword, s.certificate))
    local stop = dir .. "/stop"
    local child = assert(io.popen(string.format("LUA_PATH='lua/?.lua;lua/?/init.lua;spec/?.lua;;' "
      .. "LUA_CPATH='build/?.so;;' lua5.4 spec/support/store_sender.lua %s %s %s %s %s %s",
      s.url, s.consumerKey, s.consumerSecret, credential, dir, stop)))
    local mpesa = assert(b2c.new({
      consumerKey = s.consumerKey, consumerSecret = s.consumerSecret, shortCode = "600996",
      initiatorName = "testapi", securityCredential = credential, baseUrl = s.url,
      resultUrl = s.url .. "/nowhere", queueTimeOutUrl = s.url .. "/nowhere", timeout = 10,
      tokenStore = file_store.new(dir),
    }))
    local payouts = {}
    for i = 1, 400 do
      payouts[i] = { recipientPhone = "0708374149", amount = 100, remarks = "batch " .. i }
    end
    local report = assert(mpesa.b2c.sendBatch(payouts, { concurrency = 8 }))
    assert(io.open(stop, "wb")):close()
    local out = child:read("*a")
    child:close()
    mpesa:close()
    local sent, failed = out:match("sent (%d+) failed (%d+)")
    sent, failed = tonumber(sent), tonumber(failed)
    assert.is_not_nil(sent, out)
    local st = s:stats()
    -- every refused request is sent once more: requests beyond the payouts are refusals
    local refusals = st.requests[PAYMENT] - 400 - sent
    print(string.format("\n    one store, blocking sender (%d sends) + sendBatch(400): %d tokens "
      .. "fetched, %d invalid-token refusals; batch accepted %d", sent, st.tokensIssued, refusals,
      report.accepted))
    assert.are.equal(0, failed)
    assert.are.equal(400, report.accepted)
    assert.is_true(st.tokensIssued <= 2, st.tokensIssued .. " tokens")
    assert.is_true(refusals <= 2, refusals .. " refusals")
  end)
end)
