/* The Lua binding: module b2c.core. It only moves values between Lua and
 * the pure-C parts (http, oauth, token_cache, crypto, redact); sequencing
 * and error objects live in the Lua modules. Every Lua call that can raise
 * happens before C resources are taken, or the resources belong to a
 * userdata whose __gc releases them. Secrets (consumer secret, security
 * credential, access token) stay in C and are wiped when released; every
 * text from a server is redacted of them before it reaches Lua. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "compat.h"
#include "crypto.h"
#include "http.h"
#include "json_scan.h"
#include "oauth.h"
#include "redact.h"
#include "secret.h"
#include "token_cache.h"
#include "transfers.h"
#include "version.h"

#define CLIENT_MT "b2c.core.client"

typedef struct client {
    b2c_http http;
    char *base_url;
    char *consumer_key;
    char *consumer_secret;      /* secret */
    char *basic;                /* secret: base64 of key:secret, as the OAuth request sends it */
    char *credential;           /* secret */
    b2c_token_entry *tokens;    /* shared with every client of the same app */
    char *token;                /* secret: this client's copy of the shared token */
    b2c_redactor redactor;      /* takes the secrets above out of what servers send */
    unsigned long token_generation;
    b2c_buf request;            /* the body being sent: holds the credential */
    b2c_buf url, auth;          /* of the request being set up; auth is a secret */
    b2c_http_result failure;    /* details of the last failed token fetch */
    b2c_transfers transfers;    /* requests driven by polling (client:step) */
    int token_transfer;         /* id of the polled token fetch in flight, or 0 */
    unsigned long token_ticket; /* names that fetch in the token cache */
    int token_waiting;          /* a polled request waits for another's fetch */
    int token_fetched;          /* client:token() fetched one itself (for the events hook) */
    b2c_sockets sockets;        /* every socket of this client's handles */
    pid_t pid;                  /* the process whose handles these are */
    char *user_agent, *ca_file; /* to open an easy handle per polled transfer */
    char *proxy;                /* NULL: none */
    long timeout_ms, connect_timeout_ms;
    size_t max_response;
    int open;
} client;

static void http_config(const client *c, b2c_http_config *hc);

/* In a child after fork(): the connections, polled transfers and token
 * fetch are the parent's. The child lets go of them without a word on the
 * wire (see b2c_http_abandon: their memory is left behind on purpose, and
 * each socket is only close()d) and starts clean. The parent's polled
 * transfers end here with a failure; the token stays (still valid). */
static void forget_parent(client *c)
{
    b2c_http_abandon(&c->http);
    b2c_transfers_abandon(&c->transfers);
    b2c_sockets_drop(&c->sockets);
    c->token_transfer = 0;
    c->token_waiting = 0;
    c->pid = getpid();
}

static client *check_client(lua_State *L)
{
    client *c = (client *)luaL_checkudata(L, 1, CLIENT_MT);
    if (!c->open)
        luaL_error(L, "b2c client is closed");
    if (c->pid != getpid()) {
        b2c_http_config hc;
        char msg[B2C_MSG_SIZE];
        forget_parent(c);
        http_config(c, &hc);
        if (b2c_http_open(&c->http, &hc, msg) < 0)
            luaL_error(L, "b2c client: after fork(): %s", msg);
    }
    return c;
}

static void release(client *c)
{
    if (c->open && c->pid != getpid())
        forget_parent(c);
    if (c->token_transfer != 0) {
        unsigned long unused;
        b2c_token_end(c->tokens, c->token_ticket, NULL, 0, &unused); /* let others fetch */
        c->token_transfer = 0;
    }
    b2c_transfers_close(&c->transfers);
    free(c->user_agent);
    free(c->ca_file);
    free(c->proxy);
    c->user_agent = c->ca_file = c->proxy = NULL;
    b2c_http_close(&c->http);
    b2c_sockets_free(&c->sockets); /* after every handle: libcurl reports each close to it */
    b2c_token_entry_release(c->tokens);
    c->tokens = NULL;
    b2c_secret_free(c->consumer_secret);
    b2c_secret_free(c->basic);
    b2c_redactor_free(&c->redactor);
    b2c_secret_free(c->credential);
    b2c_secret_free(c->token);
    free(c->base_url);
    free(c->consumer_key);
    c->consumer_secret = c->basic = c->credential = c->token = c->base_url = c->consumer_key = NULL;
    b2c_buf_free(&c->request);
    b2c_buf_free(&c->url);
    b2c_buf_free(&c->auth);
    c->open = 0;
}

