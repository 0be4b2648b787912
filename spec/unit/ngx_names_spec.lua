-- b2c.ngx answers to the SDK's camelCase names and keeps its snake_case
-- ones: the same functions under both. Loading the module needs no nginx.
describe("b2c.ngx names", function()
  local ngx_module = require("b2c.ngx")

  it("has a camelCase name for every snake_case function", function()
    local pairs_of = {
      sharedDictStore = "shared_dict_store", threadPool = "thread_pool",
      handleResult = "handle_result", handleQueueTimeout = "handle_queue_timeout",
    }
    for camel, snake in pairs(pairs_of) do
      assert.is_function(ngx_module[camel], camel)
      assert.are.equal(ngx_module[snake], ngx_module[camel], camel)
    end
    for name, value in pairs(ngx_module) do
      if type(value) == "function" and name:find("_") then
        local camel = name:gsub("_(%l)", string.upper)
        assert.are.equal(value, ngx_module[camel], name .. " has no camelCase twin")
      end
    end
  end)
end)
