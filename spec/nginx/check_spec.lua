-- b2c.ngx.check in init_by_lua: a bad setting stops nginx at start, with
-- the field and the rule in the error log; a good one starts it, and the
-- config it returned pays out.
local nginx = require("support.nginx")

local PAYMENT = "/mpesa/b2c/v3/paymentrequest"

-- init_by_lua: the pool's max_queue and the checked config in a global.
local function http_block(settings)
  return [[
  lua_shared_dict b2c_tokens 1m;
  init_by_lua_block {
    local b2c_ngx = require("b2c.ngx")
    b2c_ngx.thread_pool("b2c", { maxQueue = 1024 })
    B2C_CONFIG = b2c_ngx.check(]] .. settings .. [[)
  }
]]
end

local SERVER = [[
    location = /pay {
      content_by_lua_block {
        local ack, err = require("b2c.ngx").send("b2c", B2C_CONFIG, { recipientPhone = "0708374149",
          amount = 500, remarks = "checked", originatorConversationId = ngx.var.arg_ocid })
        ngx.say(ack and ack.ConversationID or tostring(err))
      }
    }
]]

describe("b2c.ngx.check in init_by_lua", function()
  local s, credential

  setup(function()
    s, credential = nginx.simulator()
  end)
  teardown(function()
    if s then s:stop() end
  end)

  local function settings(overrides)
    local t = {
      consumerKey = s.consumerKey, consumerSecret = s.consumerSecret, shortCode = "600996",
      initiatorName = "testapi", securityCredential = credential, baseUrl = s.url,
      resultUrl = "http://127.0.0.1:9/result", queueTimeOutUrl = "http://127.0.0.1:9/timeout",
      tokenStore = "b2c_tokens",
    }
    for k, v in pairs(overrides or {}) do t[k] = v end
    local parts = {}
    for k, v in pairs(t) do
      if v ~= false then parts[#parts + 1] = string.format("%s = %q", k, v) end
    end
    return "{ " .. table.concat(parts, ", ") .. " }"
  end

  it("stops nginx at start on a bad setting, naming the field and the rule", function()
    local sent = s:stats().requests[PAYMENT] or 0
    for _, case in ipairs({
      { { consumerKey = false }, "b2c.ngx.check: consumerKey: is required" },   -- an unset env variable
      { { shortCode = "12" }, "b2c.ngx.check: shortCode: must be the 5-10 digits" },
      { { environment = "live" }, "b2c.ngx.check: environment: must be" },
      { { tokenStore = "b2c_tokenz" }, 'tokenStore: no lua_shared_dict named "b2c_tokenz"' },
      { { securityCredential = "not base64!" }, "b2c.ngx.check: securityCredential: must be the base64" },
    }) do
      local ok, err = pcall(nginx.start, { http = http_block(settings(case[1])), server = SERVER })
      assert.is_false(ok, "nginx started with " .. case[2])
      err = tostring(err)
      assert.truthy(err:find("nginx did not start", 1, true), err)
      assert.truthy(err:find("init_by_lua", 1, true), err)
      assert.truthy(err:find(case[2], 1, true), case[2] .. " not in:\n" .. err)
    end
    assert.are.equal(sent, s:stats().requests[PAYMENT] or 0)
  end)

  it("keeps the running workers when a reload brings a bad setting", function()
    local n = nginx.start({ workers = 1, http = http_block(settings()), server = SERVER })
    local ok, err = pcall(function()
      local conf_path = n.prefix .. "/nginx.conf"
      local conf = assert(require("support.files").read(conf_path))
      local bad = conf:gsub('shortCode = "600996"', 'shortCode = "12"')
      assert.are_not.equal(conf, bad)
      local f = assert(io.open(conf_path, "wb"))
      f:write(bad)
      f:close()
      local before = n:workerPids()
      n:signal("HUP")
      local socket = require("socket")
      local deadline = socket.gettime() + 10
      while not n:errorLog():find("shortCode: must be", 1, true) and socket.gettime() < deadline do
        socket.sleep(0.05)
      end
      assert.truthy(n:errorLog():find("b2c.ngx.check: shortCode: must be the 5-10 digits", 1, true), n:errorLog())
      assert.are.same(before, n:workerPids())
      local res = assert(n:request("GET", "/pay?ocid=checked-reload"))
      assert.are.equal(200, res.status, res.body)
      assert.matches("^AG_", res.body)
    end)
    n:stop()
    assert(ok, err)
  end)

  it("starts with a good config, which then pays out", function()
    local n = nginx.start({ workers = 2, http = http_block(settings()), server = SERVER })
    local ok, err = pcall(function()
      local res = assert(n:request("GET", "/pay?ocid=checked-1"))
      assert.are.equal(200, res.status, res.body)
      assert.matches("^AG_", res.body)
      assert.are.equal(1, s:stats().sendsByOcid["checked-1"])
    end)
    n:stop()
    assert(ok, err)
  end)
end)
