-- A thread pool smaller than the payouts sent at once. lua-nginx-module
-- 0.10.23 frees a wrong pointer when nginx refuses a task because the
-- pool's queue is full (`free(): invalid pointer`, the worker dies on
-- signal 6, every caller of that worker loses its answer while the
-- payouts already handed over are paid). b2c.ngx must never hand the pool
-- more than its queue holds: the callers over the limit get kind "thread"
-- and nothing is sent for them.
local nginx = require("support.nginx")
local json = require("cjson.safe").new()

local PAYMENT = "/mpesa/b2c/v3/paymentrequest"
local CALLERS = 12

describe("b2c.ngx with a full thread pool queue", function()
  local s, n

  setup(function()
    local credential
    s, credential = nginx.simulator()
    -- 12 Lua VMs, but 2 threads and 2 places in the queue.
    n = nginx.start_app(s, credential, { workers = 1, threads = 2, maxQueue = 2, vmPool = CALLERS })
  end)
  teardown(function()
    if n then n:stop() end
    if s then s:stop() end
  end)

  it("refuses the sends over the queue with kind \"thread\", sends nothing for them, and "
    .. "keeps the worker alive", function()
    local res = assert(n:request("GET", "/pay?ocid=queue-warm"))   -- a token first
    assert.are.equal(200, res.status, res.body)
    local pid = n:workerPids()[1]
    s:config({ fault = { spec = "delay=1", count = CALLERS, path = PAYMENT } })
    local paths = {}
    for i = 1, CALLERS do paths[i] = "/pay?ocid=queue-" .. i end
    local answers = n:concurrently("GET", paths, 20)
    s:config({ fault = false })
    local log = n:errorLog()
    assert.is_nil(log:find("exited on signal", 1, true), log)
    assert.is_nil(log:find("invalid pointer", 1, true), log)
    assert.are.same({ pid }, n:workerPids())

    local st = s:stats()
    local paid, refused = 0, 0
    for i, answer in ipairs(answers) do
      assert.are.equal(200, answer.status, "caller " .. i .. ": " .. tostring(answer.body))
      local got = assert(json.decode(answer.body), answer.body)
      local ocid = "queue-" .. i
      if got.ok then
        paid = paid + 1
        assert.are.equal(1, st.sendsByOcid[ocid])
      else
        refused = refused + 1
        assert.are.equal("thread", got.err.kind, got.text)
        assert.is_true(got.err.retryable)
        assert.matches("nothing was sent", got.err.message)
        assert.is_nil(st.sendsByOcid[ocid])
      end
    end
    print(string.format("\n%d payouts at once, threads=2 max_queue=2: %d sent, %d refused (kind thread)",
      CALLERS, paid, refused))
    assert.is_true(paid >= 2, "only " .. paid .. " sent")
    assert.is_true(refused >= 1)
    -- The pool takes new sends once the earlier ones are done.
    res = assert(n:request("GET", "/pay?ocid=queue-after"))
    assert.is_true(json.decode(res.body).ok, res.body)
  end)

  it("refuses a send on a pool b2c.ngx was not told the max_queue of, sending nothing", function()
    local sent = s:stats().requests[PAYMENT]
    local res = assert(n:request("GET", "/pay-undeclared?ocid=queue-undeclared"))
    local got = assert(json.decode(res.body), res.body)
    assert.is_false(got.ok)
    assert.are.equal("config", got.err.kind)
    assert.are.equal("pool", got.err.field)
    assert.matches("b2c.ngx.thread_pool", got.err.message, 1, true)
    assert.are.equal(sent, s:stats().requests[PAYMENT])
  end)
end)

describe("b2c.ngx.thread_pool", function()
  local b2c_ngx = require("b2c.ngx")

  it("raises, naming the option and the rule, on anything but a whole max_queue", function()
    for _, case in ipairs({
      { { maxQueue = 0 }, "maxQueue: must be the max_queue" },
      { { maxQueue = 2.5 }, "maxQueue: must be" },
      { { maxQueue = "8" }, "maxQueue: must be" },
      { { maxQueue = 1 / 0 }, "maxQueue: must be" },
      { { maxQueue = 0 / 0 }, "maxQueue: must be" },
      { {}, "maxQueue: must be" },
      { { maxQueue = 8, threads = 2 }, "threads: is not an option" },
      { 8, "expected a table" },
    }) do
      local ok, err = pcall(b2c_ngx.thread_pool, "b2c", case[1])
      assert.is_false(ok)
      assert.truthy(tostring(err):find(case[2], 1, true), tostring(err))
    end
    assert.has_error(function() b2c_ngx.thread_pool("", { maxQueue = 8 }) end)
    assert.has_no_error(function() b2c_ngx.thread_pool("b2c", { maxQueue = 8 }) end)
  end)
end)
