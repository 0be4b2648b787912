-- The SDK's private lua-cjson instance: settings changed here never touch
-- the global cjson other code in the process relies on.
local json = require("cjson.safe").new()

json.decode_max_depth(64)
json.encode_max_depth(64)

return json
