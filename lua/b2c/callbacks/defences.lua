-- Defences for the ResultURL / QueueTimeOutURL handlers. Daraja's callbacks
-- carry no signature, so a handler should:
--   1. listen on a URL with an unguessable token in it (callbackToken),
--   2. accept only Safaricom's published source addresses (isSafaricomAddress),
--   3. match the OCID and amount against its own records before believing it,
--   4. handle duplicates idempotently (by OCID): callbacks can arrive twice.
local core = require("b2c.core")

local callback = {}

-- 64 hex digits (256 bits, 244 of them random) from OpenSSL's RNG via the
-- core: safe in a URL path, never repeated, not derivable from anything.
function callback.token()
  return (core.uuid() .. core.uuid()):gsub("-", "")
end

-- The source addresses commonly published for Safaricom's gateway.
local SAFARICOM = {
  ["196.201.214.200"] = true, ["196.201.214.206"] = true, ["196.201.214.207"] = true,
  ["196.201.214.208"] = true, ["196.201.213.114"] = true, ["196.201.213.44"] = true,
  ["196.201.212.127"] = true, ["196.201.212.138"] = true, ["196.201.212.129"] = true,
  ["196.201.212.136"] = true, ["196.201.212.74"] = true, ["196.201.212.69"] = true,
}
callback.SAFARICOM_ADDRESSES = {}
for ip in pairs(SAFARICOM) do callback.SAFARICOM_ADDRESSES[#callback.SAFARICOM_ADDRESSES + 1] = ip end
table.sort(callback.SAFARICOM_ADDRESSES)

-- true when ip (the TCP peer address, never a header the sender controls
-- such as X-Forwarded-For) is one of them. Accepts the IPv4-mapped IPv6
-- form (::ffff:a.b.c.d); anything else, any other type, is false.
function callback.is_safaricom_address(ip)
  if type(ip) ~= "string" then return false end
  local v4 = ip:match("^::[fF][fF][fF][fF]:(.+)$") or ip
  return SAFARICOM[v4] == true
end

return callback
