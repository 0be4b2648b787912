-- b2c-sim: OAuth tokens and Bearer checks.
local H = require("sim.helper")
local socket = require("socket")
local sim = H.sim

describe("b2c-sim OAuth", function()
  local s, credential

  setup(function()
    s = sim.start({ callbackDelay = 0.05 })
    credential = s:credential()
  end)
  teardown(function()
    if s then s:stop() end
  end)
  before_each(function() s:reset() end)

  local function oauth(auth, query)
    return assert(s:request("GET", "/oauth/v1/generate" .. (query or "?grant_type=client_credentials"),
      { headers = { Authorization = auth } }))
  end

  local function pay(token)
    return H.post(s, H.PAY, H.payment(s, nil, credential), token)
  end

  it("prints a ready line with the URL and an absolute certificate path", function()
    assert.matches("^http://127%.0%.0%.1:%d+$", s.url)
    assert.is_true(s.port > 0)
    assert.matches("^/.*sim%-cert%.pem$", s.certificate)
    local f = assert(io.open(s.certificate))
    assert.matches("BEGIN CERTIFICATE", f:read("a"))
    f:close()
  end)

  it("issues a 28-character token with expires_in as a string", function()
    local res = oauth(s:basic())
    assert.are.equal(200, res.status)
    assert.matches("application/json", res.headers["content-type"])
    assert.matches("^%w+$", res.json.access_token)
    assert.are.equal(28, #res.json.access_token)
    assert.are.equal("3599", res.json.expires_in)
    assert.matches('"expires_in":"3599"', res.body)
    assert.are.equal(1, s:stats().tokensIssued)
  end)

  it("writes expires_in as a number when configured", function()
    s:config({ expiresInNumber = true, tokenTtl = 120 })
    local res = oauth(s:basic())
    assert.are.equal(200, res.status)
    assert.matches('"expires_in":120[,}]', res.body)
    assert.are.equal(120, res.json.expires_in)
  end)

  it("rejects a wrong secret, a missing header and a non-Basic header with 400.008.01", function()
    for _, auth in ipairs({ "Basic " .. sim.base64(s.consumerKey .. ":wrong"), false,
      "Bearer " .. sim.base64(s.consumerKey .. ":" .. s.consumerSecret), "Basic !!!" }) do
      local res = oauth(auth)
      assert.are.equal(400, res.status)
      assert.are.equal("400.008.01", res.json.errorCode)
      assert.are.equal("Invalid Authentication passed", res.json.errorMessage)
      assert.is_string(res.json.requestId)
    end
    assert.are.equal(0, s:stats().tokensIssued)
  end)

  it("rejects a wrong grant_type with 400.008.02", function()
    for _, q in ipairs({ "?grant_type=password", "" }) do
      local res = oauth(s:basic(), q)
      assert.are.equal(400, res.status)
      assert.are.equal("400.008.02", res.json.errorCode)
      assert.are.equal("Invalid grant type passed", res.json.errorMessage)
    end
  end)

  it("accepts a fresh token on a payment request", function()
    local res = pay(s:token())
    assert.are.equal(200, res.status)
    assert.are.equal("0", res.json.ResponseCode)
  end)

  it("answers a missing, unknown or malformed token with 404 404.001.03", function()
    for _, auth in ipairs({ false, "Bearer nope", "Bearer", "Basic abc" }) do
      local res = assert(s:request("POST", H.PAY, { json = H.payment(s, nil, credential),
        headers = { Authorization = auth } }))
      assert.are.equal(404, res.status)
      assert.are.equal("404.001.03", res.json.errorCode)
      assert.are.equal("Invalid Access Token", res.json.errorMessage)
    end
    assert.are.equal(0, #s:stats().payouts)
  end)

  it("takes the scheme as Daraja documents it, `Bearer`, and no other spelling", function()
    local token = s:token()
    for _, auth in ipairs({ "bearer " .. token, "BEARER " .. token, "Bearer  " .. token, "Bearer\t" .. token }) do
      local res = assert(s:request("POST", H.PAY, { json = H.payment(s, nil, credential),
        headers = { Authorization = auth } }))
      assert.are.equal(404, res.status)
      assert.are.equal("404.001.03", res.json.errorCode)
      assert.are.equal("Invalid Access Token", res.json.errorMessage)
    end
    assert.are.equal(0, #s:stats().payouts)
    assert.are.equal(200, pay(token).status)
  end)

  it("invalidates the previous token when a new one is issued", function()
    local first = s:token()
    local second = s:token()
    assert.are_not.equal(first, second)
    assert.are.equal(404, pay(first).status)
    assert.are.equal(200, pay(second).status)
    local st = s:stats()
    assert.are.equal(2, st.tokensIssued)
    assert.are.equal(1, st.tokensValid)
  end)

  it("expires tokens after tokenTtl seconds", function()
    s:config({ tokenTtl = 0.6 })
    local res = oauth(s:basic())
    assert.are.equal("0.6", res.json.expires_in)
    local token = res.json.access_token
    assert.are.equal(200, pay(token).status)
    socket.sleep(0.7)
    local late = pay(token)
    assert.are.equal(404, late.status)
    assert.are.equal("404.001.03", late.json.errorCode)
  end)

  it("honours --token-ttl on the command line", function()
    local other = sim.start({ tokenTtl = 2 })
    finally(function() other:stop() end)
    local res = assert(other:request("GET", H.OAUTH, { headers = { Authorization = other:basic() } }))
    assert.are.equal("2", res.json.expires_in)
  end)

  it("answers in the 401 style, echoing the token, when configured", function()
    s:config({ invalidTokenStyle = "401" })
    local res = pay("NotAValidToken123")
    assert.are.equal(401, res.status)
    assert.are.equal("401.002.01", res.json.errorCode)
    assert.are.equal("Error Occurred - Invalid Access Token - NotAValidToken123", res.json.errorMessage)
  end)

  it("revokes every token on /sim/revoke-tokens", function()
    local token = s:token()
    s:revokeTokens()
    assert.are.equal(404, pay(token).status)
    assert.are.equal(200, pay(s:token()).status)
  end)

  it("rejects every token while rejectAllTokens is set", function()
    s:config({ rejectAllTokens = true })
    assert.are.equal(404, pay(s:token()).status)
    s:config({ rejectAllTokens = false })
    assert.are.equal(200, pay(s:token()).status)
  end)

  it("forgets tokens on /sim/reset", function()
    local token = s:token()
    s:reset()
    assert.are.equal(404, pay(token).status)
    assert.are.equal(0, s:stats().tokensIssued)
  end)

  it("uses the consumer key and secret given on the command line", function()
    local other = sim.start({ consumerKey = "k1", consumerSecret = "s1" })
    finally(function() other:stop() end)
    assert.are.equal("k1", other.consumerKey)
    local ok = assert(other:request("GET", H.OAUTH, { headers = { Authorization = "Basic " .. sim.base64("k1:s1") } }))
    assert.are.equal(200, ok.status)
    local bad = assert(other:request("GET", H.OAUTH, { headers = { Authorization = s:basic() } }))
    assert.are.equal(400, bad.status)
  end)
end)
