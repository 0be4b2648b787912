-- core.certificate_info: what `b2c cert` shows, read by the C core.
local core = require("b2c.core")
local certs = require("b2c.certs")
local shell = require("support.shell")

local read = require("support.files").must

describe("core.certificate_info", function()
  it("reads the bundled sandbox certificate", function()
    local info = assert(core.certificate_info(certs.sandbox))
    assert.are.equal("apicrypt.safaricom.co.ke", info.commonName)
    assert.are.equal("bc1aba1eb634213496663c5e5b69dcda742acc8d5c2bd25eccb16e1caf66e8dc", info.spkiSha256)
    assert.are.equal("2014-11-12 07:12:45 UTC", info.notBefore)
    assert.are.equal("2016-11-11 07:12:45 UTC", info.notAfter)
    assert.is_true(info.expired)
    assert.are.equal("RSA", info.keyType)
    assert.are.equal(2048, info.keyBits)
    assert.are.equal("Safaricom Internal Issuing CA 02", info.issuerCommonName)
    assert.are.same({}, info.dnsNames)
    assert.is_false(info.ca)
  end)

  it("reads the bundled production certificate", function()
    local info = assert(core.certificate_info(certs.production))
    assert.are.equal("apigee.apicaller.safaricom.co.ke", info.commonName)
    assert.are.equal("085bf508c873dd7d69361796925d10f87b59d3f0147d148f46103c1df6464c45", info.spkiSha256)
    assert.matches("O=Safaricom Limited", info.subject, 1, true)
  end)

  it("lists a TLS server certificate's DNS names and IP addresses", function()
    local info = assert(core.certificate_info(read("spec/fixtures/tls/server-cert.pem")))
    assert.are.equal("localhost", info.commonName)
    assert.are.same({ "localhost" }, info.dnsNames)
    assert.are.equal(1, info.ipAddresses)
    assert.is_false(info.expired)
  end)

  it("agrees with openssl on the SPKI digest", function()
    local ok, out = shell.run("openssl x509 -in spec/fixtures/sim/sim-cert.pem -pubkey -noout"
      .. " | openssl pkey -pubin -outform DER | openssl dgst -sha256 -r")
    assert.is_true(ok, out)
    local info = assert(core.certificate_info(read("spec/fixtures/sim/sim-cert.pem")))
    assert.are.equal(out:match("^(%x+)"), info.spkiSha256)
  end)

  it("refuses what is not a certificate with a message", function()
    for _, bytes in ipairs({ "", "<html>Not Found</html>", read("spec/fixtures/sim/sim-key.pem") }) do
      local info, err = core.certificate_info(bytes)
      assert.is_nil(info)
      assert.matches("not a PEM or DER X.509 certificate", err)
    end
  end)

  it("leaves OpenSSL's error queue empty on every path (checked from C)", function()
    local bin = os.tmpname()
    local built, build_out = shell.run("cc -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror "
      .. "-pthread -o " .. bin .. " spec/c/certificate_info_test.c csrc/crypto.c csrc/random.c csrc/secret.c -lcrypto")
    assert.is_true(built, build_out)
    local ok, out = shell.run(bin .. " spec/fixtures/tls/server-cert.pem")
    os.remove(bin)
    assert.is_true(ok, out)
    local _, passed = out:gsub("ok: ", "")
    assert.are.equal(8, passed, out)
  end)
end)
