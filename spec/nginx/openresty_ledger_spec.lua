-- The nginx.conf of docs/openresty.md's "A whole nginx.conf with the ledger",
-- run as written in a real nginx against the simulator, its settings from the
-- environment. The only changes made to
-- the text: the prefix /opt/b2c becomes the spec's temporary folder and the
-- port of `listen 8080;` a free one.
local nginx = require("support.nginx")
local files = require("support.files")
local docs = require("support.docs")
local socket = require("socket")

local PREFIX, LISTEN = "/opt/b2c", "listen 8080;"
local SUCCESS, QUEUE_TIMEOUT = "254708374149", "254700009001"
local PAYMENT = "/mpesa/b2c/v3/paymentrequest"

local function page_conf()
  local found = docs.blocks("docs/openresty.md", "A whole nginx.conf with the ledger", "nginx")
  assert(#found == 1, "expected one ```nginx block under A whole nginx.conf with the ledger, found " .. #found)
  assert(found[1]:find("b2c_ngx.ledger(", 1, true), "the block no longer calls b2c_ngx.ledger(")
  return found[1]
end

local function substituted(conf, prefix, port)
  assert(select(2, conf:gsub(LISTEN:gsub("%p", "%%%0"), "")) == 1, "expected one `" .. LISTEN .. "`")
  local out = conf:gsub(PREFIX:gsub("%p", "%%%0"), (prefix:gsub("%%", "%%%%")))
  return (out:gsub(LISTEN:gsub("%p", "%%%0"), "listen " .. port .. ";"))
end

describe("the OpenResty page's nginx.conf with the ledger", function()
  local s, n, dir, env

  setup(function()
    local credential
    s, credential = nginx.simulator()
    dir = files.tempdir()
    assert(os.execute("chmod 0777 '" .. dir .. "'"))   -- the workers write the database
    local port = nginx.free_port()
    local callbacks = "http://127.0.0.1:" .. port
    env = nginx.daraja_env(s, credential, callbacks)
    env.B2C_LEDGER = "sqlite://" .. dir .. "/ledger.db"
    local conf = page_conf()
    n = nginx.start({ port = port, workers = 2, env = env,
      conf = function(prefix, p) return substituted(conf, prefix, p) end })
  end)
  teardown(function()
    if n then n:stop() end
    if s then s:stop() end
    if dir then os.execute("rm -rf '" .. dir .. "'") end
  end)

  local function error_log()
    return (files.read(n.prefix .. "/logs/error.log") or "") .. n:errorLog()
  end

  local function pay(body)
    return assert(n:request("POST", "/payouts", body, { ["Content-Type"] = "application/x-www-form-urlencoded" }))
  end

  -- Polls GET /payouts/<reference> until its state is `state`; returns the answer's body.
  local function wait_state(reference, state)
    local deadline = socket.gettime() + 10
    local res
    repeat
      res = assert(n:request("GET", "/payouts/" .. reference))
      if res.status == 200 and res.body:match("^(%S+)") == state then return res.body end
      socket.sleep(0.05)
    until socket.gettime() > deadline
    error(reference .. " never became " .. state .. ": " .. tostring(res.body) .. "\n" .. error_log())
  end

  local function each_sent_once()
    for ocid, sends in pairs(s:stats().sendsByOcid) do assert.are.equal(1, sends, ocid) end
  end

  it("pays by reference; the result callback makes it paid; the reference again sends nothing", function()
    local res = pay("reference=doc-inv-1&phone=" .. SUCCESS .. "&amount=500")
    assert.are.equal(200, res.status, res.body .. error_log())
    local id = res.body:match("^(%d+) accepted\n$")
    assert.is_string(id, res.body)
    assert.matches("^paid %w+\n$", wait_state("doc-inv-1", "paid"))
    local sent = s:stats().requests[PAYMENT]
    res = pay("reference=doc-inv-1&phone=" .. SUCCESS .. "&amount=500")
    assert.are.equal(id .. " paid\n", res.body)
    assert.are.equal(sent, s:stats().requests[PAYMENT])
    each_sent_once()
  end)

  it("refuses a payout without a reference, and a bad one, sending nothing", function()
    local sent = s:stats().requests[PAYMENT]
    assert.are.equal(400, pay("phone=" .. SUCCESS .. "&amount=500").status)
    local res = pay("reference=doc-bad&phone=" .. SUCCESS .. "&amount=10.5")
    assert.are.equal(400, res.status)
    assert.matches("amount: ", res.body)
    assert.are.equal(404, assert(n:request("GET", "/payouts/doc-no-such")).status)
    assert.are.equal(sent, s:stats().requests[PAYMENT])
  end)

  it("takes a queue timeout to unknown; /reconcile makes it paid, sent once", function()
    local res = pay("reference=doc-qt-1&phone=" .. QUEUE_TIMEOUT .. "&amount=700")
    assert.are.equal(200, res.status, res.body)
    wait_state("doc-qt-1", "unknown")
    res = assert(n:request("POST", "/reconcile?delay=0"))
    assert.are.equal("queried 1\n", res.body, error_log())
    assert.matches("^paid %w+\n$", wait_state("doc-qt-1", "paid"))
    each_sent_once()
  end)

  it("declares with `env` every variable it reads, and logs nothing severe", function()
    local conf = page_conf()
    local declared, read = {}, 0
    for name in conf:gmatch("%f[%w_]env%s+([%a_][%w_]*)%s*;") do declared[name] = true end
    for name in conf:gmatch("%f[%w_]env%(%s*\"([%a_][%w_]*)\"%s*%)") do
      read = read + 1
      assert.is_true(declared[name] == true, name .. " is read but not declared")
    end
    assert.is_true(read >= 10, read .. " variables read")
    local log = error_log()
    for _, level in ipairs({ "alert", "crit", "emerg" }) do
      assert.is_nil(log:find("[" .. level .. "]", 1, true), log)
    end
  end)

  it("does not start without DARAJA_KEY, naming it in the error log", function()
    local partial = {}
    for k, v in pairs(env) do partial[k] = v end
    partial.DARAJA_KEY = nil
    local conf = page_conf()
    local ok, err = pcall(nginx.start, { env = partial,
      conf = function(prefix, p) return substituted(conf, prefix, p) end })
    assert.is_false(ok)
    assert.truthy(tostring(err):find("consumerKey: is required", 1, true), tostring(err))
  end)
end)
