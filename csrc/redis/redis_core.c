/* b2c.redis_core: a minimal binding of hiredis for the Redis token store
 * (lua/b2c/redis.lua holds the protocol). Built as its own module, only
 * where hiredis is installed: the core (b2c.core) never needs it.
 *
 *   local rc = require("b2c.redis_core")
 *   local conn = rc.open(host, port, db, username|nil, password|nil, timeout)
 *   conn:call("GET", "k")   -> true, reply       (reply: string, number,
 *                                                  table, or nil for Redis's nil)
 *                           -> nil, message      (I/O failure or error reply)
 *   conn:close()            drops the connection (the next call reconnects)
 *   rc.sleep(seconds)
 *
 * A connection is made on the first call and again after any I/O failure,
 * with `timeout` seconds for connecting and for each command; a kept
 * connection the server closed meanwhile is replaced within the call. A connection
 * object belongs to one Lua state (one thread); no state is shared between
 * connections. The password is kept in a wiped-on-free copy, sent from a
 * buffer wiped at once (never through hiredis's output buffer), and never
 * appears in a message or in tostring. A Redis gone away never raises
 * SIGPIPE in the host: it is blocked around each call and a pending one
 * consumed. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <hiredis/hiredis.h>
#include <openssl/crypto.h>

#include "../compat.h"
#include "../secret.h"

#define CONN_MT "b2c.redis_core.conn"
#define MAX_ARGS 16

typedef struct conn {
    redisContext *ctx;
    char *host;
    char *username;
    char *password;
    int port;
    int db;
    struct timeval timeout;
} conn;

static void drop_ctx(conn *c) {
    if (c->ctx) {
        redisFree(c->ctx);
        c->ctx = NULL;
    }
}

static void free_conn(conn *c) {
    drop_ctx(c);
    b2c_secret_free(c->host);
    b2c_secret_free(c->username);
    b2c_secret_free(c->password);
    c->host = c->username = c->password = NULL;
}

/* Pushes "redis at host:port: what" (never a secret). */
static void push_failure(lua_State *L, const conn *c, const char *what) {
    lua_pushfstring(L, "redis at %s:%d: %s", c->host, c->port, what);
}

/* Runs one command on a connected context. Returns the reply or NULL
 * (then the context is dropped, msg says why, and *closed says whether the
 * server had closed the connection, as opposed to a timeout). */
static redisReply *command(conn *c, int argc, const char **argv, const size_t *lens,
                           char *msg, size_t msg_len, int *closed) {
    redisReply *r = redisCommandArgv(c->ctx, argc, argv, lens);
    if (!r) {
        int err = c->ctx->err, saved = errno;
        *closed = err == REDIS_ERR_EOF ||
                  (err == REDIS_ERR_IO && (saved == EPIPE || saved == ECONNRESET));
        snprintf(msg, msg_len, "%s", err ? c->ctx->errstr : "no reply");
        drop_ctx(c);
    }
    return r;
}

/* AUTH, written to the socket from a buffer wiped afterwards, then its
 * reply read as usual. */
static redisReply *auth_command(conn *c, int argc, const char **argv, const size_t *lens,
                                char *msg, size_t msg_len) {
    char *cmd = NULL;
    int len = redisFormatCommandArgv(&cmd, argc, argv, lens);
    if (len < 0 || !cmd) {
        snprintf(msg, msg_len, "out of memory");
        drop_ctx(c);
        return NULL;
    }
    size_t off = 0;
    int failed = 0;
    while (off < (size_t)len) {
        ssize_t n = send(c->ctx->fd, cmd + off, (size_t)len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            failed = 1;
            break;
        }
        off += (size_t)n;
    }
    OPENSSL_cleanse(cmd, (size_t)len);
    redisFreeCommand(cmd);
    void *reply = NULL;
    if (failed || redisGetReply(c->ctx, &reply) != REDIS_OK || !reply) {
        snprintf(msg, msg_len, "%s", failed ? "cannot send AUTH" : c->ctx->errstr);
        drop_ctx(c);
        return NULL;
    }
    return (redisReply *)reply;
}

