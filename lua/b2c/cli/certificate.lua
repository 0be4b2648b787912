-- What a certificate is, for an operator: Safaricom's sandbox or
-- production encryption certificate, or the usual mistakes.
local certificate = {}

-- The SHA-256 of the SubjectPublicKeyInfo of Safaricom's encryption certificates.
certificate.SPKI = {
  bc1aba1eb634213496663c5e5b69dcda742acc8d5c2bd25eccb16e1caf66e8dc = "sandbox",
  ["085bf508c873dd7d69361796925d10f87b59d3f0147d148f46103c1df6464c45"] = "production",
}

-- certificate_info's answer -> kind ("sandbox", "production", "tls", "ca",
-- "other") and one sentence.
function certificate.identify(info)
  local env = certificate.SPKI[info.spkiSha256]
  if env then
    return env, "Safaricom's " .. env .. " encryption certificate for the SecurityCredential "
      .. "(environment = \"" .. env .. "\")"
  end
  local hosts = {}
  for _, name in ipairs(info.dnsNames or {}) do hosts[#hosts + 1] = name end
  if #hosts > 0 or (info.ipAddresses or 0) > 0 then
    local names = #hosts > 0 and table.concat(hosts, ", ") or "IP addresses"
    return "tls", "NOT Safaricom's encryption certificate: it names hosts (" .. names .. "), so it "
      .. "is a TLS server certificate, the usual mistake. A credential made with it ends in "
      .. "ResultCode 2001. Use the bundled certificate (leave `certificate` unset) or the one "
      .. "from the Daraja portal."
  end
  local elsewhere = "Daraja cannot decrypt a credential made with it (fine only for a gateway "
    .. "holding its private key, such as b2c-sim)"
  if info.ca then
    return "ca", "not one of Safaricom's encryption certificates but a CA certificate (CA:TRUE): "
      .. elsewhere
  end
  if info.keyType ~= "RSA" then
    return "other", "NOT usable: its key is " .. tostring(info.keyType) .. ", and a credential needs RSA"
  end
  return "other", "not one of Safaricom's encryption certificates: " .. elsewhere
end

-- Why bytes that are not a certificate are not: "" when nothing tells.
function certificate.why_not(data)
  if data:find("<[Hh][Tt][Mm][Ll]") or data:find("<!DOCTYPE", 1, true) then
    return " (it is an HTML page: download the certificate itself)"
  elseif data:find("PRIVATE KEY-----", 1, true) then
    return " (it is a private key: the certificate is the public half)"
  elseif data:find("PUBLIC KEY-----", 1, true) then
    return " (it is a bare public key: a certificate is needed)"
  end
  return ""
end

return certificate
