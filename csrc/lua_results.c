/* What the client's calls hand to Lua: an answer (status, body), a
 * failure (nil, table), a refused setting (nil, rule, field). Every text
 * from a server is redacted of the client's secrets first. */
#include <string.h>

#include "lua_client.h"

/* nil, rule, field: a setting the C layers refuse (field: its name). */
int b2c_lua_fail_config(lua_State *L, const char *field, const char *message)
{
    lua_pushnil(L);
    lua_pushstring(L, message);
    lua_pushstring(L, field);
    return 3;
}

/* The name of the setting a bad input of the credential's encryption is. */
const char *b2c_lua_bad_input_field(b2c_bad_input bad)
{
    return bad == B2C_BAD_PASSWORD ? "initiatorPassword" : "certificate";
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
static void client_secrets(const b2c_client *c, const char *sent_token, b2c_secrets *set)
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
static void push_redacted(lua_State *L, b2c_client *c, const char *sent_token, b2c_buf *text)
{
    b2c_secrets set;
    client_secrets(c, sent_token, &set);
    b2c_redactor_update(&c->redactor, &set);
    b2c_redact(text, &c->redactor); /* out of memory: only the mask is left */
    lua_pushlstring(L, text->data ? text->data : "", text->len);
    b2c_buf_clear(text);
}

static void push_redacted_string(lua_State *L, b2c_client *c, const char *sent_token,
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
int b2c_lua_push_failure(lua_State *L, b2c_client *c, const char *sent_token, b2c_buf *response,
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

/* The failure of a request that could not be set up for want of memory. */
void b2c_lua_out_of_memory(b2c_http_result *r)
{
    memset(r, 0, sizeof *r);
    r->outcome = B2C_UNSENT;
    strcpy(r->message, "out of memory");
}

/* status, body | nil, failure; redacted of the client's secrets (Daraja
 * echoes the token sent in "Invalid Access Token - <token>"). */
int b2c_lua_push_answer(lua_State *L, b2c_client *c, b2c_buf *response,
                        const b2c_http_result *r, const char *token)
{
    if (r->outcome != B2C_RESPONSE)
        return b2c_lua_push_failure(L, c, token, response, r);
    lua_pushinteger(L, (lua_Integer)r->status);
    push_redacted(L, c, token, response);
    return 2;
}
