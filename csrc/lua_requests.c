/* The client's requests: post() (blocking) and the polled ones:
 * start_post, start_token, step, done, finish. The core adds the security
 * credential and the token to what is sent; neither passes through Lua. */
#include <limits.h>
#include <string.h>

#include "lua_client.h"
#include "oauth.h"

/* Checks post()/start_post() arguments and builds the body (with the
 * credential added by the core when asked), the URL and the Authorization
 * value. Returns 0, or -1 when out of memory. */
static int build_request(lua_State *L, b2c_client *c, b2c_buf *body, b2c_buf *url, b2c_buf *auth)
{
    size_t path_len, json_len;
    const char *path = luaL_checklstring(L, 2, &path_len);
    const char *json = luaL_checklstring(L, 3, &json_len);
    int with_credential = lua_toboolean(L, 4);
    if (c->token == NULL)
        return luaL_error(L, "b2c client: a request needs a token: call token() first");
    if (json_len < 2 || json[0] != '{' || path[0] != '/')
        return luaL_error(L, "b2c client: a request needs a path and a JSON object");
    b2c_buf_clear(body);
    b2c_buf_clear(url);
    b2c_buf_clear(auth);
    if (with_credential) {
        if (b2c_buf_append(body, "{\"SecurityCredential\":\"", 23) < 0 ||
            b2c_buf_append(body, c->credential, strlen(c->credential)) < 0 ||
            b2c_buf_append(body, "\"", 1) < 0 ||
            (json_len > 2 && b2c_buf_append(body, ",", 1) < 0) ||
            b2c_buf_append(body, json + 1, json_len - 1) < 0)
            return -1;
    } else if (b2c_buf_append(body, json, json_len) < 0) {
        return -1;
    }
    if (b2c_buf_append(url, c->base_url, strlen(c->base_url)) < 0 ||
        b2c_buf_append(url, path, path_len) < 0 || b2c_buf_append(auth, "Bearer ", 7) < 0 ||
        b2c_buf_append(auth, c->token, strlen(c->token)) < 0)
        return -1;
    return 0;
}

/* client:post(path, json, withCredential) -> status, body | nil, failure.
 * With withCredential the core adds "SecurityCredential" to the JSON object
 * itself, so the credential never passes through Lua strings. */
static int client_post(lua_State *L)
{
    b2c_client *c = b2c_lua_check_client(L);
    b2c_http_result r;

    if (build_request(L, c, &c->request, &c->url, &c->auth) < 0)
        b2c_lua_out_of_memory(&r);
    else
        b2c_http_perform(&c->http, c->url.data, c->auth.data, c->request.data, c->request.len,
                         &r);
    b2c_buf_clear(&c->url);
    b2c_buf_clear(&c->auth);
    b2c_buf_clear(&c->request);
    return b2c_lua_push_answer(L, c, &c->http.response, &r, c->token);
}

static b2c_transfer *reserve_transfer(b2c_client *c, int *id, b2c_http_result *r)
{
    b2c_http_config hc;
    b2c_lua_http_config(c, &hc);
    memset(r, 0, sizeof *r);
    *id = b2c_transfers_reserve(&c->transfers, &hc, r->message);
    if (*id == 0) {
        r->outcome = B2C_UNSENT;
        return NULL;
    }
    return b2c_transfers_get(&c->transfers, *id);
}

/* client:start_post(path, json, withCredential) -> id, tokenGeneration | nil, failure
 * Like post(), without waiting: client:step() moves it, client:finish(id)
 * gives what post() would have returned. */
static int client_start_post(lua_State *L)
{
    b2c_client *c = b2c_lua_check_client(L);
    b2c_buf url = {NULL, 0, 0}, auth = {NULL, 0, 0};
    b2c_http_result r;
    int id = 0, ok;
    b2c_transfer *tr = reserve_transfer(c, &id, &r);

    if (tr == NULL)
        return b2c_lua_push_failure(L, c, NULL, &c->http.response, &r);
    ok = build_request(L, c, &tr->body, &url, &auth) == 0 &&
         (tr->token = b2c_secret_dup(c->token, strlen(c->token))) != NULL;
    if (!ok)
        b2c_lua_out_of_memory(&r);
    else if (b2c_http_begin(&tr->http, url.data, auth.data, tr->body.data, tr->body.len, &r) < 0)
        ok = 0;
    else if (b2c_transfers_start(&c->transfers, tr) < 0) {
        ok = 0;
        b2c_lua_out_of_memory(&r);
    }
    b2c_buf_free(&url);
    b2c_buf_free(&auth);
    if (!ok) {
        b2c_transfers_release(&c->transfers, tr);
        return b2c_lua_push_failure(L, c, NULL, &c->http.response, &r);
    }
    lua_pushinteger(L, id);
    lua_pushnumber(L, (lua_Number)c->token_generation);
    return 2;
}

