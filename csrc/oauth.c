#include "oauth.h"
#include "json_scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define MAX_TOKEN 2048

static void bad_answer(b2c_http_result *r, const char *why)
{
    r->outcome = B2C_BAD_ANSWER;
    snprintf(r->message, sizeof r->message, "%s", why);
}

/* A token goes into an HTTP header: only characters that are safe there. */
static int token_chars_ok(const char *p, size_t n)
{
    size_t i;
    if (n == 0 || n > MAX_TOKEN)
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              (c != '\0' && strchr("-._~+/=", c) != NULL)))
            return 0;
    }
    return 1;
}

/* expires_in arrives as "3599" or 3599: whole positive seconds. */
static int parse_ttl(const b2c_json_span *s, double *ttl)
{
    char digits[16];
    char *end;
    double v;
    if (s->n == 0 || s->n >= sizeof digits)
        return -1;
    memcpy(digits, s->p, s->n);
    digits[s->n] = '\0';
    v = strtod(digits, &end);
    if (*end != '\0' || !(v > 0) || v > 1e7)
        return -1;
    *ttl = v;
    return 0;
}

static int parse_answer(const b2c_buf *body, char **token, double *ttl, b2c_http_result *r)
{
    b2c_json_span tok, exp;
    if (body->len == 0 || b2c_json_find(body->data, body->len, "access_token", &tok) != 1 ||
        !tok.is_string || !token_chars_ok(tok.p, tok.n)) {
        bad_answer(r, "the OAuth answer has no usable access_token");
        return -1;
    }
    if (b2c_json_find(body->data, body->len, "expires_in", &exp) != 1 || parse_ttl(&exp, ttl) < 0) {
        bad_answer(r, "the OAuth answer has no usable expires_in");
        return -1;
    }
    *token = b2c_secret_dup(tok.p, tok.n);
    if (*token == NULL) {
        bad_answer(r, "out of memory");
        return -1;
    }
    return 0;
}

char *b2c_oauth_basic(const char *key, const char *secret)
{
    b2c_buf pair = {NULL, 0, 0};
    char *b64 = NULL;
    if (b2c_buf_append(&pair, key, strlen(key)) == 0 && b2c_buf_append(&pair, ":", 1) == 0 &&
        b2c_buf_append(&pair, secret, strlen(secret)) == 0 &&
        (b64 = (char *)malloc(4 * ((pair.len + 2) / 3) + 1)) != NULL)
        EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)pair.data, (int)pair.len);
    b2c_buf_free(&pair);
    return b64;
}

int b2c_oauth_begin(b2c_http *h, const char *base_url, const char *key, const char *secret,
                    b2c_http_result *r)
{
    static const char path[] = "/oauth/v1/generate?grant_type=client_credentials";
    b2c_buf auth = {NULL, 0, 0}, url = {NULL, 0, 0};
    char *b64 = b2c_oauth_basic(key, secret);
    int rc = -1;

    memset(r, 0, sizeof *r);
    if (b64 == NULL || b2c_buf_append(&url, base_url, strlen(base_url)) < 0 ||
        b2c_buf_append(&url, path, sizeof path - 1) < 0 ||
        b2c_buf_append(&auth, "Basic ", 6) < 0 || b2c_buf_append(&auth, b64, strlen(b64)) < 0)
        goto oom;
    rc = b2c_http_begin(h, url.data, auth.data, NULL, 0, r); /* libcurl copies both */
    goto done;
oom:
    bad_answer(r, "out of memory");
done:
    b2c_secret_free(b64);
    b2c_buf_free(&auth);
    b2c_buf_free(&url);
    return rc;
}

int b2c_oauth_end(b2c_http *h, CURLcode rc, char **token, double *ttl_seconds,
                  b2c_http_result *r)
{
    b2c_http_end(h, rc, r);
    if (r->outcome == B2C_RESPONSE && r->status == 200)
        return parse_answer(&h->response, token, ttl_seconds, r);
    return -1;
}

int b2c_oauth_fetch(b2c_http *h, const char *base_url, const char *key, const char *secret,
                    char **token, double *ttl_seconds, b2c_http_result *r)
{
    if (b2c_oauth_begin(h, base_url, key, secret, r) < 0)
        return -1;
    return b2c_oauth_end(h, curl_easy_perform(h->easy), token, ttl_seconds, r);
}

int b2c_oauth_parse(const char *body, size_t len, char **token, double *ttl_seconds,
                    b2c_http_result *r)
{
    b2c_buf b;
    b.data = (char *)body;
    b.len = len;
    b.cap = len;
    memset(r, 0, sizeof *r);
    return parse_answer(&b, token, ttl_seconds, r);
}