/* close, __gc and __close: one idempotent function. */
static int client_close(lua_State *L)
{
    client *c = (client *)luaL_checkudata(L, 1, CLIENT_MT);
    release(c);
    return 0;
}

static int client_tostring(lua_State *L)
{
    client *c = (client *)luaL_checkudata(L, 1, CLIENT_MT);
    if (c->open)
        lua_pushfstring(L, "b2c.core.client (%s)", c->base_url);
    else
        lua_pushliteral(L, "b2c.core.client (closed)");
    return 1;
}

static const char *field_string(lua_State *L, int t, const char *name, size_t *len)
{
    const char *s;
    lua_getfield(L, t, name); /* left on the stack: keeps the string alive */
    if (lua_isnil(L, -1))
        return NULL;
    s = lua_tolstring(L, -1, len);
    if (s == NULL)
        luaL_error(L, "b2c.core.client: %s must be a string", name);
    return s;
}

/* Whole milliseconds, rounded up: libcurl reads 0 as "no timeout". */
static long seconds_to_ms(double v)
{
    long ms = (long)(v * 1000);
    return (double)ms < v * 1000 ? ms + 1 : ms;
}

static long field_ms(lua_State *L, int t, const char *name, double dflt_seconds)
{
    double v;
    lua_getfield(L, t, name);
    v = lua_isnil(L, -1) ? dflt_seconds : luaL_checknumber(L, -1);
    lua_pop(L, 1);
    if (!(v > 0 && v <= 86400))
        luaL_error(L, "b2c.core.client: %s must be 0 < seconds <= 86400", name);
    return seconds_to_ms(v);
}

/* The connection settings, for the client's own handle and each polled one. */
static void http_config(const client *c, b2c_http_config *hc)
{
    hc->base_url = c->base_url;
    hc->user_agent = c->user_agent;
    hc->ca_file = c->ca_file;
    hc->timeout_ms = c->timeout_ms;
    hc->connect_timeout_ms = c->connect_timeout_ms;
    hc->max_response = c->max_response;
    hc->proxy = c->proxy;
    hc->sockets = (b2c_sockets *)&c->sockets;
}

static int fail_config(lua_State *L, const char *field, const char *message)
{
    lua_pushnil(L);
    lua_pushstring(L, message);
    lua_pushstring(L, field);
    return 3;
}

/* The name of the setting a bad input of the credential's encryption is. */
static const char *bad_input_field(b2c_bad_input bad)
{
    return bad == B2C_BAD_PASSWORD ? "initiatorPassword" : "certificate";
}

/* core.client{ baseUrl, consumerKey, consumerSecret, securityCredential |
 *   initiatorPassword + certificate, userAgent, caFile, timeout,
 *   connectTimeout, maxResponseBytes, proxy } -> client | nil, rule, field
 * Settings arrive checked by b2c.config (lua/b2c/config.lua); what breaks
 * its rules raises here. Only what the C layers find (the URL and proxy
 * syntax of http.c, a certificate or password the encryption refuses) is
 * returned, with the field it is about as a value. */