/* Connects, authenticates and selects the database when not connected.
 * 0, or -1 with msg set. */
static int ensure_connected(conn *c, char *msg, size_t msg_len) {
    if (c->ctx) return 0;
    c->ctx = redisConnectWithTimeout(c->host, c->port, c->timeout);
    if (!c->ctx) {
        snprintf(msg, msg_len, "out of memory");
        return -1;
    }
    if (c->ctx->err) {
        snprintf(msg, msg_len, "cannot connect: %s", c->ctx->errstr);
        drop_ctx(c);
        return -1;
    }
    if (redisSetTimeout(c->ctx, c->timeout) != REDIS_OK) {
        snprintf(msg, msg_len, "cannot set the timeout");
        drop_ctx(c);
        return -1;
    }
    if (c->password) {
        const char *argv[3];
        size_t lens[3];
        int argc = 0;
        argv[argc] = "AUTH"; lens[argc++] = 4;
        if (c->username) { argv[argc] = c->username; lens[argc++] = strlen(c->username); }
        argv[argc] = c->password; lens[argc++] = strlen(c->password);
        redisReply *r = auth_command(c, argc, argv, lens, msg, msg_len);
        if (!r) return -1;
        int bad = r->type == REDIS_REPLY_ERROR;
        if (bad) snprintf(msg, msg_len, "authentication refused: %.*s", (int)r->len, r->str);
        freeReplyObject(r);
        if (bad) { drop_ctx(c); return -1; }
    }
    if (c->db != 0) {
        redisReply *r = redisCommand(c->ctx, "SELECT %d", c->db);
        if (!r) {
            snprintf(msg, msg_len, "%s", c->ctx->errstr);
            drop_ctx(c);
            return -1;
        }
        int bad = r->type == REDIS_REPLY_ERROR;
        if (bad) snprintf(msg, msg_len, "SELECT %d refused: %.*s", c->db, (int)r->len, r->str);
        freeReplyObject(r);
        if (bad) { drop_ctx(c); return -1; }
    }
    return 0;
}

static void push_reply(lua_State *L, const redisReply *r) {
    switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
        lua_pushlstring(L, r->str, r->len);
        break;
    case REDIS_REPLY_INTEGER:
        lua_pushnumber(L, (lua_Number)r->integer);
        break;
    case REDIS_REPLY_ARRAY:
        lua_createtable(L, (int)r->elements, 0);
        for (size_t i = 0; i < r->elements; i++) {
            if (r->element[i]->type == REDIS_REPLY_NIL) lua_pushboolean(L, 0);
            else push_reply(L, r->element[i]);
            lua_rawseti(L, -2, (int)i + 1);
        }
        break;
    default:
        lua_pushnil(L);
    }
}

static conn *check_conn(lua_State *L) {
    return (conn *)luaL_checkudata(L, 1, CONN_MT);
}

/* SIGPIPE blocked in this thread while hiredis writes; one it raised is
 * consumed before the old mask comes back. */
typedef struct {
    sigset_t old;
    int was_pending;
} pipe_guard;

static void block_sigpipe(pipe_guard *g) {
    sigset_t pipe, pending;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    sigpending(&pending);
    g->was_pending = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe, &g->old);
}

static void restore_sigpipe(const pipe_guard *g) {
    sigset_t pipe, pending;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    sigpending(&pending);
    if (!g->was_pending && sigismember(&pending, SIGPIPE) == 1) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe, NULL, &zero) < 0 && errno == EINTR) {}
    }
    pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

