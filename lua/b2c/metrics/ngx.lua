-- The metrics of an nginx server in the lua_shared_dict b2c_metrics, ready
-- to name where a function cannot go (a b2c.ngx pool thread's settings):
--   events = "b2c.metrics.ngx"                                  (b2c.new setting)
--   location = /metrics { content_by_lua_block { require("b2c.metrics.ngx"):serve() } }
return require("b2c.metrics").new({ dict = "b2c_metrics" })