static int core_client(lua_State *L)
{
    size_t base_len, key_len, secret_len, cred_len = 0, pass_len = 0, cert_len = 0, proxy_len = 0;
    const char *base, *key, *secret, *cred, *pass, *cert, *agent, *ca_file, *proxy;
    long timeout_ms, connect_ms;
    lua_Integer max_response;
    char msg[B2C_MSG_SIZE];
    b2c_http_config hc;
    unsigned char id[32];
    client *c;

    luaL_checktype(L, 1, LUA_TTABLE);
    base = field_string(L, 1, "baseUrl", &base_len);
    key = field_string(L, 1, "consumerKey", &key_len);
    secret = field_string(L, 1, "consumerSecret", &secret_len);
    cred = field_string(L, 1, "securityCredential", &cred_len);
    pass = field_string(L, 1, "initiatorPassword", &pass_len);
    cert = field_string(L, 1, "certificate", &cert_len);
    agent = field_string(L, 1, "userAgent", NULL);
    ca_file = field_string(L, 1, "caFile", NULL);
    proxy = field_string(L, 1, "proxy", &proxy_len);
    timeout_ms = field_ms(L, 1, "timeout", 30);
    connect_ms = field_ms(L, 1, "connectTimeout", 10);
    lua_getfield(L, 1, "maxResponseBytes");
    max_response = lua_isnil(L, -1) ? 65536 : luaL_checkinteger(L, -1);
    lua_pop(L, 1);
    if (base == NULL || key == NULL || secret == NULL || agent == NULL)
        return luaL_error(L, "b2c.core.client: baseUrl, consumerKey, consumerSecret and "
                             "userAgent are required");
    if ((cred == NULL) == (pass == NULL) || (pass != NULL && cert == NULL))
        return luaL_error(L, "b2c.core.client: securityCredential, or initiatorPassword and "
                             "certificate");
    if (max_response < 1024 || max_response > 64 * 1024 * 1024)
        return luaL_error(L, "b2c.core.client: maxResponseBytes out of range");
    if (strlen(base) != base_len || strlen(key) != key_len || strlen(secret) != secret_len ||
        (cred != NULL && strlen(cred) != cred_len) || (proxy != NULL && strlen(proxy) != proxy_len))
        return luaL_error(L, "b2c.core.client: a setting holds a NUL byte");
    if (b2c_http_check_base_url(base, msg) < 0)
        return fail_config(L, "baseUrl", msg);
    if (proxy != NULL && b2c_http_check_proxy(proxy, base, msg) < 0)
        return fail_config(L, "proxy", msg);

    /* From here on, resources belong to the userdata and __gc frees them. */
    c = (client *)lua_newuserdata(L, sizeof *c);
    memset(c, 0, sizeof *c);
    luaL_getmetatable(L, CLIENT_MT);
    lua_setmetatable(L, -2);
    c->open = 1;

    c->base_url = b2c_secret_dup(base, base_len);
    c->consumer_key = b2c_secret_dup(key, key_len);
    c->consumer_secret = b2c_secret_dup(secret, secret_len);
    c->user_agent = b2c_secret_dup(agent, strlen(agent));
    c->ca_file = ca_file != NULL ? b2c_secret_dup(ca_file, strlen(ca_file)) : NULL;
    c->proxy = proxy != NULL ? b2c_secret_dup(proxy, strlen(proxy)) : NULL;
    c->pid = getpid();
    c->timeout_ms = timeout_ms;
    c->connect_timeout_ms = connect_ms;
    c->max_response = (size_t)max_response;
    c->basic = b2c_oauth_basic(key, secret);
    if (c->base_url == NULL || c->consumer_key == NULL || c->consumer_secret == NULL ||
        c->basic == NULL ||
        c->user_agent == NULL || (ca_file != NULL && c->ca_file == NULL) ||
        (proxy != NULL && c->proxy == NULL) ||
        b2c_app_identity(base, key, secret, id) < 0 || (c->tokens = b2c_token_entry_get(id)) == NULL) {
        release(c);
        return luaL_error(L, "b2c.core.client: out of memory");
    }
    http_config(c, &hc);
    if (b2c_http_open(&c->http, &hc, msg) < 0) {
        release(c);
        return luaL_error(L, "b2c.core.client: %s", msg); /* libcurl could not start */
    }
    if (pass != NULL) {
        b2c_bad_input bad;
        c->credential = b2c_credential_encrypt(pass, pass_len, (const unsigned char *)cert,
                                               cert_len, msg, &bad);
        if (c->credential == NULL) {
            release(c);
            return fail_config(L, bad_input_field(bad), msg);
        }
    } else if ((c->credential = b2c_secret_dup(cred, cred_len)) == NULL) {
        release(c);
        return luaL_error(L, "b2c.core.client: out of memory");
    }
    return 1;
}

