-- Proxies: the environment's proxy variables are ignored (a loopback http
-- baseUrl through a proxy would show the key, secret, token and credential
-- to it in clear), and an explicit `proxy` is a CONNECT tunnel for an https
-- baseUrl only. A recording "proxy" on 127.0.0.1 shows what reached it.
local b2c = require("b2c")
local sim = require("support.sim")
local socket = require("socket")

local PAYMENT = "/mpesa/b2c/v3/paymentrequest"

-- Accepts connections and records their bytes; answers anything with a
-- fake Daraja ack (what a hostile proxy would do), a CONNECT with 403.
local function recorder()
  local server = assert(socket.bind("127.0.0.1", 0))
  server:settimeout(0)
  local self = { server = server, port = select(2, server:getsockname()), clients = {}, seen = "" }
  function self.poll(seconds)
    local watch = { server }
    for _, c in ipairs(self.clients) do watch[#watch + 1] = c end
    local ready = socket.select(watch, nil, seconds)
    for _, s in ipairs(ready or {}) do
      if s == server then
        local c = server:accept()
        if c then c:settimeout(0); self.clients[#self.clients + 1] = c end
      else
        local data, err, partial = s:receive(65536)
        local chunk = data or partial or ""
        self.seen = self.seen .. chunk
        if chunk:find("^CONNECT ") then
          s:send("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        elseif chunk:find("\r\n\r\n", 1, true) then
          local body = '{"access_token":"fake","expires_in":"3599","ResponseCode":"0",'
            .. '"ConversationID":"AG_fake","OriginatorConversationID":"fake"}'
          s:send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            .. #body .. "\r\n\r\n" .. body)
        end
        if err == "closed" then
          for i, c in ipairs(self.clients) do
            if c == s then table.remove(self.clients, i) break end
          end
          s:close()
        end
      end
    end
  end
  function self.close()
    for _, c in ipairs(self.clients) do c:close() end
    server:close()
  end
  return self
end

describe("proxies", function()
  local s, credential

  setup(function()
    s = sim.start({ callbackDelay = 30 })
    credential = s:credential()
  end)
  teardown(function() if s then s:stop() end end)
  before_each(function() s:reset() end)

  local function settings(over)
    local t = {
      consumerKey = s.consumerKey, consumerSecret = s.consumerSecret, shortCode = "600996",
      initiatorName = "testapi", securityCredential = credential, baseUrl = s.url,
      resultUrl = "https://example.com/r", queueTimeOutUrl = "https://example.com/t", timeout = 5,
    }
    for k, v in pairs(over or {}) do t[k] = v end
    return t
  end

  it("in the environment are ignored: nothing reaches them", function()
    local proxy = recorder()
    local url = "http://127.0.0.1:" .. proxy.port
    local script, out = os.tmpname(), os.tmpname()
    local f = assert(io.open(script, "w"))
    f:write(string.format([[
      local b2c = require("b2c")
      local mpesa = assert(b2c.new({ consumerKey = %q, consumerSecret = %q, shortCode = "600996",
        initiatorName = "testapi", securityCredential = %q, baseUrl = %q, timeout = 5,
        resultUrl = "https://example.com/r", queueTimeOutUrl = "https://example.com/t" }))
      local p = { recipientPhone = "0708374149", amount = 100, remarks = "proxy spec" }
      local ack, err = mpesa.b2c.send(p)
      print("send", ack and ack.ConversationID or err.message)
      local h = assert(mpesa.b2c.start(p))
      while not h.done do mpesa:step(0.05) end
      ack, err = h:result()
      print("start", ack and ack.ConversationID or err.message)
      print("finished")
    ]], s.consumerKey, s.consumerSecret, credential, s.url))
    f:close()
    local env = ""
    for _, name in ipairs({ "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
      "ALL_PROXY", "all_proxy" }) do
      env = env .. name .. "=" .. url .. " "
    end
    -- the interpreter of this run, for the core on package.cpath
    local lua = rawget(_G, "jit") and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))
    os.execute(string.format("env %s NO_PROXY= no_proxy= LUA_PATH='lua/?.lua;lua/?/init.lua;;' "
      .. "LUA_CPATH='%s' %s %s >%s 2>&1 &", env, package.cpath, lua, script, out))
    local deadline, text = socket.gettime() + 30
    repeat
      proxy.poll(0.05)
      text = require("support.files").read(out) or ""
    until text:find("finished") or socket.gettime() > deadline
    proxy.close()
    os.remove(script)
    os.remove(out)
    assert.are.equal("", proxy.seen)
    assert.matches("send\tAG_", text)
    assert.matches("start\tAG_", text)
    assert.are.equal(2, s:stats().requests[PAYMENT])
  end)

  it("given explicitly, are refused for an http baseUrl", function()
    local mpesa, err = b2c.new(settings({ proxy = "http://127.0.0.1:3128" }))
    assert.is_nil(mpesa)
    assert.are.equal("config", err.kind)
    assert.are.equal("proxy", err.field)
    assert.matches("https", err.message)
  end)

  it("must be http://host:port", function()
    for _, p in ipairs({ "socks5://127.0.0.1:1080", "http://user:pw@proxy:3128", "proxy:3128",
      "http://proxy", "http://[::1]", "http://proxy:3128/path", "http://proxy:3128\r\nX: y", "", 3128 }) do
      local mpesa, err = b2c.new(settings({ baseUrl = "https://api.example.com", proxy = p }))
      assert.is_nil(mpesa, tostring(p))
      assert.are.equal("proxy", err.field, tostring(p))
    end
  end)

  it("given for an https baseUrl, see only a CONNECT: TLS from end to end", function()
    local proxy = recorder()
    local mpesa = assert(b2c.new(settings({ baseUrl = "https://localhost:9",
      proxy = "http://127.0.0.1:" .. proxy.port })))
    local h = assert(mpesa.b2c.start({ recipientPhone = "0708374149", amount = 100,
      remarks = "proxy spec" }))
    local deadline = socket.gettime() + 10
    while not h.done and socket.gettime() < deadline do
      mpesa:step(0.02)
      proxy.poll(0.02)
    end
    proxy.close()
    mpesa:close()
    local _, err = h:result()
    assert.is_not_nil(err)
    assert.matches("^CONNECT localhost:9 HTTP/1%.1\r\n", proxy.seen)
    for _, secret in ipairs({ s.consumerSecret, credential, "Authorization", "Basic" }) do
      assert.is_nil(proxy.seen:find(secret, 1, true), secret)
    end
  end)
end)
