-- The command line of `b2c`: flags taken out wherever they stand, then a
-- command's options and positionals.
local args = {}

-- Takes the flags (options without a value) named in `names` out of
-- list[first..]: returns the rest, in order, and { flag = true } for each
-- found ("--json" -> json).
function args.take_flags(list, first, names)
  local rest, found = {}, {}
  for i, a in ipairs(list) do
    if i >= first and names[a] then found[a:sub(3)] = true else rest[#rest + 1] = a end
  end
  return rest, found
end

-- Options of a command: { ["--env"] = "value", ... } and positionals, or
-- nil, message. takes: option -> true when it takes a value.
function args.options(list, first, takes)
  local opts, positional = {}, {}
  local i = first
  while i <= #list do
    local a = list[i]
    local name, value = a:match("^(%-%-[%w-]+)=(.*)$")
    name = name or a
    if name == "-h" or name == "--help" then
      opts.help = true
    elseif takes[name] then
      if value == nil then
        i = i + 1
        value = list[i]
        if value == nil then return nil, name .. " needs a value" end
      end
      opts[name] = value
    elseif a:sub(1, 1) == "-" and a ~= "-" then
      return nil, "unknown option " .. a
    else
      positional[#positional + 1] = a
    end
    i = i + 1
  end
  return opts, positional
end

return args