static const char *outcome_name(b2c_outcome o)
{
    switch (o) {
    case B2C_RESPONSE: return "response";
    case B2C_UNSENT: return "unsent";
    case B2C_AMBIGUOUS: return "ambiguous";
    case B2C_TOO_LARGE: return "too_large";
    default: return "bad_answer";
    }
}

/* Every secret the client holds; sent_token: the token a request went
 * with, when the client may have replaced it since. */
static void client_secrets(const client *c, const char *sent_token, b2c_secrets *set)
{
    set->n = 0;
    b2c_secrets_add(set, c->consumer_secret);
    b2c_secrets_add(set, c->basic);
    b2c_secrets_add(set, c->credential);
    b2c_secrets_add(set, c->token);
    b2c_secrets_add(set, sent_token);
}

/* Pushes text from a server, every secret of the client taken out (a
 * server may echo what it was sent); text is wiped. */
static void push_redacted(lua_State *L, client *c, const char *sent_token, b2c_buf *text)
{
    b2c_secrets set;
    client_secrets(c, sent_token, &set);
    b2c_redactor_update(&c->redactor, &set);
    b2c_redact(text, &c->redactor); /* out of memory: only the mask is left */
    lua_pushlstring(L, text->data ? text->data : "", text->len);
    b2c_buf_clear(text);
}

static void push_redacted_string(lua_State *L, client *c, const char *sent_token,
                                 const char *s)
{
    b2c_buf text = {NULL, 0, 0};
    if (b2c_buf_append(&text, s, strlen(s)) < 0)
        lua_pushliteral(L, "out of memory");
    else
        push_redacted(L, c, sent_token, &text);
    b2c_buf_free(&text);
}

/* nil, { outcome, message, status, retryable, timedOut, curlCode, body }
 * The message and body redacted of the client's secrets. */
static int push_failure(lua_State *L, client *c, const char *sent_token, b2c_buf *response,
                        const b2c_http_result *r)
{
    lua_pushnil(L);
    lua_createtable(L, 0, 7);
    lua_pushstring(L, outcome_name(r->outcome));
    lua_setfield(L, -2, "outcome");
    push_redacted_string(L, c, sent_token, r->message);
    lua_setfield(L, -2, "message");
    if (r->status > 0) {
        lua_pushinteger(L, (lua_Integer)r->status);
        lua_setfield(L, -2, "status");
    }
    lua_pushboolean(L, r->retryable);
    lua_setfield(L, -2, "retryable");
    lua_pushboolean(L, r->timed_out);
    lua_setfield(L, -2, "timedOut");
    lua_pushinteger(L, r->curl_code);
    lua_setfield(L, -2, "curlCode");
    /* Only a plain error answer is handed over: a 200 the core could not
     * use may carry a token. */
    if (r->outcome == B2C_RESPONSE) {
        push_redacted(L, c, sent_token, response);
        lua_setfield(L, -2, "body");
    }
    b2c_buf_clear(response);
    return 2;
}

static int fetch_token(void *ud, char **token, double *ttl)
{
    client *c = (client *)ud;
    c->token_fetched = 1;
    return b2c_oauth_fetch(&c->http, c->base_url, c->consumer_key, c->consumer_secret, token,
                           ttl, &c->failure);
}

/* Reads this client's polled token fetch once it is done: its token goes
 * to the process cache (waking whoever waits for it) at once, not when Lua
 * gets round to finish(). */
static void settle_token(client *c)
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
static void finish_own_fetch(client *c)
{
    b2c_transfer *tr = b2c_transfers_get(&c->transfers, c->token_transfer);
    while (tr != NULL && tr->state == B2C_RUNNING) {
        b2c_token_alive(c->tokens, c->token_ticket, 0.1);
        if (b2c_transfers_step(&c->transfers, 100) == 0 && tr->state == B2C_RUNNING)
            return; /* not on the multi handle: b2c_token_get sees it stall */
    }
    settle_token(c);
}

/* client:token() -> true, fetched | nil, failure. fetched: this call asked
 * Daraja for the token (not the cache, nor another thread's fetch). The
 * token itself never reaches Lua. */
