/* Fetching a Daraja OAuth token. Pure C: no Lua. */
#ifndef B2C_OAUTH_H
#define B2C_OAUTH_H

#include "http.h"

/* GET {base}/oauth/v1/generate?grant_type=client_credentials with Basic
 * auth. Returns 0 with *token (a malloc'd secret) and *ttl_seconds, or -1
 * with r describing the failure (the answer's body stays in h->response). */
int b2c_oauth_fetch(b2c_http *h, const char *base_url, const char *key, const char *secret,
                    char **token, double *ttl_seconds, b2c_http_result *r);

/* The two halves of b2c_oauth_fetch, for a multi-driven transfer. */
int b2c_oauth_begin(b2c_http *h, const char *base_url, const char *key, const char *secret,
                    b2c_http_result *r);
int b2c_oauth_end(b2c_http *h, CURLcode rc, char **token, double *ttl_seconds,
                  b2c_http_result *r);

/* base64 of key:secret, the value of the OAuth request's Basic credential,
 * in a heap copy wiped when freed (b2c_secret_free): a server may echo it,
 * so the binding redacts it like the secret itself. NULL: out of memory. */
char *b2c_oauth_basic(const char *key, const char *secret);

/* Reads a 200 OAuth answer (len bytes of body): 0 with *token and
 * *ttl_seconds, or -1 with r->message. For fuzzing and tests. */
int b2c_oauth_parse(const char *body, size_t len, char **token, double *ttl_seconds,
                    b2c_http_result *r);

#endif
