/* Lua 5.1 / LuaJIT / 5.2+ differences used by the binding.
 * Names carry a b2c_ prefix so they never collide with the 5.2 names
 * LuaJIT already exports. */
#ifndef B2C_COMPAT_H
#define B2C_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

#if LUA_VERSION_NUM >= 502
#define b2c_newlib(L, l) luaL_newlib((L), (l))
#define b2c_setfuncs(L, l) luaL_setfuncs((L), (l), 0)
#define b2c_rawlen(L, i) lua_rawlen((L), (i))
#else
#define b2c_newlib(L, l) (lua_newtable(L), luaL_register((L), NULL, (l)))
#define b2c_setfuncs(L, l) luaL_register((L), NULL, (l))
#define b2c_rawlen(L, i) lua_objlen((L), (i))
#endif

#endif
