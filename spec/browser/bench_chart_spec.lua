-- bench/chart.lua: `make bench`'s text table as an SVG chart, one panel per
-- section and unit, a bar per row at its median.
local sim = require("support.sim")
local files = require("support.files")

local TABLE = [[
b2c benchmark, 2026-12-01 20:58 UTC
machine: test

1. Sequential sends, HTTP keep-alive, canned nginx (2 rounds x 1000 sends)
                                                             min    median       max
  raw libcurl (floor): sends/s                             10700     12000     13418
  b2c C core alone (client:post): sends/s                  12183     12248     12313
  b2c mpesa.b2c.send: sends/s                               5101      6000      7892
  b2c mpesa.b2c.send: CPU us/send                           97.0     112.1     127.3
  ratio b2c / raw libcurl, sends/s (per round)              0.38      0.56      0.74
  target: b2c >= 0.80x raw libcurl sends/s -> median 0.559x on Lua 5.4.4: MISSED

3. sendBatch: 5000 payouts (1 rounds); ideal 3.91 s
                                                             min    median       max
  wall seconds                                              4.22      4.22      4.22
]]

local function q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

describe("#lua54 bench/chart.lua", function()
  it("draws each section's rows of one unit side by side, at their medians", function()
    local dir = files.tempdir()
    finally(function() os.execute("rm -rf " .. q(dir)) end)
    local f = assert(io.open(dir .. "/results.txt", "w"))
    f:write(TABLE)
    f:close()
    assert.is_true(os.execute("cd " .. q(sim.root) .. " && lua5.4 bench/chart.lua " .. q(dir .. "/results.txt")
      .. " >/dev/null"))
    local svg = assert(files.read(dir .. "/results.svg"))
    assert.truthy(svg:find("^<svg xmlns=\"http://www.w3.org/2000/svg\""))
    assert.truthy(svg:find("1. Sequential sends, HTTP keep-alive, canned nginx - sends/s", 1, true))
    -- one row of its unit (CPU, wall seconds) and ratios stay in the table
    assert.is_nil(svg:find("CPU us/send", 1, true))
    assert.is_nil(svg:find("wall seconds", 1, true))
    assert.is_nil(svg:find("ratio", 1, true))
    local widths, labels = {}, {}
    for width, label in svg:gmatch('<rect class="median" [^>]- width="([%d.]+)"[^>]*><title>(.-): min ') do
      widths[label] = tonumber(width)
      labels[#labels + 1] = label
    end
    assert.are.same({ "raw libcurl (floor)", "b2c C core alone (client:post)", "b2c mpesa.b2c.send" }, labels)
    -- bars in proportion to the medians
    assert.is_true(math.abs(widths["b2c mpesa.b2c.send"] / widths["raw libcurl (floor)"] - 0.5) < 0.001)
    assert.truthy(svg:find("<title>b2c mpesa.b2c.send: min 5101, median 6000, max 7892</title>", 1, true))
  end)
end)
