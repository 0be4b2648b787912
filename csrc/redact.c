#include "redact.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define MAX_LAYERS 3

int b2c_secrets_add(b2c_secrets *set, const char *s)
{
    int i;
    size_t len = s != NULL ? strlen(s) : 0;
    if (len < B2C_REDACT_EDGE)
        return 0;
    for (i = 0; i < set->n; i++)
        if (set->len[i] == len && memcmp(set->s[i], s, len) == 0)
            return 0;
    if (set->n == B2C_REDACT_MAX)
        return -1;
    set->s[set->n] = s;
    set->len[set->n] = len;
    set->n++;
    return 0;
}

/* ---- every B2C_REDACT_RUN-byte run of the secrets, as 64-bit words ---- */

typedef struct grams {
    uint64_t *slot; /* 0: empty (a secret has no NUL, so no run is 0) */
    unsigned bits;
    size_t size;
} grams;

static uint64_t load8(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static size_t slot_of(const grams *g, uint64_t v)
{
    return (size_t)((v * 0x9E3779B97F4A7C15u) >> (64 - g->bits));
}

static int grams_build(grams *g, const b2c_secrets *set)
{
    size_t total = 0, i, j;
    int k;
    for (k = 0; k < set->n; k++)
        if (set->len[k] >= B2C_REDACT_RUN)
            total += set->len[k] - B2C_REDACT_RUN + 1;
    g->bits = 4;
    while (((size_t)1 << g->bits) < 2 * total)
        g->bits++;
    g->size = (size_t)1 << g->bits;
    g->slot = (uint64_t *)calloc(g->size, sizeof *g->slot);
    if (g->slot == NULL)
        return -1;
    for (k = 0; k < set->n; k++) {
        const unsigned char *s = (const unsigned char *)set->s[k];
        for (i = 0; i + B2C_REDACT_RUN <= set->len[k]; i++) {
            uint64_t v = load8(s + i);
            for (j = slot_of(g, v); g->slot[j] != 0 && g->slot[j] != v; j = (j + 1) & (g->size - 1))
                ;
            g->slot[j] = v;
        }
    }
    return 0;
}

static int grams_has(const grams *g, uint64_t v)
{
    size_t j;
    if (v == 0)
        return 0;
    for (j = slot_of(g, v); g->slot[j] != 0; j = (j + 1) & (g->size - 1))
        if (g->slot[j] == v)
            return 1;
    return 0;
}

static void grams_free(grams *g)
{
    if (g->slot != NULL) {
        OPENSSL_cleanse(g->slot, g->size * sizeof *g->slot); /* the secrets, in pieces */
        free(g->slot);
    }
    g->slot = NULL;
}

/* ---- decoding: one layer of escapes ---- */

static int hex(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* n hex digits at p as a number, or -1 */
static long hex_n(const unsigned char *p, size_t n)
{
    long v = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        int d = hex(p[i]);
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static const char json_from[] = "/\"\\bfnrt";
static const char json_to[] = "/\"\\\b\f\n\r\t";

/* The escape at p (n bytes left): its length, and its byte in *out; 0 when
 * p starts no escape this file knows. */
static size_t escape_at(const unsigned char *p, size_t n, unsigned char *out)
{
    static const struct { const char *name; char c; } named[] = {
        {"&amp;", '&'}, {"&quot;", '"'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&apos;", '\''}};
    long v;
    size_t i, len;
    if (p[0] == '\\' && n >= 2) {
        const char *at = p[1] != '\0' ? strchr(json_from, p[1]) : NULL;
        if (at != NULL) {
            *out = (unsigned char)json_to[at - json_from];
            return 2;
        }
        if (p[1] == 'u' && n >= 6 && (v = hex_n(p + 2, 4)) >= 0 && v < 256) {
            *out = (unsigned char)v;
            return 6;
        }
    } else if (p[0] == '%' && n >= 3 && (v = hex_n(p + 1, 2)) >= 0) {
        *out = (unsigned char)v;
        return 3;
    } else if (p[0] == '&' && n >= 4) {
        for (i = 0; i < sizeof named / sizeof named[0]; i++) {
            len = strlen(named[i].name);
            if (n >= len && memcmp(p, named[i].name, len) == 0) {
                *out = (unsigned char)named[i].c;
                return len;
            }
        }
        if (p[1] != '#')
            return 0;
        v = 0;
        if (p[2] == 'x' || p[2] == 'X') {
            for (i = 3; i < n && i < 9 && hex(p[i]) >= 0; i++)
                v = v * 16 + hex(p[i]);
            if (i == 3)
                return 0;
        } else {
            for (i = 2; i < n && i < 8 && p[i] >= '0' && p[i] <= '9'; i++)
                v = v * 10 + (p[i] - '0');
            if (i == 2)
                return 0;
        }
        if (i < n && p[i] == ';' && v < 256) {
            *out = (unsigned char)v;
            return i + 1;
        }
    }
    return 0;
}

/* One layer: in (n bytes, from[] their first source byte, from[n] the
 * end) into out/out_from. Returns the decoded length (n: nothing to do). */
static size_t decode(const unsigned char *in, const uint32_t *from, size_t n, unsigned char *out,
                     uint32_t *out_from)
{
    size_t i = 0, m = 0, len;
    while (i < n) {
        out_from[m] = from[i];
        len = escape_at(in + i, n - i, &out[m]);
        if (len == 0) {
            out[m] = in[i];
            len = 1;
        }
        i += len;
        m++;
    }
    out_from[m] = from[n];
    return m;
}

/* ---- finding leaks in one reading of the text ---- */

typedef struct marks {
    unsigned char *at; /* per source byte: 1 when it is to be replaced */
    size_t n;
} marks;

/* Marks the source bytes of decoded [start, end). */
static int mark(marks *mk, const uint32_t *from, size_t start, size_t end)
{
    size_t a = from != NULL ? from[start] : start, b = from != NULL ? from[end] : end;
    if (mk->at == NULL && (mk->at = (unsigned char *)calloc(mk->n, 1)) == NULL)
        return -1;
    memset(mk->at + a, 1, b - a);
    return 0;
}

static int find(const unsigned char *d, const uint32_t *from, size_t m, const grams *g,
                const b2c_secrets *set, marks *mk)
{
    size_t i, k, len;
    int s;
    for (i = 0; i + B2C_REDACT_RUN <= m; i++)
        if (grams_has(g, load8(d + i)) && mark(mk, from, i, i + B2C_REDACT_RUN) < 0)
            return -1;
    for (s = 0; s < set->n; s++) {
        const unsigned char *sec = (const unsigned char *)set->s[s];
        len = set->len[s];
        if (len < B2C_REDACT_RUN)
            for (i = 0; i + len <= m; i++)
                if (memcmp(d + i, sec, len) == 0 && mark(mk, from, i, i + len) < 0)
                    return -1;
        /* a cut echo: the text starts with the end of a secret, or ends
         * with its beginning */
        for (k = B2C_REDACT_EDGE; k < B2C_REDACT_RUN && k <= len && k <= m; k++) {
            if (memcmp(d, sec + len - k, k) == 0 && mark(mk, from, 0, k) < 0)
                return -1;
            if (memcmp(d + m - k, sec, k) == 0 && mark(mk, from, m - k, m) < 0)
                return -1;
        }
    }
    return 0;
}

static int may_be_encoded(const char *p, size_t n)
{
    return memchr(p, '\\', n) != NULL || memchr(p, '%', n) != NULL || memchr(p, '&', n) != NULL;
}

/* Every decoded reading of text, each searched. */
static int find_encoded(const b2c_buf *text, const grams *g, const b2c_secrets *set, marks *mk)
{
    size_t n = text->len, m, i;
    unsigned char *buf[2];
    uint32_t *from[3];
    int layer, rc = 0;
    buf[0] = (unsigned char *)malloc(n + 1);
    buf[1] = (unsigned char *)malloc(n + 1);
    from[0] = (uint32_t *)malloc((n + 1) * sizeof(uint32_t));
    from[1] = (uint32_t *)malloc((n + 1) * sizeof(uint32_t));
    from[2] = (uint32_t *)malloc((n + 1) * sizeof(uint32_t));
    if (buf[0] == NULL || buf[1] == NULL || from[0] == NULL || from[1] == NULL || from[2] == NULL) {
        rc = -1;
        goto done;
    }
    for (i = 0; i <= n; i++)
        from[2][i] = (uint32_t)i;
    m = decode((const unsigned char *)text->data, from[2], n, buf[0], from[0]);
    /* a layer that decodes nothing ends the search: the next is the same */
    for (layer = 0; m < n; layer++) {
        int cur = layer % 2;
        if (find(buf[cur], from[cur], m, g, set, mk) < 0) {
            rc = -1;
            break;
        }
        if (layer + 1 == MAX_LAYERS)
            break;
        n = m;
        m = decode(buf[cur], from[cur], n, buf[!cur], from[!cur]);
    }
done:
    for (i = 0; i < 2; i++)
        if (buf[i] != NULL) {
            OPENSSL_cleanse(buf[i], text->len + 1);
            free(buf[i]);
        }
    for (i = 0; i < 3; i++)
        free(from[i]);
    return rc;
}

/* text with every marked run replaced by the mask */
static int rewrite(b2c_buf *text, const marks *mk)
{
    static const char mask[] = B2C_REDACT_MASK;
    b2c_buf out = {NULL, 0, 0};
    size_t i = 0, j;
    while (i < text->len) {
        for (j = i; j < text->len && !mk->at[j]; j++)
            ;
        if (j > i && b2c_buf_append(&out, text->data + i, j - i) < 0)
            goto oom;
        if (j == text->len)
            break;
        if (b2c_buf_append(&out, mask, sizeof mask - 1) < 0)
            goto oom;
        for (i = j; i < text->len && mk->at[i]; i++)
            ;
    }
    b2c_buf_free(text);
    *text = out;
    return 0;
oom:
    b2c_buf_free(&out);
    return -1;
}

int b2c_redact(b2c_buf *text, const b2c_secrets *set)
{
    grams g = {NULL, 0, 0};
    marks mk = {NULL, 0};
    int rc = 0;
    if (text->data == NULL || text->len == 0 || set->n == 0)
        return 0;
    if (text->len > UINT32_MAX - 1 || grams_build(&g, set) < 0)
        rc = -1;
    mk.n = text->len;
    if (rc == 0)
        rc = find((const unsigned char *)text->data, NULL, text->len, &g, set, &mk);
    if (rc == 0 && may_be_encoded(text->data, text->len))
        rc = find_encoded(text, &g, set, &mk);
    if (rc == 0 && mk.at != NULL)
        rc = rewrite(text, &mk);
    grams_free(&g);
    free(mk.at);
    if (rc < 0) {
        b2c_buf_clear(text);
        b2c_buf_append(text, B2C_REDACT_MASK, sizeof B2C_REDACT_MASK - 1);
    }
    return rc;
}