static int l_call(lua_State *L) {
    conn *c = check_conn(L);
    int argc = lua_gettop(L) - 1;
    if (argc < 1 || argc > MAX_ARGS) return luaL_error(L, "redis call: 1 to %d arguments", MAX_ARGS);
    const char *argv[MAX_ARGS];
    size_t lens[MAX_ARGS];
    for (int i = 0; i < argc; i++) argv[i] = luaL_checklstring(L, i + 2, &lens[i]);
    if (!c->host) return luaL_error(L, "redis call: connection closed");
    char msg[256];
    pipe_guard guard;
    block_sigpipe(&guard);
    redisReply *r = NULL;
    int reused = c->ctx != NULL, closed = 0;
    if (ensure_connected(c, msg, sizeof msg) == 0) r = command(c, argc, argv, lens, msg, sizeof msg, &closed);
    /* A connection kept from an earlier call finds a Redis restarted since
     * closed: one new connection, before the caller sees a failure. */
    if (!r && reused && closed && ensure_connected(c, msg, sizeof msg) == 0)
        r = command(c, argc, argv, lens, msg, sizeof msg, &closed);
    restore_sigpipe(&guard);
    if (!r) {
        lua_pushnil(L);
        push_failure(L, c, msg);
        return 2;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(msg, sizeof msg, "%.*s", (int)r->len, r->str);
        freeReplyObject(r);
        lua_pushnil(L);
        push_failure(L, c, msg);
        return 2;
    }
    lua_pushboolean(L, 1);
    push_reply(L, r);
    freeReplyObject(r);
    return 2;
}

static int l_close(lua_State *L) {
    drop_ctx(check_conn(L));
    return 0;
}

static int l_gc(lua_State *L) {
    free_conn(check_conn(L));
    return 0;
}

static int l_tostring(lua_State *L) {
    conn *c = check_conn(L);
    lua_pushfstring(L, "b2c.redis connection (%s:%d/%d)", c->host ? c->host : "closed",
                    c->port, c->db);
    return 1;
}

static char *dup_opt(lua_State *L, int idx) {
    size_t len;
    const char *s = luaL_optlstring(L, idx, NULL, &len);
    if (!s) return NULL;
    char *d = b2c_secret_dup(s, len);
    if (!d) luaL_error(L, "out of memory");
    return d;
}

static int l_open(lua_State *L) {
    size_t host_len;
    const char *host = luaL_checklstring(L, 1, &host_len);
    lua_Integer port = luaL_checkinteger(L, 2);
    lua_Integer db = luaL_checkinteger(L, 3);
    lua_Number timeout = luaL_checknumber(L, 6);
    luaL_argcheck(L, port > 0 && port < 65536, 2, "port out of range");
    luaL_argcheck(L, db >= 0 && db < 1000000, 3, "db out of range");
    luaL_argcheck(L, timeout > 0 && timeout < 86400, 6, "timeout out of range");
    conn *c = (conn *)lua_newuserdata(L, sizeof *c);
    memset(c, 0, sizeof *c);
    luaL_getmetatable(L, CONN_MT);
    lua_setmetatable(L, -2);
    c->port = (int)port;
    c->db = (int)db;
    c->timeout.tv_sec = (time_t)timeout;
    c->timeout.tv_usec = (suseconds_t)((timeout - (lua_Number)c->timeout.tv_sec) * 1e6);
    c->host = b2c_secret_dup(host, host_len);
    if (!c->host) return luaL_error(L, "out of memory");
    c->username = dup_opt(L, 4);
    c->password = dup_opt(L, 5);
    return 1;
}

static int l_sleep(lua_State *L) {
    lua_Number s = luaL_checknumber(L, 1);
    if (s <= 0) return 0;
    struct timespec ts;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (lua_Number)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
    return 0;
}

static const luaL_Reg conn_methods[] = {
    {"call", l_call}, {"close", l_close}, {NULL, NULL}};

static const luaL_Reg functions[] = {
    {"open", l_open}, {"sleep", l_sleep}, {NULL, NULL}};

__attribute__((visibility("default"))) int luaopen_b2c_redis_core(lua_State *L) {
    if (luaL_newmetatable(L, CONN_MT)) {
        lua_newtable(L);
        b2c_setfuncs(L, conn_methods);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, l_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, l_tostring);
        lua_setfield(L, -2, "__tostring");
        lua_pushliteral(L, "locked");
        lua_setfield(L, -2, "__metatable");
    }
    lua_pop(L, 1);
    b2c_newlib(L, functions);
    return 1;
}
