-- A small single-threaded HTTP/1.1 server and client on LuaSocket, one
-- job per module:
--   loop      the event loop (coroutines over select(), socket budget)
--   conn      a buffered non-blocking connection
--   message   header and body framing shared by both sides
--   request   reading a request (server side)
--   response  writing an answer, with the wire-level faults
--   server    accepting and serving connections
--   client    POSTing a callback
-- This module gathers what the rest of the simulator (and its specs) use.
local loop = require("b2c.sim.http.loop")
local server = require("b2c.sim.http.server")
local client = require("b2c.sim.http.client")

return {
  FD_SETSIZE = loop.FD_SETSIZE,
  INBOUND_RESERVE = loop.INBOUND_RESERVE,
  loop = loop.loop,
  server = server.new,
  parse_url = client.parse_url,
  post = client.post,
}
