-- b2c.ngx.check and b2c.ngx.ledger outside nginx: what they refuse at start
-- (init_by_lua), naming the field and the rule. Loading b2c.ngx needs no nginx.
local b2c_ngx = require("b2c.ngx")

local function good()
  return {
    consumerKey = "key", consumerSecret = "secret", shortCode = "600996", initiatorName = "testapi",
    securityCredential = string.rep("A", 40) .. "==", environment = "sandbox",
    resultUrl = "https://example.com/result", queueTimeOutUrl = "https://example.com/timeout",
  }
end

local function raised(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok, "did not raise")
  return tostring(err)
end

describe("b2c.ngx.check", function()
  it("returns a good config as it is", function()
    local cfg = good()
    assert.are.equal(cfg, b2c_ngx.check(cfg))
  end)

  it("raises on each bad setting, naming the field and the rule", function()
    local cases = {
      { "consumerKey", nil, "b2c.ngx.check: consumerKey: is required" },
      { "shortCode", "12", "b2c.ngx.check: shortCode: must be the 5-10 digits" },
      { "environment", "live", "b2c.ngx.check: environment: must be \"sandbox\" or \"production\"" },
      { "timeout", 0, "b2c.ngx.check: timeout: must be a number of seconds" },
      { "resultUrl", "ftp://x", "b2c.ngx.check: resultUrl: " },
      { "tokenStore", "b2c_tokens", "b2c.ngx.check: tokenStore: must be an object" },
      { "proxy", "not a proxy", "proxy" },
      { "colour", "blue", "colour" },
    }
    for _, c in ipairs(cases) do
      local cfg = good()
      cfg[c[1]] = c[2]
      local err = raised(b2c_ngx.check, cfg)
      assert.truthy(err:find(c[3], 1, true), c[1] .. ": " .. err)
    end
  end)

  it("raises on a value that cannot cross to a pool thread", function()
    local cfg = good()
    cfg.tokenStore = setmetatable({}, {})
    assert.matches("tokenStore: must be plain values", raised(b2c_ngx.check, cfg))
    cfg = good()
    cfg.timeout = function() return 5 end
    assert.matches("timeout: must be plain values", raised(b2c_ngx.check, cfg))
    assert.matches("expected a table", raised(b2c_ngx.check, "cfg"))
  end)
end)

describe("b2c.ngx.ledger", function()
  it("raises on a bad pool, URL or config before anything runs", function()
    assert.matches("pool: expected the name of a thread_pool",
      raised(b2c_ngx.ledger, nil, "sqlite:///tmp/x.db", good()))
    for _, url in ipairs({ "sqlite://relative.db", "mysql://u@h/db", "postgresql://h/db", 5 }) do
      assert.matches("url: must be sqlite:///absolute/path.db", raised(b2c_ngx.ledger, "b2c", url, good()))
    end
    local cfg = good()
    cfg.consumerSecret = ""
    assert.matches("^b2c.ngx.ledger: consumerSecret: is required",
      raised(b2c_ngx.ledger, "b2c", "sqlite:///tmp/x.db", cfg))
  end)

  it("has a snake_case twin for every camelCase method", function()
    local book = b2c_ngx.ledger("b2c", "postgresql://u@127.0.0.1:5432/db", good())
    for camel, snake in pairs({ payBatch = "pay_batch", applyResult = "apply_result",
      applyQueueTimeout = "apply_queue_timeout", handleResult = "handle_result",
      handleQueueTimeout = "handle_queue_timeout" }) do
      assert.is_function(book[camel], camel)
      assert.are.equal(book[camel], book[snake], snake)
    end
    for _, m in ipairs({ "pay", "send", "retry", "reconcile", "get", "list", "stats" }) do
      assert.is_function(book[m], m)
    end
  end)

  it("raises on misuse of a method without touching the pool", function()
    local book = b2c_ngx.ledger("b2c", "sqlite:///tmp/x.db", good())
    assert.matches("ledger:pay: expected %(payout table", raised(book.pay, book, "x"))
    assert.matches("ledger:get: expected", raised(book.get, book, {}))
    assert.matches("ledger:pay options.progress: must be plain values",
      raised(book.pay, book, {}, { progress = print }))
    assert.matches("call it as ledger:stats", raised(book.stats, {}))
  end)
end)
