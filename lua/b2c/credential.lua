-- The security credential: the initiator password encrypted with the
-- environment's certificate (the bundled one unless the caller gives one).
local core = require("b2c.core")
local certs = require("b2c.certs")
local errors = require("b2c.errors")

local credential = {}

-- cert: nil (the environment's bundled certificate), PEM or DER text, or
-- a file path. Returns the certificate bytes or nil, err.
function credential.certificate(cert, environment)
  if cert == nil then return certs[environment] end
  if type(cert) ~= "string" or cert == "" then
    return nil, errors.config("certificate", "must be PEM/DER text or a file path")
  end
  -- A path is one line of text; certificate bytes (or a page saved by
  -- mistake) have line breaks, a DER header or markup.
  if cert:find("[%z\n<]") or cert:find("-----BEGIN", 1, true) or cert:byte(1) == 0x30 then
    return cert
  end
  local f, why = io.open(cert, "rb")
  if not f then
    -- The value is not echoed: a password given here by mistake would be.
    -- io.open's reason starts with the path: only what follows is kept.
    local reason = type(why) == "string" and why:sub(1, #cert + 2) == cert .. ": "
      and " (" .. why:sub(#cert + 3) .. ")" or ""
    return nil, errors.config("certificate", "cannot read the file it names" .. reason
      .. "; give the certificate's PEM/DER text or the path of a readable file")
  end
  local data = f:read("*a")
  f:close()
  return data
end

-- b2c.securityCredential(password, certificate) -> base64 | nil, err
-- certificate: "sandbox" (default), "production", PEM/DER text or a path.
function credential.encrypt(password, cert)
  if type(password) ~= "string" then
    error("b2c.securityCredential: password must be a string", 2)
  end
  local bytes, err
  if cert == nil or certs[cert] then
    bytes = certs[cert or "sandbox"]
  else
    bytes, err = credential.certificate(cert)
    if not bytes then return nil, err end
  end
  local b64, rule, field = core.encrypt_credential(password, bytes)
  if not b64 then return nil, errors.config(field, rule) end
  return b64
end

return credential