static int client_token(lua_State *L)
{
    client *c = check_client(L);
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
        return push_failure(L, c, NULL, &c->http.response, &c->failure);
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
    client *c = check_client(L);
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
    client *c = check_client(L);
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
    client *c = check_client(L);
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
    client *c = check_client(L);
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

/* Checks post()/start_post() arguments and builds the body (with the
 * credential added by the core when asked), the URL and the Authorization
 * value. Returns 0, or -1 when out of memory. */
static int build_request(lua_State *L, client *c, b2c_buf *body, b2c_buf *url, b2c_buf *auth)
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

static void out_of_memory(b2c_http_result *r)
{
    memset(r, 0, sizeof *r);
    r->outcome = B2C_UNSENT;
    strcpy(r->message, "out of memory");
}

/* status, body | nil, failure; redacted of the client's secrets (Daraja
 * echoes the token sent in "Invalid Access Token - <token>"). */
static int push_answer(lua_State *L, client *c, b2c_buf *response,
                       const b2c_http_result *r, const char *token)
{
    if (r->outcome != B2C_RESPONSE)
        return push_failure(L, c, token, response, r);
    lua_pushinteger(L, (lua_Integer)r->status);
    push_redacted(L, c, token, response);
    return 2;
}

/* client:post(path, json, withCredential) -> status, body | nil, failure.
 * With withCredential the core adds "SecurityCredential" to the JSON object
 * itself, so the credential never passes through Lua strings. */
static int client_post(lua_State *L)
{
    client *c = check_client(L);
    b2c_http_result r;

    if (build_request(L, c, &c->request, &c->url, &c->auth) < 0)
        out_of_memory(&r);
    else
        b2c_http_perform(&c->http, c->url.data, c->auth.data, c->request.data, c->request.len,
                         &r);
    b2c_buf_clear(&c->url);
    b2c_buf_clear(&c->auth);
    b2c_buf_clear(&c->request);
    return push_answer(L, c, &c->http.response, &r, c->token);
}

static b2c_transfer *reserve_transfer(client *c, int *id, b2c_http_result *r)
{
    b2c_http_config hc;
    http_config(c, &hc);
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
    client *c = check_client(L);
    b2c_buf url = {NULL, 0, 0}, auth = {NULL, 0, 0};
    b2c_http_result r;
    int id = 0, ok;
    b2c_transfer *tr = reserve_transfer(c, &id, &r);

    if (tr == NULL)
        return push_failure(L, c, NULL, &c->http.response, &r);
    ok = build_request(L, c, &tr->body, &url, &auth) == 0 &&
         (tr->token = b2c_secret_dup(c->token, strlen(c->token))) != NULL;
    if (!ok)
        out_of_memory(&r);
    else if (b2c_http_begin(&tr->http, url.data, auth.data, tr->body.data, tr->body.len, &r) < 0)
        ok = 0;
    else if (b2c_transfers_start(&c->transfers, tr) < 0) {
        ok = 0;
        out_of_memory(&r);
    }
    b2c_buf_free(&url);
    b2c_buf_free(&auth);
    if (!ok) {
        b2c_transfers_release(&c->transfers, tr);
        return push_failure(L, c, NULL, &c->http.response, &r);
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
    client *c = check_client(L);
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
        out_of_memory(&r);
    b2c_token_end(c->tokens, c->token_ticket, NULL, 0, &unused);
    return push_failure(L, c, NULL, &c->http.response, &r);
}

/* client:step(seconds) -> number of transfers still running. Waits at most
 * the given time (0: not at all; more than INT_MAX ms: INT_MAX ms) for I/O,
 * or, with nothing running, for another client's token fetch this one
 * waits for. */
static int client_step(lua_State *L)
{
    client *c = check_client(L);
    lua_Number seconds = luaL_optnumber(L, 2, 0);
    long ms;
    int running;
    if (!(seconds >= 0))
        return luaL_error(L, "b2c client: step() needs a number of seconds >= 0");
    ms = seconds * 1000 >= (lua_Number)INT_MAX ? INT_MAX : seconds_to_ms((double)seconds);
    if (c->token_transfer != 0)
        b2c_token_alive(c->tokens, c->token_ticket, (double)ms / 1000);
    running = b2c_transfers_step(&c->transfers, ms);
    settle_token(c);
    if (running == 0 && ms > 0 && c->token_waiting)
        b2c_token_wait(c->tokens, (double)ms / 1000);
    lua_pushinteger(L, running);
    return 1;
}

static b2c_transfer *check_transfer(lua_State *L, client *c)
{
    b2c_transfer *tr = b2c_transfers_get(&c->transfers, (int)luaL_checkinteger(L, 2));
    if (tr == NULL || tr->state == B2C_FREE)
        luaL_error(L, "b2c client: no such transfer");
    return tr;
}

/* client:done(id) -> true when the transfer has finished */
static int client_done(lua_State *L)
{
    client *c = check_client(L);
    lua_pushboolean(L, check_transfer(L, c)->state == B2C_DONE);
    return 1;
}

/* client:finish(id) -> for start_post, what post() returns; for
 * start_token, true | nil, failure. Frees the transfer. */
static int client_finish(lua_State *L)
{
    client *c = check_client(L);
    b2c_transfer *tr = check_transfer(L, c);
    b2c_http_result r;
    int n;
    if (tr->state != B2C_DONE)
        return luaL_error(L, "b2c client: finish() before the transfer is done");
    if (tr->is_token) {
        if (c->token_transfer == (int)luaL_checkinteger(L, 2))
            settle_token(c);
        if (tr->ok) {
            lua_pushboolean(L, 1);
            n = 1;
        } else {
            n = push_failure(L, c, NULL, &tr->http.response, &tr->result);
        }
    } else if (tr->settled) {
        n = push_failure(L, c, NULL, &tr->http.response, &tr->result);
    } else {
        b2c_http_end(&tr->http, tr->rc, &r);
        n = push_answer(L, c, &tr->http.response, &r, tr->token);
    }
    b2c_transfers_release(&c->transfers, tr);
    return n;
}

/* client:pid() -> the process this client's connections belong to: after
 * fork() it is the child's own (its polled requests from before the fork
 * ended with a failure; the caller's own records of them are the parent's). */
static int client_pid(lua_State *L)
{
    client *c = check_client(L);
    lua_pushinteger(L, (lua_Integer)c->pid);
    return 1;
}

/* core.encrypt_credential(password, certificate) -> base64 | nil, rule, field */
static int core_encrypt_credential(lua_State *L)
{
    size_t pass_len, cert_len;
    const char *pass = luaL_checklstring(L, 1, &pass_len);
    const char *cert = luaL_checklstring(L, 2, &cert_len);
    char msg[B2C_MSG_SIZE];
    b2c_bad_input bad;
    char *b64 =
        b2c_credential_encrypt(pass, pass_len, (const unsigned char *)cert, cert_len, msg, &bad);
    if (b64 == NULL)
        return fail_config(L, bad_input_field(bad), msg);
    lua_pushstring(L, b64);
    b2c_secret_free(b64);
    return 1;
}

/* core.decrypt_credential(base64, privateKeyPem) -> plaintext | nil, message
 * For simulators and tests: the inverse of encrypt_credential. */
static int core_decrypt_credential(lua_State *L)
{
    size_t b64_len, key_len, out_len = 0;
    const char *b64 = luaL_checklstring(L, 1, &b64_len);
    const char *key = luaL_checklstring(L, 2, &key_len);
    char msg[B2C_MSG_SIZE];
    char *plain = b2c_credential_decrypt(b64, b64_len, key, key_len, &out_len, msg);
    if (plain == NULL) {
        lua_pushnil(L);
        lua_pushstring(L, msg);
        return 2;
    }
    lua_pushlstring(L, plain, out_len);
    OPENSSL_cleanse(plain, out_len);
    free(plain);
    return 1;
}

/* core.json_valid(text) -> true | false, why[, name]: strict JSON (RFC
 * 8259, UTF-8) in which no object names a member twice. lua-cjson reads
 * more than JSON (0x0, 01, NaN, raw control bytes, invalid UTF-8) and keeps
 * the last of repeated names; a payment result must not be read from
 * anything else. why: "syntax", "duplicate" (name: the repeated name as
 * written) or "memory". */
static int core_json_valid(lua_State *L)
{
    size_t n;
    const char *text = luaL_checklstring(L, 1, &n);
    b2c_json_span duplicate;
    int rc = b2c_json_check(text, n, &duplicate);
    if (rc == B2C_JSON_OK) {
        lua_pushboolean(L, 1);
        return 1;
    }
    lua_pushboolean(L, 0);
    if (rc == B2C_JSON_DUPLICATE) {
        lua_pushliteral(L, "duplicate");
        lua_pushlstring(L, duplicate.p, duplicate.n);
        return 3;
    }
    lua_pushstring(L, rc == B2C_JSON_NOMEM ? "memory" : "syntax");
    return 2;
}

/* core.json_literal(text, name, ...) -> the source text of the value at
 * that path of member names, or nil; for text json_valid accepted. Tells a
 * number written 0 from one written 1e-400 (both decode to 0). */
static int core_json_literal(lua_State *L)
{
    size_t n, i, len;
    const char *text = luaL_checklstring(L, 1, &n);
    const char *path[8];
    b2c_json_span value;
    len = (size_t)lua_gettop(L) - 1;
    luaL_argcheck(L, len >= 1 && len <= 8, 2, "1 to 8 member names");
    for (i = 0; i < len; i++)
        path[i] = luaL_checkstring(L, (int)i + 2);
    if (b2c_json_path(text, n, path, len, &value) == 1)
        lua_pushlstring(L, value.p, value.n);
    else
        lua_pushnil(L);
    return 1;
}

/* core.now() -> monotonic seconds, for rates and deadlines */
static int core_now(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
    return 1;
}

/* core.sleep(seconds): a pause with nothing in flight (batch back-off) */
static int core_sleep(lua_State *L)
{
    lua_Number seconds = luaL_checknumber(L, 1);
    struct timespec ts;
    if (seconds <= 0)
        return 0;
    if (seconds > 3600)
        seconds = 3600;
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (lua_Number)ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);
    return 0;
}

static int core_uuid(lua_State *L)
{
    char id[37];
    if (b2c_uuid4(id) < 0)
        return luaL_error(L, "b2c: the random number generator failed");
    lua_pushstring(L, id);
    return 1;
}

/* core.token_key(baseUrl, consumerKey, consumerSecret) -> 64 hex digits.
 * The app's identity (SHA-256 of host, key and secret, as the process token
 * cache uses) for naming its token in a store shared between processes: it
 * tells apps apart without revealing the secret. */
static int core_token_key(lua_State *L)
{
    size_t base_len, key_len, secret_len;
    const char *base = luaL_checklstring(L, 1, &base_len);
    const char *key = luaL_checklstring(L, 2, &key_len);
    const char *secret = luaL_checklstring(L, 3, &secret_len);
    unsigned char id[32];
    char out[65];
    if (strlen(base) != base_len || strlen(key) != key_len || strlen(secret) != secret_len)
        return luaL_error(L, "b2c.core.token_key: strings must not contain NUL bytes");
    if (b2c_app_identity(base, key, secret, id) < 0)
        return luaL_error(L, "b2c.core.token_key: SHA-256 failed");
    b2c_hex(id, sizeof id, out);
    lua_pushlstring(L, out, 64);
    return 1;
}

/* core.certificate_info(bytes) -> table | nil, message
 * Facts about a PEM or DER certificate for operators (b2c cert): subject,
 * commonName, issuer, issuerCommonName, serial, notBefore, notAfter,
 * expired, spkiSha256, keyType, keyBits, ca, dnsNames (list), ipAddresses
 * (a count). Nothing secret is involved. */
static int core_certificate_info(lua_State *L)
{
    size_t len;
    const char *bytes = luaL_checklstring(L, 1, &len);
    char msg[B2C_MSG_SIZE];
    struct b2c_cert_info *info;
    int i;
    /* About 4 KiB: kept off the C stack, freed by the garbage collector. */
    info = (struct b2c_cert_info *)lua_newuserdata(L, sizeof *info);
    if (b2c_certificate_info((const unsigned char *)bytes, len, info, msg) < 0) {
        lua_pushnil(L);
        lua_pushstring(L, msg);
        return 2;
    }
    lua_createtable(L, 0, 14);
    lua_pushstring(L, info->subject);
    lua_setfield(L, -2, "subject");
    lua_pushstring(L, info->common_name);
    lua_setfield(L, -2, "commonName");
    lua_pushstring(L, info->issuer);
    lua_setfield(L, -2, "issuer");
    lua_pushstring(L, info->issuer_cn);
    lua_setfield(L, -2, "issuerCommonName");
    lua_pushstring(L, info->serial);
    lua_setfield(L, -2, "serial");
    lua_pushstring(L, info->not_before);
    lua_setfield(L, -2, "notBefore");
    lua_pushstring(L, info->not_after);
    lua_setfield(L, -2, "notAfter");
    lua_pushboolean(L, info->expired);
    lua_setfield(L, -2, "expired");
    lua_pushstring(L, info->spki_sha256);
    lua_setfield(L, -2, "spkiSha256");
    lua_pushstring(L, info->key_type);
    lua_setfield(L, -2, "keyType");
    lua_pushinteger(L, info->key_bits);
    lua_setfield(L, -2, "keyBits");
    lua_pushboolean(L, info->is_ca);
    lua_setfield(L, -2, "ca");
    lua_createtable(L, info->dns_count, 0);
    for (i = 0; i < info->dns_count; i++) {
        lua_pushstring(L, info->dns[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "dnsNames");
    lua_pushinteger(L, info->ip_count);
    lua_setfield(L, -2, "ipAddresses");
    return 1;
}

static void push_curl_info(lua_State *L)
{
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    lua_pushstring(L, v->version);
    lua_setfield(L, -2, "curlVersion");
    lua_pushstring(L, v->ssl_version ? v->ssl_version : "");
    lua_setfield(L, -2, "sslVersion");
    lua_pushboolean(L, (v->features & CURL_VERSION_ASYNCHDNS) != 0);
    lua_setfield(L, -2, "asyncDns");
}

static const luaL_Reg client_methods[] = {
    {"token", client_token},
    {"drop_token", client_drop_token},
    {"cached_token", client_cached_token},
    {"export_token", client_export_token},
    {"import_token", client_import_token},
    {"post", client_post},
    {"start_post", client_start_post},
    {"start_token", client_start_token},
    {"step", client_step},
    {"done", client_done},
    {"finish", client_finish},
    {"pid", client_pid},
    {"close", client_close},
    {NULL, NULL}};

static const luaL_Reg core_functions[] = {
    {"client", core_client},
    {"encrypt_credential", core_encrypt_credential},
    {"decrypt_credential", core_decrypt_credential},
    {"uuid", core_uuid},
    {"now", core_now},
    {"json_valid", core_json_valid},
    {"json_literal", core_json_literal},
    {"sleep", core_sleep},
    {"token_key", core_token_key},
    {"certificate_info", core_certificate_info},
    {NULL, NULL}};

#ifdef __cplusplus
extern "C"
#endif
#if defined(__GNUC__)
__attribute__((visibility("default")))
#endif
int luaopen_b2c_core(lua_State *L)
{
    if (b2c_http_global_init() < 0)
        return luaL_error(L, "b2c: curl_global_init failed");
    if (luaL_newmetatable(L, CLIENT_MT)) {
        b2c_newlib(L, client_methods);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, client_close);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, client_close);
        lua_setfield(L, -2, "__close");
        lua_pushcfunction(L, client_tostring);
        lua_setfield(L, -2, "__tostring");
        lua_pushliteral(L, "b2c.core.client");
        lua_setfield(L, -2, "__metatable");
    }
    lua_pop(L, 1);
    b2c_newlib(L, core_functions);
    lua_pushliteral(L, B2C_VERSION);
    lua_setfield(L, -2, "version");
    push_curl_info(L);
    return 1;
}
