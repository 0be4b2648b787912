/* Does any freed block still hold the Redis password? free() is replaced
 * for the whole process (this executable's definition interposes libc's
 * for hiredis and the module too) and searches every block it frees. Lua's
 * own allocations (the password as a Lua string, which nothing can wipe)
 * bypass it. Usage: redis_wipe_test CPATH PORT PASSWORD; prints
 * "freed blocks holding the password: N". */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

extern void __libc_free(void *p);
extern void *__libc_realloc(void *p, size_t n);

static const char *needle;
static size_t needle_len;
static int hits;

void free(void *p) {
    if (p && needle_len) {
        size_t n = malloc_usable_size(p);
        if (n >= needle_len && memmem(p, n, needle, needle_len)) hits++;
    }
    __libc_free(p);
}

static void *lua_alloc(void *ud, void *p, size_t osize, size_t nsize) {
    (void)ud;
    (void)osize;
    if (nsize == 0) {
        __libc_free(p);
        return NULL;
    }
    return __libc_realloc(p, nsize);
}

int main(int argc, char **argv) {
    if (argc != 4) return 2;
    lua_State *L = lua_newstate(lua_alloc, NULL);
    luaL_openlibs(L);
    lua_pushstring(L, argv[1]);
    lua_setglobal(L, "CPATH");
    lua_pushinteger(L, atoi(argv[2]));
    lua_setglobal(L, "PORT");
    lua_pushstring(L, argv[3]);
    lua_setglobal(L, "PASSWORD");
    needle = argv[3];
    needle_len = strlen(needle);
    const char *script =
        "package.cpath = CPATH\n"
        "local rc = require('b2c.redis_core')\n"
        "local good = rc.open('127.0.0.1', PORT, 0, nil, PASSWORD, 2)\n"
        "local ok, reply = good:call('SET', 'k', 'v')\n"
        "assert(ok and reply == 'OK', tostring(reply))\n"
        "local bad = rc.open('127.0.0.1', PORT, 0, 'nobody', PASSWORD, 2)\n"
        "assert(not bad:call('PING'))\n"
        "good:close()\n"
        "good, bad = nil, nil\n"
        "collectgarbage() collectgarbage()\n";
    if (luaL_dostring(L, script) != 0) {
        fprintf(stderr, "%s\n", lua_tostring(L, -1));
        lua_close(L);
        return 1;
    }
    lua_close(L);
    printf("freed blocks holding the password: %d\n", hits);
    return 0;
}
