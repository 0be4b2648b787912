rockspec_format = "3.0"
package = "b2c-redis"
version = "scm-1"
source = {
  url = "git+file:///dev/null",
}
description = {
  summary = "The Redis client behind b2c's tokenStore = \"redis://...\" (hiredis)",
  detailed = [[
b2c.redis_core: a small hiredis binding that lets b2c share one Daraja OAuth
token between every process and machine of a fleet through Redis. Its own
rock so that the b2c core never needs hiredis. Debian: libhiredis-dev.
]],
  license = "MIT",
}
dependencies = {
  "lua >= 5.1",
  "b2c",
}
external_dependencies = {
  HIREDIS = { header = "hiredis/hiredis.h", library = "hiredis" },
  OPENSSL = { header = "openssl/crypto.h", library = "crypto" },
}
build = {
  type = "builtin",
  modules = {
    ["b2c.redis_core"] = {
      sources = { "csrc/redis/redis_core.c", "csrc/secret.c" },
      defines = { "_POSIX_C_SOURCE=200809L" },
      libraries = { "hiredis", "crypto" },
      incdirs = { "$(HIREDIS_INCDIR)", "$(OPENSSL_INCDIR)" },
      libdirs = { "$(HIREDIS_LIBDIR)", "$(OPENSSL_LIBDIR)" },
    },
  },
}
