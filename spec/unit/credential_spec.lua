local b2c = require("b2c")
local core = require("b2c.core")

local read = require("support.files").must

local CERT = "spec/fixtures/sim/sim-cert.pem"
local KEY = read("spec/fixtures/sim/sim-key.pem")

describe("b2c.securityCredential", function()
  it("encrypts so that the key pair's private key gives the password back", function()
    local credential = assert(b2c.securityCredential("Safaricom999!*!", read(CERT)))
    assert.are.equal(344, #credential)
    assert.matches("^[%w+/]+=*$", credential)
    assert.are.equal("Safaricom999!*!", core.decrypt_credential(credential, KEY))
  end)

  it("uses random padding: two credentials differ, both decrypt", function()
    local a = assert(b2c.securityCredential("pw", read(CERT)))
    local b = assert(b2c.securityCredential("pw", read(CERT)))
    assert.are_not.equal(a, b)
    assert.are.equal("pw", core.decrypt_credential(b, KEY))
  end)

  it("reads a certificate from a file path and from DER bytes", function()
    assert.are.equal("pw", core.decrypt_credential(assert(b2c.securityCredential("pw", CERT)), KEY))
    local der = assert(io.popen("openssl x509 -in " .. CERT .. " -outform DER", "r")):read("*a")
    assert.are.equal(0x30, der:byte(1))
    assert.are.equal("pw", core.decrypt_credential(assert(b2c.securityCredential("pw", der)), KEY))
  end)

  it("uses the bundled Safaricom certificates by environment name", function()
    assert.are.equal(344, #assert(b2c.securityCredential("pw")))
    assert.are.equal(344, #assert(b2c.securityCredential("pw", "sandbox")))
    assert.are.equal(344, #assert(b2c.securityCredential("pw", "production")))
    assert.matches("BEGIN CERTIFICATE", b2c.certificates.sandbox)
  end)

  it("refuses anything that is not a certificate, naming the field", function()
    for _, bad in ipairs({ "<html><body>Not Found</body></html>", KEY,
      "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "\48\1\2" }) do
      local c, err = b2c.securityCredential("pw", bad)
      assert.is_nil(c)
      assert.are.equal("config", err.kind)
      assert.are.equal("certificate", err.field)
      assert.are.equal("certificate: not a PEM or DER X.509 certificate", err.message)
    end
    local c, err = b2c.securityCredential("pw", "/no/such/file.cer")
    assert.is_nil(c)
    assert.are.equal("certificate: cannot read the file it names (No such file or directory); "
      .. "give the certificate's PEM/DER text or the path of a readable file", err.message)
  end)

  it("never echoes a certificate value it cannot read (a secret given there by mistake)", function()
    local secret = "Sup3r/S3cret:Pa55word"
    local c, err = b2c.securityCredential("pw", secret)
    assert.is_nil(c)
    assert.are.equal("certificate", err.field)
    assert.is_nil(tostring(err):find("S3cret", 1, true), tostring(err))
    local mpesa
    mpesa, err = b2c.new({ consumerKey = "k", consumerSecret = "s", shortCode = "600996",
      initiatorName = "testapi", initiatorPassword = "pw", certificate = secret })
    assert.is_nil(mpesa)
    assert.are.equal("certificate", err.field)
    assert.is_nil(tostring(err):find("S3cret", 1, true), tostring(err))
  end)

  it("refuses a password too long for the key, without echoing it", function()
    local long = string.rep("s", 300)
    local c, err = b2c.securityCredential(long, CERT)
    assert.is_nil(c)
    assert.are.equal("initiatorPassword", err.field)
    assert.is_nil(err.message:find(long, 1, true))
  end)

  it("raises on a non-string password", function()
    assert.has_error(function() b2c.securityCredential(nil) end)
  end)

  it("decrypt_credential reports bad input instead of raising", function()
    assert.is_nil(core.decrypt_credential("not base64!", KEY))
    assert.is_nil(core.decrypt_credential(string.rep("A", 344), "no key"))
  end)
end)

describe("core.uuid", function()
  it("makes distinct RFC 4122 version 4 ids", function()
    local seen = {}
    for _ = 1, 1000 do
      local id = core.uuid()
      assert.matches("^%x%x%x%x%x%x%x%x%-%x%x%x%x%-4%x%x%x%-[89ab]%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$", id)
      assert.is_nil(seen[id])
      seen[id] = true
    end
  end)
end)
