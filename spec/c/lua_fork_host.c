/* A minimal Lua 5.4 host for specs that need a real fork() or a resolver
 * of their own: it runs the Lua file argv[1] with the other arguments as
 * `...`, and gives it fork(), wait(pid) -> exit status, getpid() and
 * exit_now(code) (_exit: no atexit handlers, no Lua state close). Built
 * with -DSLOW_RESOLVER and spec/c/slow_resolver.c, also slow_lookups(). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

static int l_fork(lua_State *L)
{
    pid_t pid;
    fflush(NULL);
    pid = fork();
    if (pid < 0)
        return luaL_error(L, "fork failed");
    lua_pushinteger(L, (lua_Integer)pid);
    return 1;
}

static int l_wait(lua_State *L)
{
    int status = 0;
    pid_t pid = (pid_t)luaL_checkinteger(L, 1);
    if (waitpid(pid, &status, 0) != pid)
        return luaL_error(L, "waitpid failed");
    lua_pushinteger(L, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    return 1;
}

static int l_getpid(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)getpid());
    return 1;
}

static int l_exit_now(lua_State *L)
{
    fflush(NULL);
    _exit((int)luaL_checkinteger(L, 1));
}

#ifdef SLOW_RESOLVER
int b2c_spec_slow_lookups(void);

static int l_slow_lookups(lua_State *L)
{
    lua_pushinteger(L, b2c_spec_slow_lookups());
    return 1;
}
#endif

int main(int argc, char **argv)
{
    lua_State *L;
    int i, rc;
    if (argc < 2) {
        fprintf(stderr, "usage: %s script.lua [args...]\n", argv[0]);
        return 2;
    }
    L = luaL_newstate();
    luaL_openlibs(L);
    lua_register(L, "fork", l_fork);
    lua_register(L, "wait", l_wait);
    lua_register(L, "getpid", l_getpid);
    lua_register(L, "exit_now", l_exit_now);
#ifdef SLOW_RESOLVER
    lua_register(L, "slow_lookups", l_slow_lookups);
#endif
    if (luaL_loadfile(L, argv[1]) != LUA_OK) {
        fprintf(stderr, "%s\n", lua_tostring(L, -1));
        return 2;
    }
    for (i = 2; i < argc; i++)
        lua_pushstring(L, argv[i]);
    rc = lua_pcall(L, argc - 2, 0, 0);
    if (rc != LUA_OK)
        fprintf(stderr, "error: %s\n", lua_tostring(L, -1));
    lua_close(L);
    return rc == LUA_OK ? 0 : 1;
}
