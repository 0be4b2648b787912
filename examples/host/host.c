/* A C host that embeds Lua 5.4 and pays out once with b2c.
 *
 *   usage: b2c-host BASE_URL CERTIFICATE [ROOT]
 *   or:    B2C_BASE_URL=... B2C_CERTIFICATE=... [B2C_ROOT=...] b2c-host
 *
 * BASE_URL and CERTIFICATE are those of b2c-sim's ready line ("b2c-sim
 * listening on http://127.0.0.1:PORT certificate=/path"). ROOT (default ".")
 * is the source tree: ROOT/lua holds the b2c modules and ROOT/build the C
 * module b2c/core.so built for Lua 5.4 (`make`). B2C_CONSUMER_KEY,
 * B2C_CONSUMER_SECRET and B2C_INITIATOR_PASSWORD default to the simulator's.
 *
 * Prints the acknowledgement's ConversationID and OriginatorConversationID.
 * Exit status: 0 paid out, 1 b2c returned an error, 2 anything else.
 *
 * The same file builds as C and as C++ (make host):
 *   cc -std=c99 -Wall -Wextra -Werror -I/usr/include/lua5.4 host.c -llua5.4
 *   g++ -x c++ -Wall -Wextra -Werror -I/usr/include/lua5.4 host.c -llua5.4
 */
#include <stdio.h>
#include <stdlib.h>

#ifdef __cplusplus
#include <lua.hpp> /* lua.h, lualib.h and lauxlib.h inside extern "C" */
#else
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#endif

struct payout {
    const char *base_url;
    const char *certificate;
    const char *root;
    int status; /* the exit status */
};

static const char *setting(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : dflt;
}

static void set_string(lua_State *L, const char *key, const char *value)
{
    lua_pushstring(L, value);
    lua_setfield(L, -2, key);
}

/* An error object from b2c (nil, err) at the top: report it. */
static int failed(lua_State *L, struct payout *p, const char *what)
{
    const char *kind, *message;
    lua_getfield(L, -1, "kind");
    kind = lua_tostring(L, -1);
    message = luaL_tolstring(L, -2, NULL); /* err.message, through __tostring */
    fprintf(stderr, "b2c-host: %s failed (%s): %s\n", what, kind ? kind : "?", message);
    p->status = 1;
    return 0;
}

/* Everything that touches Lua runs here, under lua_pcall: a Lua error
 * (out of memory, a missing module) ends up in main, not in a panic. */
static int pay(lua_State *L)
{
    struct payout *p = (struct payout *)lua_touserdata(L, 1);

    luaL_openlibs(L);

    /* Where b2c lives, ahead of the system's paths (lua-cjson is there):
     * package.path = ROOT/lua/?.lua;ROOT/lua/?/init.lua;<package.path>
     * package.cpath = ROOT/build/?.so;<package.cpath> */
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "path");
    lua_pushfstring(L, "%s/lua/?.lua;%s/lua/?/init.lua;%s", p->root, p->root, lua_tostring(L, -1));
    lua_setfield(L, -3, "path");
    lua_getfield(L, -2, "cpath");
    lua_pushfstring(L, "%s/build/?.so;%s", p->root, lua_tostring(L, -1));
    lua_setfield(L, -4, "cpath");
    lua_pop(L, 3);

    /* local b2c = require("b2c") */
    lua_getglobal(L, "require");
    lua_pushliteral(L, "b2c");
    lua_call(L, 1, 1);

    /* local mpesa, err = b2c.new{ ... } */
    lua_getfield(L, -1, "new");
    lua_createtable(L, 0, 10);
    set_string(L, "consumerKey", setting("B2C_CONSUMER_KEY", "sim-consumer-key"));
    set_string(L, "consumerSecret", setting("B2C_CONSUMER_SECRET", "sim-consumer-secret"));
    set_string(L, "initiatorPassword", setting("B2C_INITIATOR_PASSWORD", "Safaricom999!*!"));
    set_string(L, "certificate", p->certificate);
    set_string(L, "baseUrl", p->base_url);
    set_string(L, "shortCode", "600996");
    set_string(L, "initiatorName", "testapi");
    set_string(L, "resultUrl", "http://127.0.0.1:9/b2c/result");
    set_string(L, "queueTimeOutUrl", "http://127.0.0.1:9/b2c/timeout");
    lua_call(L, 1, 2);
    if (lua_isnil(L, -2))
        return failed(L, p, "b2c.new");
    lua_pop(L, 1);

    /* local ack, err = mpesa.b2c.send{ ... } */
    lua_getfield(L, -1, "b2c");
    lua_getfield(L, -1, "send");
    lua_createtable(L, 0, 3);
    set_string(L, "recipientPhone", "254708374149");
    lua_pushinteger(L, 100);
    lua_setfield(L, -2, "amount");
    set_string(L, "remarks", "Payout from a C host");
    lua_call(L, 1, 2);
    if (lua_isnil(L, -2))
        return failed(L, p, "mpesa.b2c.send");
    lua_pop(L, 1);

    lua_getfield(L, -1, "ConversationID");
    lua_getfield(L, -2, "OriginatorConversationID");
    printf("ConversationID %s\nOriginatorConversationID %s\n", lua_tostring(L, -2),
           lua_tostring(L, -1));
    lua_pop(L, 4); /* the two ids, ack, mpesa.b2c */

    /* mpesa:close() (lua_close would also release it) */
    lua_getfield(L, -1, "close");
    lua_pushvalue(L, -2);
    lua_call(L, 1, 0);
    p->status = 0;
    return 0;
}

/* lua_pcall's message handler: the error and a traceback. */
static int traceback(lua_State *L)
{
    luaL_traceback(L, L, luaL_tolstring(L, 1, NULL), 1);
    return 1;
}

int main(int argc, char **argv)
{
    struct payout p;
    lua_State *L;

    p.base_url = argc > 1 ? argv[1] : setting("B2C_BASE_URL", NULL);
    p.certificate = argc > 2 ? argv[2] : setting("B2C_CERTIFICATE", NULL);
    p.root = argc > 3 ? argv[3] : setting("B2C_ROOT", ".");
    p.status = 2;
    if (p.base_url == NULL || p.certificate == NULL) {
        fprintf(stderr, "usage: %s BASE_URL CERTIFICATE [ROOT]\n", argv[0]);
        return 2;
    }

    L = luaL_newstate();
    if (L == NULL) {
        fprintf(stderr, "b2c-host: cannot create a Lua state\n");
        return 2;
    }
    lua_pushcfunction(L, traceback);
    lua_pushcfunction(L, pay);
    lua_pushlightuserdata(L, &p);
    if (lua_pcall(L, 1, 0, 1) != LUA_OK) {
        fprintf(stderr, "b2c-host: %s\n", lua_tostring(L, -1));
        p.status = 2;
    }
    lua_close(L);
    return p.status;
}
