-- The tokenStore protocol (a token shared between processes, e.g. nginx
-- workers), with an in-memory store object standing in for ngx.shared.DICT
-- and the "other processes" played by the spec. No nginx here.
local b2c = require("b2c")
local sim = require("support.sim")

local PAYMENT = "/mpesa/b2c/v3/paymentrequest"

-- get/set/delete/lock/unlock over a Lua table; every call is recorded.
local function memory_store()
  local store = { entries = {}, locks = {}, calls = {} }
  local function note(...) store.calls[#store.calls + 1] = table.concat({ ... }, " ") end
  function store:get(key)
    note("get")
    local e = self.entries[key]
    if e then return e.token, e.ttl end
  end
  function store:set(key, token, ttl)
    note("set")
    self.entries[key] = { token = token, ttl = ttl }
  end
  function store:delete(key, token)
    note("delete")
    local e = self.entries[key]
    if e and e.token == token then self.entries[key] = nil end
  end
  function store:lock(key, seconds)
    note("lock", tostring(seconds))
    if self.locks[key] then return false end
    self.locks[key] = true
    return true
  end
  function store:unlock(key)
    note("unlock")
    self.locks[key] = nil
  end
  function store:only()  -- the single entry (the spec's clients are all of one app)
    local key, e = next(self.entries)
    return key, e
  end
  return store
end

describe("tokenStore: one token shared between processes", function()
  local s, credential

  -- A fresh simulator per test: a new host is a new app identity, so the
  -- process-wide cache in the C core starts empty each time.
  before_each(function()
    s = sim.start({ callbackDelay = 0.05 })
    credential = credential or assert(b2c.securityCredential(s.initiatorPassword, s.certificate))
  end)
  after_each(function()
    if s then s:stop() end
  end)

  local function client(store)
    return assert(b2c.new({
      consumerKey = s.consumerKey, consumerSecret = s.consumerSecret, shortCode = "600996",
      initiatorName = "testapi", securityCredential = credential, baseUrl = s.url,
      resultUrl = "http://127.0.0.1:9/result", queueTimeOutUrl = "http://127.0.0.1:9/timeout",
      timeout = 5, tokenStore = store,
    }))
  end

  local function payout()
    return { recipientPhone = "0708374149", amount = 500, remarks = "Partner settlement" }
  end

  it("fetches under the lock and publishes the token when the store is empty", function()
    local store = memory_store()
    local mpesa = client(store)
    assert(mpesa.b2c.send(payout()))
    assert(mpesa.b2c.send(payout()))
    assert.are.same({ "get", "lock 6", "get", "set", "unlock" }, store.calls)
    local key, e = store:only()
    assert.matches("^" .. string.rep("%x", 64) .. "$", key)
    assert.is_string(e.token)
    assert.is_true(e.ttl > 3000 and e.ttl <= 3599)
    assert.are.equal(1, s:stats().tokensIssued)
    mpesa:close()
  end)

  it("uses a token another process put in the store, without fetching", function()
    local store = memory_store()
    local mpesa = client(store)
    local key = mpesa.sharedToken.key
    store:set(key, s:token(), 3000)  -- "another worker" fetched it
    store.calls = {}
    for _ = 1, 3 do assert(mpesa.b2c.send(payout())) end
    assert.are.same({ "get" }, store.calls)  -- then the process cache serves it
    local st = s:stats()
    assert.are.equal(1, st.tokensIssued)
    assert.are.equal(3, st.requests[PAYMENT])
    mpesa:close()
  end)

  it("deletes a refused token from the store, then fetches and publishes a new one", function()
    local store = memory_store()
    local mpesa = client(store)
    local key = mpesa.sharedToken.key
    local stale = s:token()
    s:revokeTokens()
    store:set(key, stale, 3000)
    store.calls = {}
    assert(mpesa.b2c.send(payout()))
    assert.are.same({ "get", "delete", "get", "lock 6", "get", "set", "unlock" }, store.calls)
    local _, e = store:only()
    assert.are_not.equal(stale, e.token)
    local st = s:stats()
    assert.are.equal(2, st.tokensIssued)       -- the spec's, and one by the client
    assert.are.equal(2, st.requests[PAYMENT])  -- refused once, then sent
    assert.are.equal(1, #st.payouts)
    mpesa:close()
  end)

  -- A client that has sent once with `first`, the token in the store.
  local function client_holding_first(store)
    local mpesa = client(store)
    local key = mpesa.sharedToken.key
    local first = s:token()
    store:set(key, first, 3000)
    assert(mpesa.b2c.send(payout()))
    return mpesa, key, first
  end

  it("never deletes a newer token another process stored meanwhile", function()
    local store = memory_store()
    local mpesa, key = client_holding_first(store)
    local newer = s:token()               -- another worker fetched: `first` is dead
    store:set(key, newer, 3000)
    store.calls = {}
    assert(mpesa.b2c.send(payout()))
    -- refused, delete(first) leaves `newer`, which the retry takes from the store
    assert.are.same({ "delete", "get" }, store.calls)
    local _, e = store:only()
    assert.are.equal(newer, e.token)
    assert.are.equal(2, s:stats().tokensIssued)  -- both by "other workers"
    mpesa:close()
  end)

  it("takes the token another process stored while it waited for the lock", function()
    local store = memory_store()
    local mpesa = client(store)
    local key = mpesa.sharedToken.key
    function store:lock(k)  -- another worker holds the lock, fetches, publishes
      self.calls[#self.calls + 1] = "lock"
      self.entries[k] = { token = s:token(), ttl = 3000 }
      return false
    end
    assert(mpesa.b2c.send(payout()))
    assert.are.same({ "get", "lock", "get" }, store.calls)  -- no unlock: it never held it
    assert.is_nil(store.locks[key])
    assert.are.equal(1, s:stats().tokensIssued)
    mpesa:close()
  end)

  it("never takes back a refused token the store still holds; waits for the fetcher instead", function()
    local store = memory_store()
    local mpesa, _, first = client_holding_first(store)
    s:revokeTokens()
    -- Another worker holds the lock while it fetches: the deletion of the
    -- refused token waits for nobody and leaves it in the store.
    function store:delete() self.calls[#self.calls + 1] = "delete" end
    local stale_seen
    function store:lock(k, _, stale)
      self.calls[#self.calls + 1] = "lock"
      stale_seen = stale
      self.entries[k] = { token = s:token(), ttl = 3000 }  -- that worker publishes
      return false
    end
    store.calls = {}
    assert(mpesa.b2c.send(payout()))
    assert.are.same({ "delete", "get", "lock", "get" }, store.calls)
    assert.are.equal(first, stale_seen)
    assert.are.equal(2, s:stats().tokensIssued)  -- both by "other workers"
    mpesa:close()
  end)

  it("unlocks and reports kind auth when the fetch is refused", function()
    local store = memory_store()
    local mpesa = assert(b2c.new({
      consumerKey = s.consumerKey, consumerSecret = "wrong", shortCode = "600996",
      initiatorName = "testapi", securityCredential = credential, baseUrl = s.url,
      resultUrl = "http://127.0.0.1:9/r", queueTimeOutUrl = "http://127.0.0.1:9/t", tokenStore = store,
    }))
    local ack, err = mpesa.b2c.send(payout())
    assert.is_nil(ack)
    assert.are.equal("auth", err.kind)
    assert.are.same({ "get", "lock 31", "get", "unlock" }, store.calls)
    assert.is_nil(next(store.entries))
    mpesa:close()
  end)

  it("names the app by a digest that does not reveal the secret", function()
    local a, b = client(memory_store()), client(memory_store())
    assert.are.equal(a.sharedToken.key, b.sharedToken.key)
    assert.is_nil(a.sharedToken.key:find(s.consumerSecret, 1, true))
    assert.is_nil(a.sharedToken.key:find(s.consumerKey, 1, true))
    local other = assert(b2c.new({
      consumerKey = s.consumerKey, consumerSecret = "another-secret", shortCode = "600996",
      initiatorName = "testapi", securityCredential = credential, baseUrl = s.url,
      tokenStore = memory_store(),
    }))
    assert.are_not.equal(a.sharedToken.key, other.sharedToken.key)
    a:close(); b:close(); other:close()
  end)

  it("refuses a tokenStore without the five methods", function()
    local store = memory_store()
    store.unlock = nil
    local mpesa, err = b2c.new({
      consumerKey = "k", consumerSecret = "s", shortCode = "600996", initiatorName = "testapi",
      securityCredential = credential, baseUrl = s.url, tokenStore = store,
    })
    assert.is_nil(mpesa)
    assert.are.equal("config", err.kind)
    assert.are.equal("tokenStore", err.field)
    local _, err2 = b2c.new({
      consumerKey = "k", consumerSecret = "s", shortCode = "600996", initiatorName = "testapi",
      securityCredential = credential, baseUrl = s.url, tokenStore = "b2c_tokens",
    })
    assert.are.equal("tokenStore", err2.field)
  end)
end)
