-- The nginx.conf of docs/openresty.md (its one ```nginx block), run as
-- written in a real nginx against the simulator. The settings come from the
-- environment, as the page says: the spec sets them for nginx, pointing at
-- the simulator (sandbox, http callback URLs on this nginx's own loopback).
--
-- The only changes made to the page's text: the install prefix /opt/b2c
-- becomes the spec's temporary folder, and the port of `listen 8080;` a free
-- one. Nothing else is substituted. (nginx also gets -e and -g "daemon off;"
-- on its command line from support.nginx, which changes no line of the text.)
local b2c = require("b2c")
local nginx = require("support.nginx")
local docs = require("support.docs")
local socket = require("socket")

local PAYMENT = "/mpesa/b2c/v3/paymentrequest"
local PREFIX, LISTEN = "/opt/b2c", "listen 8080;"
local SUCCESS = "254708374149"   -- the simulator's (and Daraja sandbox's) success number

local function readme_nginx_conf()
  local blocks = docs.blocks("docs/openresty.md", "A payout service", "nginx")
  assert(#blocks == 1, "expected one ```nginx block under A payout service, found " .. #blocks)
  return blocks[1]
end

local function count(text, needle)
  local n, pos = 0, 1
  while true do
    local i = text:find(needle, pos, true)
    if not i then return n end
    n, pos = n + 1, i + #needle
  end
end

-- The page's text with the prefix and the port replaced (and only those).
local function substituted(conf, prefix, port)
  assert(count(conf, LISTEN) == 1, "expected exactly one `" .. LISTEN .. "` in docs/openresty.md's nginx.conf")
  assert(count(conf, PREFIX) > 0, "docs/openresty.md's nginx.conf no longer installs under " .. PREFIX)
  local out = conf:gsub(PREFIX:gsub("%p", "%%%0"), (prefix:gsub("%%", "%%%%")))
  out = out:gsub(LISTEN:gsub("%p", "%%%0"), "listen " .. port .. ";")
  return out
end

local function read_file(path)
  return require("support.files").read(path) or ""
end

local function form_post(n, path, body)
  return assert(n:request("POST", path, body,
    { ["Content-Type"] = "application/x-www-form-urlencoded" }))
end

local function find_callback(st, conversation_id)
  for _, cb in ipairs(st.callbacks or {}) do
    if cb.kind == "result" and cb.conversationId == conversation_id then return cb end
  end
end

describe("the nginx.conf of docs/openresty.md", function()
  local s, n, port

  setup(function()
    local credential
    s, credential = nginx.simulator()
    port = nginx.free_port()
    local callbacks = "http://127.0.0.1:" .. port
    local conf = readme_nginx_conf()
    n = nginx.start({
      port = port,
      conf = function(prefix, p) return substituted(conf, prefix, p) end,
      env = nginx.daraja_env(s, credential, callbacks),
    })
  end)

  teardown(function()
    if n then n:stop() end
    if s then s:stop() end
  end)

  local function error_log()
    return read_file(n.prefix .. "/logs/error.log") .. n:errorLog()
  end

  it("pays out from /payouts with the caller's OCID and takes the result callback", function()
    local ocid = b2c.newOriginatorConversationId()   -- the caller's, stored before it calls
    local res = form_post(n, "/payouts", "ocid=" .. ocid .. "&phone=" .. SUCCESS .. "&amount=500")
    assert.are.equal(200, res.status, res.body .. error_log())
    local conversation_id = res.body:match("^(AG_%S+)\n$")
    assert.is_string(conversation_id, res.body)

    local st = s:stats()
    assert.are.equal(1, st.requests[PAYMENT])
    local payout = st.payouts[#st.payouts]
    assert.are.equal(conversation_id, payout.conversationId)
    assert.are.equal(ocid, payout.ocid)
    assert.are.equal(SUCCESS, payout.partyB)
    assert.are.equal(500, payout.amount)
    assert.is_true(payout.credentialValid)
    assert.are.equal(1, st.sendsByOcid[ocid])

    -- The simulator posts the result to B2C_RESULT_URL: the page's handler acknowledges it.
    local cb
    local deadline = socket.gettime() + 5
    repeat
      cb = find_callback(s:stats(), conversation_id)
      if cb and not cb.pending then break end
      socket.sleep(0.05)
    until socket.gettime() > deadline
    assert.is_table(cb, "no result callback for " .. conversation_id)
    assert.are.equal("http://127.0.0.1:" .. port .. "/mpesa/b2c/result", cb.url)
    assert.is_true(cb.delivered, error_log())
    assert.is_true(cb.status >= 200 and cb.status < 300, tostring(cb.status))
    assert.are.equal(1, cb.attempts)

    -- A caller that lost the answer and calls again with its OCID is not paid twice.
    local again = form_post(n, "/payouts", "ocid=" .. ocid .. "&phone=" .. SUCCESS .. "&amount=500")
    assert.are.equal(502, again.status, again.body)
    assert.matches("already submitted", again.body)
    local paid = 0
    for _, p in ipairs(s:stats().payouts) do
      if p.ocid == ocid then paid = paid + 1 end
    end
    assert.are.equal(1, paid)
  end)

  it("refuses a payout without the caller's OCID, sending nothing", function()
    local sent = s:stats().requests[PAYMENT] or 0
    for _, body in ipairs({ "phone=" .. SUCCESS .. "&amount=500", "ocid=&phone=" .. SUCCESS .. "&amount=500",
      "ocid=a&ocid=b&phone=" .. SUCCESS .. "&amount=500" }) do
      local res = form_post(n, "/payouts", body)
      assert.are.equal(400, res.status, res.body)
      assert.matches("ocid", res.body)
    end
    assert.are.equal(sent, s:stats().requests[PAYMENT] or 0)
  end)

  it("answers 400 to a payout the SDK refuses, without sending it", function()
    local sent = s:stats().requests[PAYMENT] or 0
    local res = form_post(n, "/payouts", "ocid=readme-bad-amount&phone=" .. SUCCESS .. "&amount=10.5")
    assert.are.equal(400, res.status, res.body)
    assert.matches("amount: ", res.body)
    assert.are.equal(sent, s:stats().requests[PAYMENT] or 0)
    assert.matches("amount: ", error_log())
  end)

  it("answers 400 to a malformed result callback", function()
    local res = assert(n:request("POST", "/mpesa/b2c/result", "{not json",
      { ["Content-Type"] = "application/json" }))
    assert.are.equal(400, res.status, res.body)
    assert.matches('"ResultCode":1', res.body)
  end)

  -- A cold start alone would not catch a missing `env NAME;`: init_by_lua runs
  -- in the master, which keeps its whole environment at start and on reload.
  -- Worker processes, and a master started by a binary upgrade (USR2), get
  -- only the declared variables (and TZ).
  it("declares with `env` every variable it reads", function()
    local conf = readme_nginx_conf()
    local declared, read = {}, {}
    for name in conf:gmatch("%f[%w_]env%s+([%a_][%w_]*)%s*;") do declared[name] = true end
    for name in conf:gmatch("getenv%(%s*\"([%a_][%w_]*)\"%s*%)") do read[#read + 1] = name end
    for name in conf:gmatch("%f[%w_]env%(%s*\"([%a_][%w_]*)\"%s*%)") do read[#read + 1] = name end
    assert.is_true(#read > 0)
    for _, name in ipairs(read) do
      assert.is_true(declared[name] == true, name .. " is read but not declared with `env " .. name .. ";`")
    end
  end)

  it("logs nothing severe", function()
    local log = error_log()
    assert.is_nil(log:find("%[alert%]"), log)
    assert.is_nil(log:find("%[crit%]"), log)
    assert.is_nil(log:find("%[emerg%]"), log)
  end)
end)
