-- A gateway that echoes what it was sent (spec/support/echo_server.lua)
-- never gets a secret into an error: not the Basic key:secret, the token,
-- the SecurityCredential or the consumer secret; not JSON-escaped, URL-
-- encoded or as \u00XX escapes; not a part cut at a snippet's edge. For
-- the blocking send, the query and the polled payout alike.
local b2c = require("b2c")
local socket = require("socket")
local read_file = require("support.files").read
local process = require("support.process")

local ROOT = debug.getinfo(1, "S").source:sub(2):match("^(.*)/spec/integration/") or "."
local SECRET = "S3cr3tQ9xLmN4pR7vT2wY6zB8dF1hJ5k"
local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

-- A credential shaped like Daraja's (344 base64 characters, with + and /).
local function make_credential()
  local out, x = {}, 12345
  for i = 1, 342 do
    x = (x * 1103515245 + 12345) % 2147483648
    local n = math.floor(x / 65536) % 64
    out[i] = B64:sub(n + 1, n + 1)
  end
  return table.concat(out) .. "=="
end
local CREDENTIAL = make_credential()

local function base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local d = { math.floor(n / 262144), math.floor(n / 4096) % 64, math.floor(n / 64) % 64, n % 64 }
    for j = 1, 4 do out[#out + 1] = B64:sub(d[j] + 1, d[j] + 1) end
    if not b then out[#out], out[#out - 1] = "=", "=" elseif not c then out[#out] = "=" end
  end
  return table.concat(out)
end

-- Every text of an error, decoded the ways a server may have encoded it.
local function readings(err)
  local texts = { tostring(err) }
  for _, v in pairs(err) do
    if type(v) == "string" then texts[#texts + 1] = v end
  end
  local all = {}
  for _, t in ipairs(texts) do
    all[#all + 1] = t
    all[#all + 1] = t:gsub("\\/", "/")
    all[#all + 1] = t:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
    all[#all + 1] = t:gsub("\\\\", "\\"):gsub("\\u00(%x%x)", function(h)
      return string.char(tonumber(h, 16))
    end)
    all[#all + 1] = t:gsub("&#x(%x+);", function(h) return string.char(tonumber(h, 16)) end)
  end
  return all
end

-- The first 8-character run of a secret found in err, or nil.
local function leak(err, secrets)
  for _, text in ipairs(readings(err)) do
    for _, s in ipairs(secrets) do
      for i = 1, #s - 7 do
        if text:find(s:sub(i, i + 7), 1, true) then return s:sub(i, i + 7), text end
      end
    end
  end
end

local function start_echo()
  local out = os.tmpname()
  local pid = process.spawn(string.format("lua5.4 %s/spec/support/echo_server.lua $PPID "
    .. ">%s 2>&1 </dev/null", ROOT, out))
  local deadline = socket.gettime() + 5
  repeat
    local port = (read_file(out) or ""):match("echo listening on (%d+)")
    if port then
      os.remove(out)
      return { pid = pid, url = "http://127.0.0.1:" .. port }
    end
    socket.sleep(0.02)
  until socket.gettime() > deadline
  error("echo server did not start: " .. tostring(read_file(out)))
end

describe("secrets echoed by the gateway", function()
  local echo

  setup(function() echo = start_echo() end)
  teardown(function() if echo then process.stop(echo.pid, 2) end end)

  local function client(mode)
    return assert(b2c.new({
      consumerKey = mode, consumerSecret = SECRET, shortCode = "600996",
      initiatorName = "testapi", securityCredential = CREDENTIAL, baseUrl = echo.url,
      resultUrl = "https://example.com/result", queueTimeOutUrl = "https://example.com/timeout",
      timeout = 10,
    }))
  end

  local PAYOUT = { recipientPhone = "0708374149", amount = 500, remarks = "Partner settlement" }
  local TOKENS = {
    basic = "Tk/basic+0aZ9bX8cY7dW6eV5", body500 = "Tk/body500+1aZ9bX8cY7dW6eV",
    cut500 = "Tk/cut500+2aZ9bX8cY7dW6eV", escaped = "Tk/escaped+3aZ9bX8cY7dW6e",
    urlencoded = "Tk/urlenc+4aZ9bX8cY7dW6eV", unicode = "Tk/unicode+5aZ9bX8cY7dW6e",
    html = "Tk/html+6aZ9bX8cY7dW6eV5uT", pair = "none",
  }

  local PATHS = {
    send = function(mpesa) return mpesa.b2c.send(PAYOUT) end,
    query = function(mpesa)
      return mpesa.transactionStatus.query({ originatorConversationId = "echo-ocid-1" })
    end,
    polled = function(mpesa)
      local h = assert(mpesa.b2c.start(PAYOUT))
      local deadline = socket.gettime() + 20
      while not h.done and socket.gettime() < deadline do mpesa:step(0.05) end
      return h:result()
    end,
  }

  for _, path in ipairs({ "send", "query", "polled" }) do
    for _, mode in ipairs({ "basic", "pair", "body500", "cut500", "escaped", "urlencoded", "unicode",
      "html" }) do
      it(path .. ": " .. mode, function()
        local mpesa = client(mode)
        local ack, err = PATHS[path](mpesa)
        mpesa:close()
        assert.is_nil(ack)
        assert.is_table(err)
        local secrets = { SECRET, CREDENTIAL, TOKENS[mode], base64(mode .. ":" .. SECRET) }
        local run, text = leak(err, secrets)
        assert.is_nil(run, "leaked " .. tostring(run) .. " in: " .. tostring(text))
        -- The error still says what happened.
        assert.matches((mode == "basic" or mode == "pair") and "OAuth" or "HTTP", err.message)
      end)
    end
  end
end)
