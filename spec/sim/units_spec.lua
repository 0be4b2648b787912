-- b2c-sim: the pure helper modules, without sockets.
local json = require("b2c.sim.json")
local util = require("b2c.sim.util")
local faults = require("b2c.sim.faults")
local http = require("b2c.sim.http")
local scenarios = require("b2c.sim.scenarios")
local init = require("b2c.sim")

describe("b2c-sim json", function()
  it("keeps the key order of ordered objects and skips nil values", function()
    assert.are.equal('{"b":1,"a":"x"}', json.encode(json.object({ { "b", 1 }, { "z", nil }, { "a", "x" } })))
  end)

  it("writes money with two decimals, negative too", function()
    assert.are.equal('[8959269.60,-1980.00,0.05,-0.50]',
      json.encode({ json.money(895926960), json.money(-198000), json.money(5), json.money(-50) }))
  end)

  it("writes whole floats as integers and escapes strings", function()
    assert.are.equal('[10,1.5,"a\\"b\\\\c\\n\\u0001"]', json.encode({ 10.0, 1.5, 'a"b\\c\n\1' }))
  end)

  it("writes empty arrays and objects as asked", function()
    assert.are.equal('{"l":[],"o":{}}', json.encode({ l = json.array(), o = {} }))
  end)

  it("decodes with a private cjson instance", function()
    assert.are.same({ a = { 1, 2 } }, json.decode('{"a":[1,2]}'))
    local v, err = json.decode("{nope")
    assert.is_nil(v)
    assert.is_string(err)
  end)
end)