/* client:start_token() -> id | false | nil, failure
 * Starts a polled token fetch, or answers false when another fetch for the
 * same app is already running (anywhere in the process): wait for it. */
static int client_start_token(lua_State *L)
{
    b2c_client *c = b2c_lua_check_client(L);
    b2c_http_result r;
    unsigned long unused;
    int id = 0;
    b2c_transfer *tr;

    if (c->token_transfer != 0) {
        lua_pushboolean(L, 0);
        return 1;
    }
    if (!b2c_token_try_begin(c->tokens, &c->token_ticket)) {
        c->token_waiting = 1; /* step() waits for that fetch, not a busy loop */
        lua_pushboolean(L, 0);
        return 1;
    }
    c->token_waiting = 0;
    tr = reserve_transfer(c, &id, &r);
    if (tr != NULL &&
        b2c_oauth_begin(&tr->http, c->base_url, c->consumer_key, c->consumer_secret, &r) == 0 &&
        b2c_transfers_start(&c->transfers, tr) == 0) {
        tr->is_token = 1;
        c->token_transfer = id;
        lua_pushinteger(L, id);
        return 1;
    }
    if (tr != NULL)
        b2c_transfers_release(&c->transfers, tr);
    if (r.message[0] == '\0')
        b2c_lua_out_of_memory(&r);
    b2c_token_end(c->tokens, c->token_ticket, NULL, 0, &unused);
    return b2c_lua_push_failure(L, c, NULL, &c->http.response, &r);
}

/* client:step(seconds) -> number of transfers still running. Waits at most
 * the given time (0: not at all; more than INT_MAX ms: INT_MAX ms) for I/O,
 * or, with nothing running, for another client's token fetch this one
 * waits for. */
static int client_step(lua_State *L)
{
    b2c_client *c = b2c_lua_check_client(L);
    lua_Number seconds = luaL_optnumber(L, 2, 0);
    long ms;
    int running;
    if (!(seconds >= 0))
        return luaL_error(L, "b2c client: step() needs a number of seconds >= 0");
    ms = seconds * 1000 >= (lua_Number)INT_MAX ? INT_MAX : b2c_lua_seconds_to_ms((double)seconds);
    if (c->token_transfer != 0)
        b2c_token_alive(c->tokens, c->token_ticket, (double)ms / 1000);
    running = b2c_transfers_step(&c->transfers, ms);
    b2c_lua_settle_token(c);
    if (running == 0 && ms > 0 && c->token_waiting)
        b2c_token_wait(c->tokens, (double)ms / 1000);
    lua_pushinteger(L, running);
    return 1;
}

static b2c_transfer *check_transfer(lua_State *L, b2c_client *c)
{
    b2c_transfer *tr = b2c_transfers_get(&c->transfers, (int)luaL_checkinteger(L, 2));
    if (tr == NULL || tr->state == B2C_FREE)
        luaL_error(L, "b2c client: no such transfer");
    return tr;
}

/* client:done(id) -> true when the transfer has finished */
static int client_done(lua_State *L)
{
    b2c_client *c = b2c_lua_check_client(L);
    lua_pushboolean(L, check_transfer(L, c)->state == B2C_DONE);
    return 1;
}

/* client:finish(id) -> for start_post, what post() returns; for
 * start_token, true | nil, failure. Frees the transfer. */
static int client_finish(lua_State *L)
{
    b2c_client *c = b2c_lua_check_client(L);
    b2c_transfer *tr = check_transfer(L, c);
    b2c_http_result r;
    int n;
    if (tr->state != B2C_DONE)
        return luaL_error(L, "b2c client: finish() before the transfer is done");
    if (tr->is_token) {
        if (c->token_transfer == (int)luaL_checkinteger(L, 2))
            b2c_lua_settle_token(c);
        if (tr->ok) {
            lua_pushboolean(L, 1);
            n = 1;
        } else {
            n = b2c_lua_push_failure(L, c, NULL, &tr->http.response, &tr->result);
        }
    } else if (tr->settled) {
        n = b2c_lua_push_failure(L, c, NULL, &tr->http.response, &tr->result);
    } else {
        b2c_http_end(&tr->http, tr->rc, &r);
        n = b2c_lua_push_answer(L, c, &tr->http.response, &r, tr->token);
    }
    b2c_transfers_release(&c->transfers, tr);
    return n;
}

const luaL_Reg b2c_lua_request_methods[] = {
    {"post", client_post},
    {"start_post", client_start_post},
    {"start_token", client_start_token},
    {"step", client_step},
    {"done", client_done},
    {"finish", client_finish},
    {NULL, NULL}};
