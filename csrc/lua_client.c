/* The client userdata's life (b2c.core.client): core.client() builds it
 * from a config table, a child after fork() gets fresh connections, and
 * close, __gc and __close release (and wipe) all it holds. Its methods live
 * in lua_token.c and lua_requests.c; lua_client.h says what the binding's
 * rules are. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lua_client.h"
#include "oauth.h"

#define CLIENT_MT "b2c.core.client"

/* In a child after fork(): the connections, polled transfers and token
 * fetch are the parent's. The child lets go of them without a word on the
 * wire (see b2c_http_abandon: their memory is left behind on purpose, and
 * each socket is only close()d) and starts clean. The parent's polled
 * transfers end here with a failure; the token stays (still valid). */
static void forget_parent(b2c_client *c)
{
    b2c_http_abandon(&c->http);
    b2c_transfers_abandon(&c->transfers);
    b2c_sockets_drop(&c->sockets);
    c->token_transfer = 0;
    c->token_waiting = 0;
    c->pid = getpid();
}

b2c_client *b2c_lua_check_client(lua_State *L)
{
    b2c_client *c = (b2c_client *)luaL_checkudata(L, 1, CLIENT_MT);
    if (!c->open)
        luaL_error(L, "b2c client is closed");
    if (c->pid != getpid()) {
        b2c_http_config hc;
        char msg[B2C_MSG_SIZE];
        forget_parent(c);
        b2c_lua_http_config(c, &hc);
        if (b2c_http_open(&c->http, &hc, msg) < 0)
            luaL_error(L, "b2c client: after fork(): %s", msg);
    }
    return c;
}

static void release(b2c_client *c)
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
    b2c_client *c = (b2c_client *)luaL_checkudata(L, 1, CLIENT_MT);
    release(c);
    return 0;
}

static int client_tostring(lua_State *L)
{
    b2c_client *c = (b2c_client *)luaL_checkudata(L, 1, CLIENT_MT);
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
long b2c_lua_seconds_to_ms(double v)
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
    return b2c_lua_seconds_to_ms(v);
}

/* The connection settings, for the client's own handle and each polled one. */
void b2c_lua_http_config(const b2c_client *c, b2c_http_config *hc)
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

/* core.client{ baseUrl, consumerKey, consumerSecret, securityCredential |
 *   initiatorPassword + certificate, userAgent, caFile, timeout,
 *   connectTimeout, maxResponseBytes, proxy } -> client | nil, rule, field
 * Settings arrive checked by b2c.config (lua/b2c/config.lua); what breaks
 * its rules raises here. Only what the C layers find (the URL and proxy
 * syntax of http.c, a certificate or password the encryption refuses) is
 * returned, with the field it is about as a value. */
int b2c_lua_client_new(lua_State *L)
{
    size_t base_len, key_len, secret_len, cred_len = 0, pass_len = 0, cert_len = 0, proxy_len = 0;
    const char *base, *key, *secret, *cred, *pass, *cert, *agent, *ca_file, *proxy;
    long timeout_ms, connect_ms;
    lua_Integer max_response;
    char msg[B2C_MSG_SIZE];
    b2c_http_config hc;
    unsigned char id[32];
    b2c_client *c;

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
        return b2c_lua_fail_config(L, "baseUrl", msg);
    if (proxy != NULL && b2c_http_check_proxy(proxy, base, msg) < 0)
        return b2c_lua_fail_config(L, "proxy", msg);

    /* From here on, resources belong to the userdata and __gc frees them. */
    c = (b2c_client *)lua_newuserdata(L, sizeof *c);
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
    b2c_lua_http_config(c, &hc);
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
            return b2c_lua_fail_config(L, b2c_lua_bad_input_field(bad), msg);
        }
    } else if ((c->credential = b2c_secret_dup(cred, cred_len)) == NULL) {
        release(c);
        return luaL_error(L, "b2c.core.client: out of memory");
    }
    return 1;
}

/* client:pid() -> the process this client's connections belong to: after
 * fork() it is the child's own (its polled requests from before the fork
 * ended with a failure; the caller's own records of them are the parent's). */
static int client_pid(lua_State *L)
{
    b2c_client *c = b2c_lua_check_client(L);
    lua_pushinteger(L, (lua_Integer)c->pid);
    return 1;
}

static const luaL_Reg life_methods[] = {
    {"pid", client_pid},
    {"close", client_close},
    {NULL, NULL}};

/* The clients' metatable, registered once per Lua state. */
void b2c_lua_client_metatable(lua_State *L)
{
    if (luaL_newmetatable(L, CLIENT_MT)) {
        lua_newtable(L);
        b2c_setfuncs(L, b2c_lua_token_methods);
        b2c_setfuncs(L, b2c_lua_request_methods);
        b2c_setfuncs(L, life_methods);
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
}
