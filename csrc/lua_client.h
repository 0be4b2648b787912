/* The client userdata of the Lua binding (module b2c.core) and what the
 * binding's files share about it: lua_client.c (its life), lua_token.c and
 * lua_requests.c (its methods), lua_results.c (what they hand to Lua),
 * lua_core.c (the module). The binding only moves values between Lua and
 * the pure-C parts (http, oauth, token_cache, crypto, redact); sequencing
 * and error objects live in the Lua modules. Every Lua call that can raise
 * happens before C resources are taken, or the resources belong to a
 * userdata whose __gc releases them. Secrets (consumer secret, security
 * credential, access token) stay in C and are wiped when released; every
 * text from a server is redacted of them before it reaches Lua. */
#ifndef B2C_LUA_CLIENT_H
#define B2C_LUA_CLIENT_H

#include <sys/types.h>

#include "compat.h"
#include "crypto.h"
#include "http.h"
#include "redact.h"
#include "secret.h"
#include "token_cache.h"
#include "transfers.h"

typedef struct b2c_client {
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
} b2c_client;

/* lua_client.c */
int b2c_lua_client_new(lua_State *L);
void b2c_lua_client_metatable(lua_State *L);
b2c_client *b2c_lua_check_client(lua_State *L);
void b2c_lua_http_config(const b2c_client *c, b2c_http_config *hc);
long b2c_lua_seconds_to_ms(double v);

/* lua_token.c */
extern const luaL_Reg b2c_lua_token_methods[];
void b2c_lua_settle_token(b2c_client *c);

/* lua_requests.c */
extern const luaL_Reg b2c_lua_request_methods[];

/* lua_results.c */
int b2c_lua_fail_config(lua_State *L, const char *field, const char *message);
const char *b2c_lua_bad_input_field(b2c_bad_input bad);
int b2c_lua_push_failure(lua_State *L, b2c_client *c, const char *sent_token, b2c_buf *response,
                         const b2c_http_result *r);
int b2c_lua_push_answer(lua_State *L, b2c_client *c, b2c_buf *response,
                        const b2c_http_result *r, const char *token);
void b2c_lua_out_of_memory(b2c_http_result *r);

#endif
