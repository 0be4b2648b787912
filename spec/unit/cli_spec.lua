-- The `b2c` command, run as operators run it (bin/b2c, stdin piped), and
-- its password prompt through cli.main with a pretend terminal.
local b2c = require("b2c")
local core = require("b2c.core")
local certs = require("b2c.certs")
local shell = require("support.shell")

local SANDBOX_SPKI = "bc1aba1eb634213496663c5e5b69dcda742acc8d5c2bd25eccb16e1caf66e8dc"
local PRODUCTION_SPKI = "085bf508c873dd7d69361796925d10f87b59d3f0147d148f46103c1df6464c45"

local read = require("support.files").must

local function write(data)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
  return path
end

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- Runs bin/b2c: returns exit code, stdout, stderr. stdin: text piped in
-- (nil: /dev/null).
local function b2c_cmd(args, stdin)
  local input = stdin and write(stdin) or "/dev/null"
  local err = os.tmpname()
  local _, out, code = shell.run("bin/b2c " .. args .. " <" .. q(input) .. " 2>" .. q(err))
  local errtext = read(err)
  os.remove(err)
  if stdin then os.remove(input) end
  return code, out, errtext
end

describe("b2c (the command)", function()
  local tmp = {}
  local function file(data)
    local path = write(data)
    tmp[#tmp + 1] = path
    return path
  end
  teardown(function() for _, p in ipairs(tmp) do os.remove(p) end end)

  describe("usage", function()
    it("prints usage and exits 2 without a command", function()
      local code, out, err = b2c_cmd("")
      assert.are.equal(2, code)
      assert.are.equal("", out)
      assert.matches("usage: b2c COMMAND", err)
    end)

    it("prints help on stdout with --help, -h and help", function()
      for _, a in ipairs({ "--help", "-h", "help" }) do
        local code, out = b2c_cmd(a)
        assert.are.equal(0, code)
        assert.matches("credential %[%-%-env sandbox|production%]", out)
        assert.matches("exit status", out)
      end
      for _, c in ipairs({ "credential", "cert", "parse", "status", "balance" }) do
        local code, out = b2c_cmd("help " .. c)
        assert.are.equal(0, code)
        assert.matches("^usage: b2c " .. c, out)
        local code2, out2 = b2c_cmd(c .. " --help")
        assert.are.equal(0, code2)
        assert.are.equal(out, out2)
      end
    end)

    it("refuses unknown commands, topics and options with 2", function()
      local code, _, err = b2c_cmd("pay")
      assert.are.equal(2, code)
      assert.matches("unknown command 'pay'", err)
      assert.are.equal(2, (b2c_cmd("help pay")))
      code, _, err = b2c_cmd("cert --verbose x")
      assert.are.equal(2, code)
      assert.matches("unknown option %-%-verbose", err)
    end)

    it("prints the version", function()
      local code, out = b2c_cmd("--version")
      assert.are.equal(0, code)
      assert.are.equal("b2c " .. b2c._VERSION .. "\n", out)
    end)
  end)

  describe("credential", function()
    local SIM_KEY = read("spec/fixtures/sim/sim-key.pem")

    it("encrypts the password read from stdin; only the credential goes to stdout", function()
      local code, out, err = b2c_cmd("credential --cert spec/fixtures/sim/sim-cert.pem",
        "Safaricom999!*!\n")
      assert.are.equal(0, code, err)
      local credential = out:match("^([%w+/=]+)\n$")
      assert.is_truthy(credential, out)
      assert.are.equal("Safaricom999!*!", core.decrypt_credential(credential, SIM_KEY))
      assert.matches("CN=b2c%-sim test certificate", err)
      assert.matches("SPKI sha256 %x+", err)
      assert.matches("warning: Daraja will not accept this credential", err)
    end)

    it("takes the line without its CR LF, and nothing after it", function()
      local code, out = b2c_cmd("credential --cert=spec/fixtures/sim/sim-cert.pem", "pa ss\r\nsecond line\n")
      assert.are.equal(0, code)
      assert.are.equal("pa ss", core.decrypt_credential(out:match("^(%S+)"), SIM_KEY))
    end)

    it("uses the bundled sandbox certificate by default, production with --env", function()
      local code, out, err = b2c_cmd("credential", "Safaricom999!*!\n")
      assert.are.equal(0, code)
      assert.matches("^[%w+/]+=*\n$", out)
      assert.are.equal(344 + 1, #out)
      assert.matches("CN=apicrypt.safaricom.co.ke, SPKI sha256 " .. SANDBOX_SPKI, err, 1, true)
      assert.matches("sandbox encryption certificate", err)
      assert.is_nil(err:find("warning"))
      code, out, err = b2c_cmd("credential --env production", "x\n")
      assert.matches("^[%w+/]+=*\n$", out)
      assert.are.equal(0, code)
      assert.matches("CN=apigee.apicaller.safaricom.co.ke, SPKI sha256 " .. PRODUCTION_SPKI, err, 1, true)
    end)

    it("warns when --env and the certificate disagree", function()
      local code, _, err = b2c_cmd("credential --env sandbox --cert " .. file(certs.production), "x\n")
      assert.are.equal(0, code)
      assert.matches("warning: %-%-env sandbox but this is the production certificate", err)
    end)

    it("never takes the password from the command line", function()
      local code, out, err = b2c_cmd("credential 'Safaricom999!*!'", "unused\n")
      assert.are.equal(2, code)
      assert.are.equal("", out)
      assert.matches("never read from the command line", err)
      assert.is_nil(err:find("Safaricom999", 1, true))
      code = b2c_cmd("credential --password x", "unused\n")
      assert.are.equal(2, code)
    end)

    it("fails with 1 without a password, 2 for a bad --env, 1 for a bad certificate", function()
      local code, out, err = b2c_cmd("credential", "")
      assert.are.equal(1, code)
      assert.are.equal("", out)
      assert.matches("no password read", err)
      assert.are.equal(1, (b2c_cmd("credential", "\n")))
      assert.are.equal(2, (b2c_cmd("credential --env staging", "x\n")))
      assert.are.equal(2, (b2c_cmd("credential --env", "x\n")))
      assert.are.equal(2, (b2c_cmd("credential --cert -", "x\n")))
      code, out, err = b2c_cmd("credential --cert /nonexistent/cert.pem", "x\n")
      assert.are.equal("", out)
      assert.are.equal(1, code)
      assert.matches("cannot read /nonexistent/cert.pem", err)
      code, out, err = b2c_cmd("credential --cert " .. file("<html><body>Not Found</body></html>"), "x\n")
      assert.are.equal("", out)
      assert.are.equal(1, code)
      assert.matches("HTML page", err)
    end)
  end)

  describe("cert", function()
    it("recognises Safaricom's sandbox certificate", function()
      local code, out = b2c_cmd("cert " .. file(certs.sandbox))
      assert.are.equal(0, code)
      assert.matches("subject CN:%s+apicrypt.safaricom.co.ke\n", out)
      assert.matches("not before:%s+2014%-11%-12 07:12:45 UTC\n", out)
      assert.matches("not after:%s+2016%-11%-11 07:12:45 UTC %(expired%)\n", out)
      assert.matches("SPKI sha256:%s+" .. SANDBOX_SPKI, out)
      assert.matches("this is:%s+Safaricom's sandbox encryption certificate", out)
      assert.matches("still uses it", out)
    end)

    it("recognises the production certificate, as DER too", function()
      local pem = file(certs.production)
      local der = os.tmpname()
      tmp[#tmp + 1] = der
      assert.is_true((shell.run("openssl x509 -in " .. pem .. " -outform DER -out " .. der)))
      for _, path in ipairs({ pem, der }) do
        local code, out = b2c_cmd("cert " .. path)
        assert.are.equal(0, code)
        assert.matches("SPKI sha256:%s+" .. PRODUCTION_SPKI, out)
        assert.matches("production encryption certificate", out)
      end
    end)

    it("reads stdin with -", function()
      local code, out = b2c_cmd("cert -", certs.sandbox)
      assert.are.equal(0, code)
      assert.matches(SANDBOX_SPKI, out, 1, true)
    end)

    it("calls a TLS server certificate what it is", function()
      local code, out = b2c_cmd("cert spec/fixtures/tls/server-cert.pem")
      assert.are.equal(0, code)
      assert.matches("subject CN:%s+localhost", out)
      assert.matches("DNS names:%s+localhost", out)
      assert.matches("NOT Safaricom's encryption certificate", out)
      assert.matches("TLS server certificate", out)
    end)

    it("says what a file is when it is not a certificate", function()
      local code, out, err = b2c_cmd("cert " .. file("<!DOCTYPE html><html>Daraja</html>"))
      assert.are.equal(1, code)
      assert.are.equal("", out)
      assert.matches("not a PEM or DER X.509 certificate %(it is an HTML page", err)
      code, out, err = b2c_cmd("cert spec/fixtures/sim/sim-key.pem")
      assert.are.equal("", out)
      assert.are.equal(1, code)
      assert.matches("private key", err)
      assert.are.equal(1, (b2c_cmd("cert /nonexistent.pem")))
      assert.are.equal(2, (b2c_cmd("cert")))
      assert.are.equal(2, (b2c_cmd("cert a b")))
    end)
  end)

  describe("parse", function()
    it("explains a Transaction Status result, from a file or stdin", function()
      local path = "spec/fixtures/daraja/transactionstatus_result_success_docs_v3.json"
      local code, out = b2c_cmd("parse " .. path)
      assert.are.equal(0, code)
      assert.matches("kind:%s+Transaction Status result", out)
      assert.matches("verdict:%s+completed %(KES 300, receipt MBN31H462N, 2018%-02%-23 05:41:12%)", out)
      assert.matches("ResultCode:%s+0 %(success%)", out)
      assert.matches("TransactionReason%s+%(no value%)", out)
      assert.matches("TransactionID:%s+MBN0000000 %(a placeholder", out)
      local code2, out2 = b2c_cmd("parse", read(path))
      assert.are.equal(0, code2)
      assert.are.equal(out, out2)
      assert.are.equal(out, select(2, b2c_cmd("parse -", read(path))))
    end)

    it("explains a failed payout with its class and advice", function()
      local code, out = b2c_cmd("parse spec/fixtures/daraja/b2c_result_failure_2001_docs_v3.json")
      assert.are.equal(0, code)
      assert.matches("ResultCode:%s+2001 %(configuration%)", out)
      assert.matches("verdict:%s+not paid", out)
      assert.matches("advice:%s+wrong initiator password", out)
    end)

    it("explains a payout's success and an account balance", function()
      local code, out = b2c_cmd("parse spec/fixtures/daraja/b2c_result_success_docs_v3.json")
      assert.are.equal(0, code)
      assert.matches("kind:%s+B2C payment result", out)
      assert.matches("verdict:%s+paid", out)
      code, out = b2c_cmd("parse spec/fixtures/daraja/accountbalance_result_success_docs_v3.json")
      assert.are.equal(0, code)
      assert.matches("kind:%s+Account Balance result", out)
      assert.matches("Utility Account%s+KES 228037\n", out)
      assert.matches("advice:%s+the balances when M%-Pesa answered", out)   -- not "paid: record the receipt"
    end)

    it("explains a queue timeout notification", function()
      local code, out = b2c_cmd("parse", '{"OriginatorConversationID":"payroll-7","Amount":500}')
      assert.are.equal(0, code)
      assert.matches("queue timeout notification", out)
      assert.matches("payroll%-7", out)
    end)

    it("keeps control characters from the callback off the terminal", function()
      local code, out = b2c_cmd("parse", '{"Result":{"ResultCode":1,"ResultDesc":"x\\u001b[2Jy",'
        .. '"ConversationID":"c"}}')
      assert.are.equal(0, code)
      assert.is_nil(out:find("\27", 1, true))
      assert.matches("x\\x1b[2Jy", out, 1, true)
    end)

    it("fails with 1 on what is not a callback", function()
      for _, bad in ipairs({ "not json", "[1,2]", '{"Result":{"ResultCode":0}}', "" }) do
        local code, out, err = b2c_cmd("parse", bad)
        assert.are.equal(1, code, bad)
        assert.are.equal("", out)
        assert.matches("^b2c parse: ", err)
      end
      assert.are.equal(1, (b2c_cmd("parse /nonexistent.json")))
      assert.are.equal(2, (b2c_cmd("parse a b")))
    end)
  end)
  describe("--json", function()
    local json = require("b2c.json")

    it("credential: the credential and the certificate in one document; nothing on stderr", function()
      local code, out, err = b2c_cmd("credential --json --env production", "pa ss\n")
      assert.are.equal(0, code, err)
      assert.are.equal("", err)
      local doc = json.decode(out)
      assert.are.equal("credential", doc.command)
      assert.are.equal(344, #doc.credential)
      assert.are.same({ commonName = "apigee.apicaller.safaricom.co.ke", spkiSha256 = PRODUCTION_SPKI,
        kind = "production", says = doc.certificate.says }, doc.certificate)
      assert.are.same({}, doc.warnings)
      assert.matches('"warnings":%[%]', out) -- a list, even empty: [] and not {}
    end)

    it("cert: every fact with stable keys", function()
      local path = file(certs.sandbox)
      local code, out = b2c_cmd("cert " .. path .. " --json")
      assert.are.equal(0, code)
      local doc = json.decode(out)
      assert.are.equal("sandbox", doc.kind)
      assert.are.equal(SANDBOX_SPKI, doc.spkiSha256)
      assert.are.equal("apicrypt.safaricom.co.ke", doc.commonName)
      assert.is_true(doc.expired)
      assert.are.equal("RSA", doc.keyType)
      assert.matches('"dnsNames":%[%]', out) -- a list, even empty: [] and not {}
    end)

    it("parse: the verdict and the parameters as data; the same text always gives the same document", function()
      local path = "spec/fixtures/daraja/transactionstatus_result_success_docs_v3.json"
      local code, out = b2c_cmd("--json parse " .. path)
      assert.are.equal(0, code)
      local doc = json.decode(out)
      assert.are.equal("parse", doc.command)
      assert.are.equal("result", doc.form)
      assert.are.equal("status", doc.api)
      assert.are.equal("completed", doc.verdict)
      assert.are.equal("MBN31H462N", doc.payout.receipt)
      assert.are.equal(300, doc.payout.amount)
      local receipt
      for _, p in ipairs(doc.parameters) do if p.key == "ReceiptNo" then receipt = p.value end end
      assert.are.equal("MBN31H462N", receipt)
      assert.are.equal(out, select(2, b2c_cmd("parse --json " .. path)))
      code, out = b2c_cmd("parse --json spec/fixtures/daraja/b2c_error_duplicate_docs_v3.json")
      assert.are.equal(0, code)
      doc = json.decode(out)
      assert.are.equal("error", doc.form)
      assert.are.equal("500.002.1001", doc.errorCode)
    end)

    it("errors: one JSON line on stderr naming the kind, stdout empty, the exit status kept", function()
      local code, out, err = b2c_cmd("parse --json", "not json")
      assert.are.equal(1, code)
      assert.are.equal("", out)
      local e = json.decode(err)
      assert.are.equal("parse", e.command)
      assert.are.equal("input", e.error.kind)
      code, out, err = b2c_cmd("cert --json")
      assert.are.equal(2, code)
      assert.are.equal("", out)
      assert.are.equal("usage", json.decode(err).error.kind)
      code, out, err = b2c_cmd("ledger export --csv --json --db sqlite:///nonexistent/x.db")
      assert.are.equal(2, code)
      assert.are.equal("", out)
      assert.matches("no %-%-json output", json.decode(err).error.message)
      code, out, err = b2c_cmd("credential --json --cert spec/fixtures/sim/sim-cert.pem")
      assert.are.equal("", out)
      assert.are.equal(1, code)
      assert.are.equal("no password read", json.decode(err).error.message)
    end)
  end)
end)

describe("cli.main's password prompt on a terminal", function()
  local cli = require("b2c.cli")

  local function sink()
    local s = { text = "" }
    function s.write(self, ...) for _, v in ipairs({ ... }) do self.text = self.text .. v end return self end
    function s.flush() end
    return s
  end

  it("turns echo off while reading and back on after, prompting on stderr", function()
    local events = {}
    local stdin = {
      read = function(_, what)
        events[#events + 1] = "read " .. what
        return "Safaricom999!*!"
      end,
    }
    local out, err = sink(), sink()
    local code = cli.main({ "credential", "--cert", "spec/fixtures/sim/sim-cert.pem" }, {
      stdin = stdin, stdout = out, stderr = err,
      isatty = function() return true end,
      echo = function(on) events[#events + 1] = on and "echo on" or "echo off" end,
    })
    assert.are.equal(0, code)
    assert.are.same({ "echo off", "read *l", "echo on" }, events)
    assert.matches("^Initiator password: \n", err.text)
    local key = assert(io.open("spec/fixtures/sim/sim-key.pem")):read("*a")
    assert.are.equal("Safaricom999!*!", core.decrypt_credential(out.text:match("^(%S+)"), key))
  end)

  it("turns echo back on when reading fails", function()
    local events = {}
    local code = cli.main({ "credential" }, {
      stdin = { read = function() error("interrupted") end }, stdout = sink(), stderr = sink(),
      isatty = function() return true end,
      echo = function(on) events[#events + 1] = on end,
    })
    assert.are.equal(1, code)
    assert.are.same({ false, true }, events)
  end)
end)
