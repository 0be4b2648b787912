-- The simulator's RSA key pair and the SecurityCredential check.
--
-- A SecurityCredential is base64(RSA PKCS#1 v1.5 encryption of the initiator
-- password) made with the simulator's certificate. It is decrypted with the
-- SDK's C core (`require("b2c.core").decrypt_credential`) when that module is
-- built, and otherwise with the openssl command line tool.
local util = require("b2c.sim.util")

local M = {}

local SUBJECT = "/CN=b2c-sim test certificate"

--- Directory of the committed test key pair (spec/fixtures/sim), found from
-- this file's own location in the source tree (sim/lua/b2c/sim/); nil when
-- run from elsewhere (an installed rock).
local function fixture_dir()
  local source = debug.getinfo(1, "S").source
  if source:sub(1, 1) ~= "@" then
    return nil
  end
  local dir = source:sub(2):match("^(.*)/sim/lua/b2c/sim/[^/]*$")
  if not dir then
    local rel = source:sub(2)
    if rel:match("^sim/lua/b2c/sim/") then
      dir = "."
    else
      return nil
    end
  end
  return dir .. "/spec/fixtures/sim"
end

local function generate(dir)
  local key, cert = dir .. "/sim-key.pem", dir .. "/sim-cert.pem"
  if util.file_exists(key) and util.file_exists(cert) then
    return key, cert
  end
  os.execute("mkdir -p " .. util.shell_quote(dir) .. " && chmod 700 " .. util.shell_quote(dir))
  local cmd = string.format(
    "openssl req -x509 -newkey rsa:2048 -nodes -keyout %s -out %s -days 3650 -subj %s >/dev/null 2>&1",
    util.shell_quote(key .. ".tmp"), util.shell_quote(cert .. ".tmp"), util.shell_quote(SUBJECT))
  local ok = os.execute(cmd)
  if not ok then
    return nil, "cannot generate a key pair with openssl (is it installed?)"
  end
  os.rename(key .. ".tmp", key)
  os.rename(cert .. ".tmp", cert)
  return key, cert
end

--- Find or make the key pair. opts.key / opts.cert override the defaults.
-- Returns key_path, cert_path (absolute) or nil, message.
function M.locate(opts)
  local key, cert = opts.key, opts.cert
  if key or cert then
    if not (key and cert) then
      return nil, "--key and --cert go together"
    end
  else
    local dir = fixture_dir()
    if dir and util.file_exists(dir .. "/sim-key.pem") and util.file_exists(dir .. "/sim-cert.pem") then
      key, cert = dir .. "/sim-key.pem", dir .. "/sim-cert.pem"
    else
      local tmp = os.getenv("TMPDIR")
      if not tmp or tmp == "" then
        tmp = "/tmp"
      end
      local user = os.getenv("USER") or os.getenv("LOGNAME") or "user"
      local err
      key, err = generate(tmp .. "/b2c-sim-" .. user:gsub("[^%w_-]", "_"))
      if not key then
        return nil, err
      end
      cert = err
    end
  end
  for _, f in ipairs({ key, cert }) do
    if not util.file_exists(f) then
      return nil, "cannot read " .. f
    end
  end
  return util.absolute(key), util.absolute(cert)
end

local Checker = {}
Checker.__index = Checker

--- A credential checker for a private key file. `engine` is "auto" (the C
-- core when it loads, else openssl), "core" or "openssl".
function M.checker(key_path, engine)
  engine = engine or "auto"
  local pem, err = util.read_file(key_path)
  if not pem then
    return nil, err
  end
  local core
  if engine ~= "openssl" then
    local ok, mod = pcall(require, "b2c.core")
    if ok and type(mod) == "table" and type(mod.decrypt_credential) == "function" then
      core = mod
    elseif engine == "core" then
      return nil, "b2c.core.decrypt_credential is not available: " .. tostring(mod)
    end
  end
  return setmetatable({ key_path = key_path, pem = pem, core = core, cache = {}, cached = 0 }, Checker)
end

-- openssl fallback: decrypt the raw bytes through temporary files.
function Checker:openssl_decrypt(b64)
  local bytes = util.base64_decode(b64)
  if not bytes then
    return nil, "not base64"
  end
  local input = os.tmpname()
  local output = os.tmpname()
  util.write_file(input, bytes)
  local cmd = string.format("openssl pkeyutl -decrypt -inkey %s -in %s -out %s 2>/dev/null",
    util.shell_quote(self.key_path), util.shell_quote(input), util.shell_quote(output))
  local ok = os.execute(cmd)
  local plain = ok and util.read_file(output) or nil
  os.remove(input)
  os.remove(output)
  if not plain then
    return nil, "decryption failed"
  end
  return plain
end

--- Decrypt a credential. Returns the plaintext, or nil and a message.
function Checker:decrypt(b64)
  local hit = self.cache[b64]
  if hit then
    return hit.plain, hit.err
  end
  local plain, err
  if self.core then
    local ok, p, e = pcall(self.core.decrypt_credential, b64, self.pem)
    if ok then
      plain, err = p, e
    else
      plain, err = nil, tostring(p)
    end
  else
    plain, err = self:openssl_decrypt(b64)
  end
  if self.cached >= 512 then
    self.cache, self.cached = {}, 0
  end
  self.cache[b64] = { plain = plain, err = err }
  self.cached = self.cached + 1
  return plain, err
end

--- True when the credential decrypts to `password`.
function Checker:matches(b64, password)
  local plain = self:decrypt(b64)
  return plain ~= nil and plain == password
end

--- Which implementation decrypts ("b2c.core" or "openssl").
function Checker:engine()
  return self.core and "b2c.core" or "openssl"
end

return M
