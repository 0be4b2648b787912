/* Secrets are wiped before they are freed. Every free() made by the
 * core's own code is wrapped (-Wl,--wrap=free) and the whole block is
 * searched for a marker planted in the secrets. libcurl's frees go through
 * the allocators this test gives curl_global_init_mem: the header lines the
 * core hands libcurl (curl_slist) are freed by libcurl, and must be wiped
 * before; they are searched for the marker and for the Basic credential
 * (base64: the marker is not there as it is). OpenSSL's own frees are not
 * ours. Prints "ok: ..." per check. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../../csrc/crypto.h"
#include "../../csrc/http.h"
#include "../../csrc/oauth.h"
#include "../../csrc/secret.h"
#include "../../csrc/token_cache.h"

#define MARKER "W1PE-ME-S3CRET"

void __real_free(void *p);
static int found, frees;
static char basic[128]; /* base64 of "key:secret-" MARKER, as the Basic line has it */

static void search(void *p)
{
    size_t n = malloc_usable_size(p);
    frees++;
    if (memmem(p, n, MARKER, strlen(MARKER)) != NULL || memmem(p, n, basic, strlen(basic)) != NULL)
        found++;
}

void __wrap_free(void *p)
{
    if (p != NULL)
        search(p);
    __real_free(p);
}

/* libcurl's allocators (curl_global_init_mem): its frees searched too. */
static void curl_free_cb(void *p)
{
    __wrap_free(p);
}

static void *curl_malloc_cb(size_t n)
{
    return malloc(n);
}

static void *curl_realloc_cb(void *p, size_t n)
{
    void *q;
    if (p == NULL)
        return malloc(n);
    if (n == 0) {
        __wrap_free(p);
        return NULL;
    }
    /* not realloc: the old block is searched as it is freed */
    if ((q = malloc(n)) == NULL)
        return NULL;
    memcpy(q, p, malloc_usable_size(p) < n ? malloc_usable_size(p) : n);
    __wrap_free(p);
    return q;
}

static char *curl_strdup_cb(const char *s)
{
    char *d = (char *)malloc(strlen(s) + 1);
    if (d != NULL)
        strcpy(d, s);
    return d;
}

static void *curl_calloc_cb(size_t n, size_t size)
{
    return calloc(n, size);
}

static int failures;

static void check(const char *what, int expect_found)
{
    if ((found > 0) == expect_found)
        printf("ok: %s\n", what);
    else {
        printf("FAILED: %s (%d freed blocks held the marker)\n", what, found);
        failures++;
    }
    found = 0;
}

static int fetch_none(void *ud, char **token, double *ttl)
{
    (void)ud;
    *token = b2c_secret_dup("tok-" MARKER, strlen("tok-" MARKER));
    *ttl = 60;
    return 0;
}

int main(int argc, char **argv)
{
    char msg[B2C_MSG_SIZE];
    static const char pair[] = "key:secret-" MARKER;
    EVP_EncodeBlock((unsigned char *)basic, (const unsigned char *)pair, (int)strlen(pair));
    if (curl_global_init_mem(CURL_GLOBAL_DEFAULT, curl_malloc_cb, curl_free_cb, curl_realloc_cb,
                             curl_strdup_cb, curl_calloc_cb) != CURLE_OK) {
        printf("FAILED: curl_global_init_mem\n");
        return 1;
    }
    /* The detector itself: a marker freed without wiping is seen. */
    {
        char *p = (char *)malloc(64);
        strcpy(p, MARKER);
        free(p);
        check("the detector sees an unwiped block", 1);
    }
    {
        char *s = b2c_secret_dup(MARKER, strlen(MARKER));
        b2c_secret_free(s);
        check("b2c_secret_free wipes", 0);
    }
    {
        b2c_buf b = {NULL, 0, 0};
        int i;
        for (i = 0; i < 200; i++) /* grows several times: each old block is released */
            b2c_buf_append(&b, MARKER, strlen(MARKER));
        b2c_buf_clear(&b);
        b2c_buf_append(&b, MARKER, strlen(MARKER));
        b2c_buf_free(&b);
        check("b2c_buf wipes on growth and free", 0);
    }
    {
        unsigned char id[32] = {1};
        b2c_token_entry *e = b2c_token_entry_get(id);
        char *tok = NULL;
        unsigned long gen = 0;
        b2c_token_get(e, fetch_none, NULL, 1, &tok, &gen);
        b2c_secret_free(tok);
        b2c_token_put(e, "other-" MARKER, 60, &gen);
        b2c_token_invalidate(e, gen);
        b2c_token_put(e, "third-" MARKER, 60, &gen);
        b2c_token_entry_release(e);
        check("the token cache wipes replaced, invalidated and released tokens", 0);
    }
    {
        /* the detector, for libcurl's frees of header lines */
        struct curl_slist *line = curl_slist_append(NULL, "Authorization: Bearer " MARKER);
        curl_slist_free_all(line);
        check("the detector sees a header line libcurl frees unwiped", 1);
        line = curl_slist_append(NULL, "Basic a-line-as-long-as-the-base64-credential-.........");
        strcpy(line->data, basic);
        curl_slist_free_all(line);
        check("the detector sees a Basic credential in base64", 1);
    }
    {
        b2c_http h;
        b2c_http_config c = {"http://127.0.0.1:9", "wipe-test", NULL, 1000, 1000, 65536, NULL, NULL};
        b2c_http_result r;
        memset(&h, 0, sizeof h);
        if (b2c_http_open(&h, &c, msg) == 0) {
            b2c_oauth_begin(&h, c.base_url, "key", "secret-" MARKER, &r);
            b2c_http_end(&h, CURLE_ABORTED_BY_CALLBACK, &r);
            /* the Basic line's list is replaced here: libcurl frees it */
            b2c_http_begin(&h, "http://127.0.0.1:9/x", "Bearer " MARKER, "{\"a\":\"" MARKER "\"}",
                           strlen("{\"a\":\"" MARKER "\"}"), &r);
            b2c_http_end(&h, CURLE_ABORTED_BY_CALLBACK, &r);
            b2c_http_close(&h);
        }
        check("the Basic and Bearer header lines are wiped before libcurl frees them", 0);
    }
    if (argc > 1) {
        FILE *f = fopen(argv[1], "rb");
        static unsigned char cert[65536];
        size_t n = f ? fread(cert, 1, sizeof cert, f) : 0;
        char *b64;
        if (f)
            fclose(f);
        b64 = b2c_credential_encrypt(MARKER, strlen(MARKER), cert, n, msg, NULL);
        b2c_secret_free(b64);
        check("credential encryption wipes its buffers", 0);
    }
    printf("%d frees checked\n", frees);
    return failures ? 1 : 0;
}
