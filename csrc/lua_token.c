/* The client's token methods: token() (blocking, through the process
 * cache), cached_token, export_token and import_token (for stores shared
 * between processes), drop_token, and the settling of a polled fetch. The
 * token itself reaches Lua only through export_token. */
#include <string.h>

#include "lua_client.h"
#include "oauth.h"

static int fetch_token(void *ud, char **token, double *ttl)
{
    b2c_client *c = (b2c_client *)ud;
    c->token_fetched = 1;
    return b2c_oauth_fetch(&c->http, c->base_url, c->consumer_key, c->consumer_secret, token,
                           ttl, &c->failure);
}

/* Reads this client's polled token fetch once it is done: its token goes
 * to the process cache (waking whoever waits for it) at once, not when Lua
 * gets round to finish(). */
void b2c_lua_settle_token(b2c_client *c)
{
    b2c_transfer *tr = b2c_transfers_get(&c->transfers, c->token_transfer);
    char *token = NULL;
    double ttl = 0;
    unsigned long generation = 0;
    if (tr == NULL || tr->state != B2C_DONE || tr->settled)
        return;
    tr->settled = 1;
    tr->ok = b2c_oauth_end(&tr->http, tr->rc, &token, &ttl, &tr->result) == 0;
    b2c_token_end(c->tokens, c->token_ticket, tr->ok ? token : NULL, ttl, &generation);
    if (tr->ok)
        b2c_buf_clear(&tr->http.response); /* held the token */
    c->token_transfer = 0;
}

/* A blocking call while this client's own polled token fetch is under way:
 * it is driven to its end here (nobody else can), rather than waited for
 * or fetched a second time (a new token kills the one in flight). */
static void finish_own_fetch(b2c_client *c)
{
    b2c_transfer *tr = b2c_transfers_get(&c->transfers, c->token_transfer);
    while (tr != NULL && tr->state == B2C_RUNNING) {
        b2c_token_alive(c->tokens, c->token_ticket, 0.1);
        if (b2c_transfers_step(&c->transfers, 100) == 0 && tr->state == B2C_RUNNING)
            return; /* not on the multi handle: b2c_token_get sees it stall */
    }
    b2c_lua_settle_token(c);
}

/* client:token() -> true, fetched | nil, failure. fetched: this call asked
 * Daraja for the token (not the cache, nor another thread's fetch). The
 * token itself never reaches Lua. */
static int client_token(lua_State *L)
{
    b2c_client *c = b2c_lua_check_client(L);
    if (c->token_transfer != 0)
        finish_own_fetch(c);
    if (c->token != NULL && b2c_token_current(c->tokens, c->token_generation)) {
        lua_pushboolean(L, 1); /* the copy this client holds: no new one per send */
        lua_pushboolean(L, 0);
        return 2;
    }
    b2c_secret_free(c->token);
    c->token = NULL;
    c->token_fetched = 0;
    memset(&c->failure, 0, sizeof c->failure);
    if (b2c_token_get(c->tokens, fetch_token, c, (double)c->timeout_ms / 1000, &c->token,
                      &c->token_generation) < 0) {
        if (c->failure.message[0] == '\0')
            strcpy(c->failure.message, "out of memory");
        return b2c_lua_push_failure(L, c, NULL, &c->http.response, &c->failure);
    }
    b2c_buf_clear(&c->http.response); /* held the OAuth answer */
    lua_pushboolean(L, 1);
    lua_pushboolean(L, c->token_fetched);
    return 2;
}

/* client:cached_token() -> true when the process cache holds a fresh token
 * (now in use by this client), false otherwise. Never fetches. */
static int client_cached_token(lua_State *L)
{
    b2c_client *c = b2c_lua_check_client(L);
    char *token = NULL;
    double remaining;
    unsigned long generation;
    if (b2c_token_peek(c->tokens, &token, &remaining, &generation) < 0) {
        lua_pushboolean(L, 0);
        return 1;
    }
    c->token_waiting = 0;
    b2c_secret_free(c->token);
    c->token = token;
    c->token_generation = generation;
    lua_pushboolean(L, 1);
    return 1;
}

/* client:export_token() -> token, seconds | nil
 * For token stores shared between processes (nginx workers) only: this is
 * the one way the token reaches Lua. It is the token this client sends (not
 * whatever the process cache holds by now: another thread may have replaced
 * it, and a refusal must name the token that was refused). seconds is its
 * remaining life, 0 when the cache has moved on to a newer one. */
static int client_export_token(lua_State *L)
{
    b2c_client *c = b2c_lua_check_client(L);
    char *cached = NULL;
    double remaining = 0;
    unsigned long generation;
    if (c->token == NULL) {
        lua_pushnil(L);
        return 1;
    }
    if (b2c_token_peek(c->tokens, &cached, &remaining, &generation) < 0 ||
        generation != c->token_generation)
        remaining = 0;
    b2c_secret_free(cached);
    lua_pushstring(L, c->token);
    lua_pushnumber(L, remaining);
    return 2;
}

/* client:import_token(token, seconds) -> true, or false when the gateway
 * has already refused that token: a token another process fetched. */
static int client_import_token(lua_State *L)
{
    b2c_client *c = b2c_lua_check_client(L);
    size_t len;
    const char *token = luaL_checklstring(L, 2, &len);
    lua_Number ttl = luaL_checknumber(L, 3);
    unsigned long generation;
    int rc;
    if (len == 0 || strlen(token) != len || strcspn(token, " \r\n\t\"") != len)
        return luaL_error(L, "b2c client: import_token() needs a token");
    if (!(ttl > 0))
        return luaL_error(L, "b2c client: import_token() needs a positive lifetime");
    rc = b2c_token_put(c->tokens, token, (double)ttl, &generation);
    if (rc < 0)
        return luaL_error(L, "b2c client: out of memory");
    if (rc == 1) {
        lua_pushboolean(L, 0);
        return 1;
    }
    b2c_secret_free(c->token);
    c->token = b2c_secret_dup(token, len);
    c->token_generation = generation;
    if (c->token == NULL)
        return luaL_error(L, "b2c client: out of memory");
    lua_pushboolean(L, 1);
    return 1;
}

/* client:drop_token([generation]): the gateway rejected the token; forget it
 * everywhere unless another client has already replaced it. */
static int client_drop_token(lua_State *L)
{
    b2c_client *c = b2c_lua_check_client(L);
    /* Polled requests name the generation they were sent with: a refusal of
     * an older token must not drop the fresh one fetched since. */
    unsigned long generation =
        lua_isnoneornil(L, 2) ? c->token_generation : (unsigned long)luaL_checknumber(L, 2);
    b2c_token_invalidate(c->tokens, generation);
    if (c->token != NULL && c->token_generation == generation) {
        b2c_secret_free(c->token);
        c->token = NULL;
    }
    return 0;
}

const luaL_Reg b2c_lua_token_methods[] = {
    {"token", client_token},
    {"drop_token", client_drop_token},
    {"cached_token", client_cached_token},
    {"export_token", client_export_token},
    {"import_token", client_import_token},
    {NULL, NULL}};
