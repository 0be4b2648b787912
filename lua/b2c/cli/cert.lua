-- `b2c cert FILE`: what a certificate is.
local core = require("b2c.core")
local certificate = require("b2c.cli.certificate")
local args = require("b2c.cli.args")
local input = require("b2c.cli.input")
local output = require("b2c.cli.output")

local cert = {}

cert.HELP = [[
usage: b2c cert FILE

Shows a certificate (PEM or DER; - for stdin): subject CN, issuer, validity
dates, key, and the SHA-256 of its SubjectPublicKeyInfo, and says whether it
is Safaricom's sandbox or production encryption certificate or something else
(a TLS server certificate is the usual mistake). Safaricom's encryption
certificates are past their notAfter dates and still in use: expiry does not
matter for them.
]]

local function show(out, info)
  local kind, says = certificate.identify(info)
  local rows = {
    { "subject CN", info.commonName ~= "" and info.commonName or "(none)" },
    { "subject", info.subject },
    { "issuer", info.issuer },
    { "serial", info.serial },
    { "not before", info.notBefore },
    { "not after", info.notAfter .. (info.expired and " (expired)" or "") },
    { "key", string.format("%s %d bits", info.keyType, info.keyBits) },
    { "SPKI sha256", info.spkiSha256 },
  }
  if #info.dnsNames > 0 then rows[#rows + 1] = { "DNS names", table.concat(info.dnsNames, ", ") } end
  if info.ipAddresses > 0 then rows[#rows + 1] = { "IP addresses", tostring(info.ipAddresses) } end
  if kind == "sandbox" or kind == "production" then
    if info.expired then
      says = says .. "; its notAfter date has passed and Safaricom still uses it: that is expected"
    end
  end
  rows[#rows + 1] = { "this is", says }
  for _, r in ipairs(rows) do out:write(string.format("%-13s %s\n", r[1] .. ":", output.clean(r[2]))) end
end

function cert.run(sys, list)
  local opts, positional = args.options(list, 2, {})
  if not opts then return output.usage_error(sys, "cert", positional) end
  if opts.help then sys.stdout:write(cert.HELP); return 0 end
  if #positional ~= 1 then return output.usage_error(sys, "cert", "give one certificate file (- for stdin)") end
  local path = positional[1]
  local data, err = input.read(sys, path, input.LIMITS.cert)
  if not data then
    return output.failed(sys, "cert", { kind = "input", message = "cannot read " .. path .. ": " .. err })
  end
  local info, why = core.certificate_info(data)
  if not info then
    return output.failed(sys, "cert", { kind = "input", message = path .. ": " .. why .. certificate.why_not(data) })
  end
  if sys.json then
    local kind, says = certificate.identify(info)
    output.document(sys, { command = "cert", kind = kind, says = says, commonName = info.commonName,
      subject = info.subject, issuer = info.issuer, serial = info.serial, notBefore = info.notBefore,
      notAfter = info.notAfter, expired = info.expired, keyType = info.keyType, keyBits = info.keyBits,
      spkiSha256 = info.spkiSha256, dnsNames = output.array(info.dnsNames),
      ipAddresses = info.ipAddresses })
    return 0
  end
  show(sys.stdout, info)
  return 0
end

return cert
