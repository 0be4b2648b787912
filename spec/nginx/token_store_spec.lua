-- tokenStore = "<lua_shared_dict name>" wherever b2c takes a config inside
-- nginx: b2c.ngx.send (ngx_spec), b2c.ngx.call, b2c.ngx.ledger
-- (ledger_spec) and b2c.new called directly in a handler. A fresh nginx
-- with 2 workers: without the shared token each worker would fetch its own
-- (and knock out the other's).
local nginx = require("support.nginx")
local json = require("cjson.safe").new()

describe("tokenStore naming a lua_shared_dict in nginx (2 workers)", function()
  local s, n

  setup(function()
    local credential
    s, credential = nginx.simulator()
    n = nginx.start_app(s, credential, { workers = 2 })
  end)
  teardown(function()
    if n then n:stop() end
    if s then s:stop() end
  end)

  local function get_json(path)
    local res = assert(n:request("GET", path))
    assert.are.equal(200, res.status, res.body)
    return assert(json.decode(res.body), res.body)
  end

  it("gives b2c.ngx.call one token for every operation across both workers", function()
    s:config({ fault = { spec = "delay=0.2", count = 30, path = "/mpesa/accountbalance/v1/query" } })
    local paths = {}
    for i = 1, 30 do
      paths[i] = i % 2 == 0 and "/query?store=1&namespace=accountBalance&verb=query&fields=%7B%7D"
        or "/query?store=1&ocid=token-store-" .. i
    end
    local pids, workers = {}, 0
    for _, res in ipairs(n:concurrently("GET", paths, 20)) do
      assert.are.equal(200, res.status, res.body)
      local got = assert(json.decode(res.body), res.body)
      assert.is_true(got.ok, res.body)
      if not pids[got.pid] then workers = workers + 1 end
      pids[got.pid] = true
    end
    s:config({ fault = false })
    assert.are.equal(2, workers)
    assert.are.equal(1, s:stats().tokensIssued)
  end)

  it("lets b2c.new called in a handler take the name of a lua_shared_dict", function()
    local got = get_json("/new-client?store=b2c_tokens")
    assert.is_true(got.ok, json.encode(got))
    assert.are.equal("b2c_tokens", got.storeDict)
    got = get_json("/new-client?store=no_such_dict")
    assert.is_false(got.ok)
    assert.are.equal("config", got.err.kind)
    assert.are.equal("tokenStore", got.err.field)
    assert.matches('no lua_shared_dict named "no_such_dict"', got.err.message)
  end)
end)
