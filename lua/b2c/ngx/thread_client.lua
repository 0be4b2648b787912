-- b2c.ngx.thread_client, a function (config) -> mpesa | nil, err: on a
-- pool thread, the client for config, kept in this VM from one task to the
-- next (and with it its token and keep-alive connections). A pool VM runs
-- one task at a time, so a client is never used by two threads at once.

-- Clients of this VM, by configuration.
local clients, client_count = {}, 0
local MAX_CLIENTS = 16

-- The same text for equal configurations, nested tables (a Redis store's
-- { url = ..., password = ... }) included.
local function fingerprint(config)
  local keys = {}
  for k in pairs(config) do keys[#keys + 1] = tostring(k) end
  table.sort(keys)
  local parts = {}
  for i, k in ipairs(keys) do
    local v = config[k]
    local text = type(v) == "table" and "{" .. fingerprint(v) .. "}" or string.format("%q", tostring(v))
    parts[i] = string.format("%q=%s:%s", k, type(v), text)
  end
  return table.concat(parts, ",")
end

local function thread_client(config)
  local id = fingerprint(config)
  local mpesa = clients[id]
  if mpesa then return mpesa end
  -- b2c.new takes tokenStore = "<lua_shared_dict name>" inside nginx
  local err
  mpesa, err = require("b2c").new(config)
  if not mpesa then return nil, err end
  if client_count >= MAX_CLIENTS then  -- configurations keep changing: start over
    for _, old in pairs(clients) do old:close() end
    clients, client_count = {}, 0
  end
  clients[id], client_count = mpesa, client_count + 1
  return mpesa
end

return thread_client
