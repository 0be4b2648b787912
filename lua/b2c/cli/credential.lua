-- `b2c credential`: the SecurityCredential for the initiator password.
local b2c = require("b2c")
local core = require("b2c.core")
local certs = require("b2c.certs")
local certificate = require("b2c.cli.certificate")
local args = require("b2c.cli.args")
local input = require("b2c.cli.input")
local output = require("b2c.cli.output")
local terminal = require("b2c.cli.terminal")

local credential = {}

credential.HELP = [[
usage: b2c credential [--env sandbox|production] [--cert FILE]

Encrypts the initiator password (RSA PKCS#1 v1.5, base64) into the
SecurityCredential Daraja expects. The password is read from a prompt that
does not echo, or, when stdin is not a terminal, from the first line of
stdin. It is never taken from the command line (ps and shell history would
show it).

  --env ENV    sandbox (default) or production: the bundled certificate used
  --cert FILE  encrypt with this certificate (PEM or DER) instead

stdout: the credential alone, on one line. stderr: the certificate used (CN
and SPKI sha256) and warnings, e.g. when FILE is not Safaricom's encryption
certificate.

  printf '%s\n' "$PASSWORD" | b2c credential --env production
]]

local function usage_error(sys, message) return output.usage_error(sys, "credential", message) end

local function failed(sys, err) return output.failed(sys, "credential", err) end

function credential.run(sys, list)
  local opts, positional = args.options(list, 2, { ["--env"] = true, ["--cert"] = true })
  if not opts then return usage_error(sys, positional) end
  if opts.help then sys.stdout:write(credential.HELP); return 0 end
  if #positional > 0 then
    return usage_error(sys, "no arguments are taken: the password is never read "
      .. "from the command line (ps and shell history would show it); type it at the prompt "
      .. "or pipe it on stdin")
  end
  local env = opts["--env"]
  if env ~= nil and env ~= "sandbox" and env ~= "production" then
    return usage_error(sys, "--env must be sandbox or production")
  end
  if opts["--cert"] == "-" then
    return usage_error(sys, "--cert needs a file: stdin carries the password")
  end
  local bytes, err
  if opts["--cert"] then
    bytes, err = input.read(sys, opts["--cert"], input.LIMITS.cert)
    if not bytes then
      return failed(sys, { kind = "input", message = "cannot read " .. opts["--cert"] .. ": " .. err })
    end
  else
    bytes = certs[env or "sandbox"]
  end
  local info, why = core.certificate_info(bytes)
  if not info then
    return failed(sys, { kind = "input", field = "--cert",
      message = opts["--cert"] .. ": " .. why .. certificate.why_not(bytes) })
  end
  local password = terminal.read_password(sys)
  if password == nil or password == "" then
    return failed(sys, { kind = "input", message = "no password read" })
  end
  local secret
  secret, err = b2c.securityCredential(password, bytes)
  if not secret then return failed(sys, err) end
  local kind, says = certificate.identify(info)
  local warnings = {}
  if env and (kind == "sandbox" or kind == "production") and kind ~= env then
    warnings[1] = "--env " .. env .. " but this is the " .. kind .. " certificate"
  elseif kind ~= "sandbox" and kind ~= "production" then
    warnings[1] = "Daraja will not accept this credential (ResultCode 2001)"
  end
  if sys.json then
    output.document(sys, { command = "credential", credential = secret, warnings = output.array(warnings),
      certificate = { commonName = info.commonName, spkiSha256 = info.spkiSha256, kind = kind, says = says } })
    return 0
  end
  sys.stdout:write(secret, "\n")
  sys.stderr:write(string.format("certificate: CN=%s, SPKI sha256 %s\n", output.clean(info.commonName),
    info.spkiSha256))
  sys.stderr:write("             " .. output.clean(says) .. "\n")
  for _, w in ipairs(warnings) do sys.stderr:write("warning: " .. w .. "\n") end
  return 0
end

return credential