describe("b2c-sim util", function()
  it("round-trips base64", function()
    for _, s in ipairs({ "", "f", "fo", "foo", "foob", "fooba", "foobar", "\0\255\128" }) do
      assert.are.equal(s, util.base64_decode(util.base64_encode(s)) or "")
    end
    assert.are.equal("Zm9vYmFy", util.base64_encode("foobar"))
  end)

  it("recognises base64", function()
    assert.is_true(util.is_base64("Zm9vYg=="))
    assert.is_false(util.is_base64("Zm9vYg="))
    assert.is_false(util.is_base64("Zm9v Yg=="))
    assert.is_false(util.is_base64(""))
    assert.is_false(util.is_base64(12))
  end)

  it("makes Daraja-like identifiers", function()
    assert.matches("^%u%u%d[%u%d]+$", util.receipt())
    assert.are.equal(10, #util.receipt())
    assert.matches("^%u%u%d0000000$", util.placeholder_receipt())
    assert.matches("^AG_%d%d%d%d%d%d%d%d_%x+$", util.conversation_id())
    assert.matches("^%d+%-%d+%-%d$", util.request_id())
  end)

  it("writes East Africa Time", function()
    assert.are.equal("01.01.1970 03:00:00", util.eat_date("%d.%m.%Y %H:%M:%S", 0))
  end)
end)

describe("b2c-sim faults", function()
  it("parses actions and delays", function()
    local f = assert(faults.parse("delay=1.5,drop"))
    assert.are.equal(1.5, f.delay)
    assert.are.equal("drop", f.action)
    assert.is_nil(assert(faults.parse("none")).action)
    assert.is_nil(faults.parse("delay=x"))
    assert.is_nil(faults.parse("drop,spike"))
    assert.is_nil(faults.parse(""))
  end)

  it("parses the command line form", function()
    local f = assert(faults.parse_cli("spike:count=2:path=/mpesa/*"))
    assert.are.equal(2, f.count)
    assert.are.equal("/mpesa/*", f.path)
    assert.is_nil(faults.parse_cli("spike:colour=red"))
  end)

  it("matches paths and counts down", function()
    local list = { assert(faults.global({ spec = "quota", count = 1, path = "/mpesa/*" })) }
    assert.is_nil(faults.take(list, "/oauth/v1/generate"))
    assert.are.equal("quota", faults.take(list, "/mpesa/b2c/v3/paymentrequest").action)
    assert.is_nil(faults.take(list, "/mpesa/b2c/v3/paymentrequest"))
    local any = { assert(faults.global({ spec = "spike" })) }
    assert.is_nil(faults.take(any, "/sim/stats"))
    assert.is_not_nil(faults.take(any, "/oauth/v1/generate"))
    assert.is_not_nil(faults.take(any, "/oauth/v1/generate"))
  end)
end)

describe("b2c-sim URL parsing", function()
  it("splits http and https URLs", function()
    assert.are.same({ scheme = "http", host = "127.0.0.1", port = 8080, path = "/cb?x=1" },
      http.parse_url("http://127.0.0.1:8080/cb?x=1"))
    assert.are.same({ scheme = "https", host = "example.test", port = 443, path = "/" },
      http.parse_url("https://example.test"))
    assert.are.same({ scheme = "http", host = "::1", port = 9000, path = "/x" },
      http.parse_url("http://[::1]:9000/x"))
  end)

  it("refuses other schemes and junk", function()
    for _, u in ipairs({ "ftp://x/y", "file:///etc/passwd", "javascript:alert(1)", "/relative",
      "http://", "http://host:99999/", "http://host/a b" }) do
      assert.is_nil(http.parse_url(u), u)
    end
  end)
end)

describe("b2c-sim scenarios table", function()
  it("maps the documented numbers", function()
    assert.are.equal(1, scenarios.for_number("254700000001").code)
    assert.are.equal("SFC_IC0003", scenarios.for_number("254700000003").code)
    assert.are.equal("timeout", scenarios.for_number("254700009001").delivery)
    assert.are.equal("success", scenarios.for_number("254799999999").name)
  end)

  it("names customers deterministically", function()
    assert.are.equal(scenarios.customer_name("254708374149"), scenarios.customer_name("254708374149"))
    assert.matches("^[%u ]+$", scenarios.customer_name("254711111111"))
  end)
end)

describe("b2c-sim command line", function()
  it("parses options", function()
    local o = assert(init.parse_args({ "--port", "0", "--token-ttl=2.5", "--expires-in-number",
      "--callback-backoff", "0.1,0.2", "--fault", "drop:count=1", "--fault", "spike" }))
    assert.are.equal(0, o.port)
    assert.are.equal(2.5, o.tokenTtl)
    assert.is_true(o.expiresInNumber)
    assert.are.same({ 0.1, 0.2 }, o.callbackBackoff)
    assert.are.equal(2, #o.faults)
  end)

  it("refuses bad values", function()
    assert.is_nil(init.parse_args({ "--port" }))
    assert.is_nil(init.parse_args({ "--token-ttl", "soon" }))
    assert.is_nil(init.parse_args({ "--invalid-token-style", "500" }))
    assert.is_nil(init.parse_args({ "--fault", "explode" }))
  end)
end)

describe("b2c-sim in process", function()
  local socket = require("socket")

  it("serves from require('b2c.sim').new(opts) driven by :step()", function()
    local s = assert(init.new({ port = 0, tokenTtl = 42 }):start())
    finally(function() s:close() end)
    assert.matches("^http://127%.0%.0%.1:%d+$", s.url)
    assert.matches("sim%-cert%.pem$", s.certificate)
    local c = socket.tcp()
    c:settimeout(1)
    assert(c:connect("127.0.0.1", s.port))
    c:send("GET /oauth/v1/generate?grant_type=client_credentials HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
      .. "Authorization: Basic " .. util.base64_encode("sim-consumer-key:sim-consumer-secret") .. "\r\n\r\n")
    c:settimeout(0)
    local got = ""
    local deadline = socket.gettime() + 3
    while socket.gettime() < deadline do
      s:step(0.01)
      local data, err, partial = c:receive(4096)
      got = got .. (data or partial or "")
      if err == "closed" then
        break
      end
    end
    c:close()
    assert.matches("^HTTP/1%.1 200 OK", got)
    assert.matches('"expires_in":"42"', got)
  end)
end)

describe("b2c-sim event loop limits", function()
  -- stands for a socket whose descriptor select() cannot take
  local function beyond_setsize()
    return { getfd = function() return http.FD_SETSIZE + 10 end }
  end

  it("fails the wait on a socket past FD_SETSIZE instead of dying in select", function()
    local logged = {}
    local loop = http.loop({ log = function(m) logged[#logged + 1] = m end })
    local got = "not resumed"
    loop:spawn(function() got = loop:wait_io(beyond_setsize(), "r") end)
    local slept = false
    loop:spawn(function() loop:sleep(0) slept = true end)
    loop:step(0)
    loop:step(0)
    assert.is_false(got)
    assert.is_true(slept)
    assert.matches("descriptor >= 1024", logged[1])
  end)

  it("queues outgoing connections beyond its sockets, oldest first", function()
    local loop = http.loop({ max_sockets = http.INBOUND_RESERVE + 2 })
    local order = {}
    for i = 1, 4 do
      loop:spawn(function()
        loop:acquire_outgoing()
        order[#order + 1] = i
        loop:sleep(0)
        loop:release()
      end)
    end
    assert.are.same({ 1, 2 }, order)
    assert.are.equal(http.INBOUND_RESERVE + 2, loop.max_sockets)
    for _ = 1, 4 do loop:step(0) end
    assert.are.same({ 1, 2, 3, 4 }, order)
    assert.are.equal(0, loop.sockets)
  end)
end)

describe("b2c-sim whole-number settings", function()
  it("refuses a balance that is not KES up to 1e13 with at most 2 decimals, naming it", function()
    for _, bad in ipairs({ "1e300", "-1", "10.555", "1e14", "inf", "nan", "lots", "0.001" }) do
      local o, err = init.parse_args({ "--balance", bad })
      assert.is_nil(o, bad)
      assert.matches("^%-%-balance: balance must be KES from 0 to 10000000000000 with at most 2 decimals", err)
    end
    assert.are.equal(10000000000000, init.parse_args({ "--balance", "1e13" }).balance)
    assert.are.equal(0, init.parse_args({ "--balance", "0" }).balance)
    assert.are.equal(1234.5, init.parse_args({ "--balance", "1234.5" }).balance)
  end)

  it("takes --callback-history, a whole number", function()
    assert.are.equal(10, init.parse_args({ "--callback-history", "10" }).callbackHistory)
    assert.is_nil(init.parse_args({ "--callback-history", "1.5" }))
    assert.is_nil(init.parse_args({ "--callback-history", "-1" }))
  end)

  it("refuses them given to new() too", function()
    local s, err = init.new({ port = 0, balance = 1e300 }):start()
    assert.is_nil(s)
    assert.matches("^balance must be", err)
  end)
end)
