#include "secret.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

char *b2c_secret_dup(const char *s, size_t len)
{
    char *p = (char *)malloc(len + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

void b2c_secret_free(char *s)
{
    if (s == NULL)
        return;
    OPENSSL_cleanse(s, strlen(s));
    free(s);
}

char *b2c_buf_extend(b2c_buf *b, size_t n)
{
    char *at;
    if (n > (size_t)-1 - b->len - 1)
        return NULL;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *grown;
        while (cap < b->len + n + 1)
            cap *= 2;
        /* Not realloc: the old block must be wiped before it is released. */
        grown = (char *)malloc(cap);
        if (grown == NULL)
            return NULL;
        if (b->data != NULL) {
            memcpy(grown, b->data, b->len);
            OPENSSL_cleanse(b->data, b->cap);
            free(b->data);
        }
        b->data = grown;
        b->cap = cap;
    }
    at = b->data + b->len;
    b->len += n;
    b->data[b->len] = '\0';
    return at;
}

int b2c_buf_append(b2c_buf *b, const char *p, size_t n)
{
    char *at = b2c_buf_extend(b, n);
    if (at == NULL)
        return -1;
    memcpy(at, p, n);
    return 0;
}

void b2c_buf_clear(b2c_buf *b)
{
    if (b->data != NULL)
        OPENSSL_cleanse(b->data, b->cap);
    b->len = 0;
}

void b2c_buf_free(b2c_buf *b)
{
    b2c_buf_clear(b);
    free(b->data);
    b->data = NULL;
    b->cap = 0;
}
