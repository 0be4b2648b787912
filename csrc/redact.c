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

/* ---- the redactor: every B2C_REDACT_RUN-byte run of the secrets, as
 * 64-bit words in an open-addressed hash set (0: an empty slot; a secret
 * has no NUL, so no run is 0) ---- */

#define PAIRS_BYTES (65536 / 8)

static uint64_t load8(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static size_t slot_of(const b2c_redactor *r, uint64_t v)
{
    return (size_t)((v * 0x9E3779B97F4A7C15u) >> (64 - r->bits));
}

static unsigned pair_at(const unsigned char *p)
{
    return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static size_t slots(const b2c_redactor *r)
{
    return (size_t)1 << r->bits;
}

void b2c_redactor_free(b2c_redactor *r)
{
    int i;
    for (i = 0; i < r->set.n; i++)
        b2c_secret_free(r->copy[i]);
    if (r->runs != NULL) {
        OPENSSL_cleanse(r->runs, slots(r) * sizeof *r->runs); /* the secrets, in pieces */
        free(r->runs);
    }
    if (r->pairs != NULL) {
        OPENSSL_cleanse(r->pairs, PAIRS_BYTES);
        free(r->pairs);
    }
    memset(r, 0, sizeof *r);
}

static int same_secrets(const b2c_redactor *r, const b2c_secrets *set)
{
    int i;
    if (r->failed || r->set.n != set->n)
        return 0;
    for (i = 0; i < set->n; i++)
        if (r->set.len[i] != set->len[i] || memcmp(r->set.s[i], set->s[i], set->len[i]) != 0)
            return 0;
    return 1;
}

static void add_pair(b2c_redactor *r, const unsigned char *p)
{
    unsigned pair = pair_at(p);
    r->pairs[pair >> 3] |= (unsigned char)(1u << (pair & 7));
}

static void add_run(b2c_redactor *r, const unsigned char *p)
{
    uint64_t v = load8(p);
    size_t j;
    for (j = slot_of(r, v); r->runs[j] != 0 && r->runs[j] != v; j = (j + 1) & (slots(r) - 1))
        ;
    r->runs[j] = v;
    add_pair(r, p);
}

int b2c_redactor_update(b2c_redactor *r, const b2c_secrets *set)
{
    size_t total = 0, i;
    int k;
    if (same_secrets(r, set))
        return 0;
    b2c_redactor_free(r);
    for (k = 0; k < set->n; k++)
        if (set->len[k] >= B2C_REDACT_RUN)
            total += set->len[k] - B2C_REDACT_RUN + 1;
    r->bits = 4;
    while (slots(r) < 2 * total)
        r->bits++;
    r->runs = (uint64_t *)calloc(slots(r), sizeof *r->runs);
    r->pairs = (unsigned char *)calloc(PAIRS_BYTES, 1);
    if (r->runs == NULL || r->pairs == NULL)
        goto oom;
    for (k = 0; k < set->n; k++) {
        if ((r->copy[k] = b2c_secret_dup(set->s[k], set->len[k])) == NULL)
            goto oom;
        r->set.s[k] = r->copy[k];
        r->set.len[k] = set->len[k];
        r->set.n = k + 1;
        for (i = 0; i + B2C_REDACT_RUN <= set->len[k]; i++)
            add_run(r, (const unsigned char *)r->copy[k] + i);
        add_pair(r, (const unsigned char *)r->copy[k]); /* a short one's start */
    }
    return 0;
oom:
    b2c_redactor_free(r);
    r->failed = 1;
    return -1;
}

static int has_pair(const b2c_redactor *r, const unsigned char *p)
{
    unsigned pair = pair_at(p);
    return (r->pairs[pair >> 3] & (1u << (pair & 7))) != 0;
}

static int has_run(const b2c_redactor *r, const unsigned char *p)
{
    uint64_t v;
    size_t j;
    if (!has_pair(r, p))
        return 0; /* most of any text: no run starts with these two bytes */
    v = load8(p);
    for (j = slot_of(r, v); r->runs[j] != 0; j = (j + 1) & (slots(r) - 1))
        if (r->runs[j] == v)
            return 1;
    return 0;
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

static int find(const unsigned char *d, const uint32_t *from, size_t m, const b2c_redactor *r,
                marks *mk)
{
    const b2c_secrets *set = &r->set;
    size_t i, k, len;
    int s;
    for (i = 0; i + B2C_REDACT_RUN <= m; i++)
        if (has_run(r, d + i) && mark(mk, from, i, i + B2C_REDACT_RUN) < 0)
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

/* ---- readings that decode some escapes and not others ----
 * A secret with an escape character in it ("ab&c...") can be hidden from
 * the reading that decodes every escape: its own '&' may start an entity
 * with the bytes after it ("&apos;"), and a reader who decodes only %XX sees
 * the secret while the full reading sees "'". So every window of text that
 * holds an escape is also read along each choice, per escape, of decoded or
 * as it is. A window has at most 2^B2C_REDACT_RUN such readings; text
 * without escapes has one, which find() has searched already. */

typedef struct walk {
    const unsigned char *d; /* one reading of the text, m bytes */
    const uint32_t *from;
    size_t m, start;
    const b2c_redactor *r;
    marks *mk;
    unsigned char got[B2C_REDACT_RUN];
    int decoded; /* escapes decoded on this path: 0 is find()'s reading */
} walk;

/* What the path read so far (depth bytes, ending at text position at)
 * leaks, by the rules of find(). */
static int check_path(walk *w, size_t at, size_t depth)
{
    const b2c_secrets *set = &w->r->set;
    int s;
    if (depth == B2C_REDACT_RUN)
        return has_run(w->r, w->got) ? mark(w->mk, w->from, w->start, at) : 0;
    for (s = 0; s < set->n; s++) {
        const unsigned char *sec = (const unsigned char *)set->s[s];
        size_t len = set->len[s];
        if ((len == depth && memcmp(w->got, sec, len) == 0) ||
            (depth >= B2C_REDACT_EDGE && depth <= len &&
             ((w->start == 0 && memcmp(w->got, sec + len - depth, depth) == 0) ||
              (at == w->m && memcmp(w->got, sec, depth) == 0))))
            return mark(w->mk, w->from, w->start, at);
    }
    return 0;
}

static int walk_from(walk *w, size_t at, size_t depth)
{
    unsigned char c;
    size_t len;
    if (w->decoded > 0 && depth >= B2C_REDACT_EDGE && check_path(w, at, depth) < 0)
        return -1;
    if (depth == B2C_REDACT_RUN || at == w->m)
        return 0;
    if (depth == 2 && w->start != 0 && !has_pair(w->r, w->got))
        return 0; /* nothing a secret starts with: no rule can match */
    w->got[depth] = w->d[at];
    if (walk_from(w, at + 1, depth + 1) < 0)
        return -1;
    if ((len = escape_at(w->d + at, w->m - at, &c)) == 0)
        return 0;
    w->got[depth] = c;
    w->decoded++;
    if (walk_from(w, at + len, depth + 1) < 0)
        return -1;
    w->decoded--;
    return 0;
}

static int find_mixed(const unsigned char *d, const uint32_t *from, size_t m,
                      const b2c_redactor *r, marks *mk)
{
    walk w;
    size_t i = m, next = SIZE_MAX; /* the first escape at or after i */
    unsigned char c;
    memset(&w, 0, sizeof w);
    w.d = d;
    w.from = from;
    w.m = m;
    w.r = r;
    w.mk = mk;
    while (i-- > 0) {
        if (escape_at(d + i, m - i, &c) > 0)
            next = i;
        if (next - i >= B2C_REDACT_RUN)
            continue;
        w.start = i;
        if (walk_from(&w, i, 0) < 0)
            return -1;
    }
    OPENSSL_cleanse(w.got, sizeof w.got);
    return 0;
}

/* p (n bytes, the end of the text) is the start of an escape, cut short */
static int cut_escape(const unsigned char *p, size_t n)
{
    static const char *const named[] = {"&amp;", "&quot;", "&lt;", "&gt;", "&apos;"};
    size_t i, start = 1;
    if (p[0] == '%' && n <= 2)
        start = 1;
    else if (p[0] == '\\' && (n == 1 || (p[1] == 'u' && n <= 5)))
        start = 2;
    else if (p[0] == '&' && n >= 2 && p[1] == '#')
        start = n >= 3 && (p[2] == 'x' || p[2] == 'X') ? 3 : 2;
    else if (p[0] == '&') {
        for (i = 0; i < sizeof named / sizeof named[0]; i++)
            if (n < strlen(named[i]) && memcmp(p, named[i], n) == 0)
                return 1;
        return 0;
    } else
        return 0;
    for (i = start; i < n; i++)
        if (hex(p[i]) < 0)
            return 0;
    return 1;
}

/* An escape cut short at the very end, right after a redacted run, is the
 * rest of that run ("...%3" of "%3D"). */
static void mark_cut_escape(const b2c_buf *text, marks *mk)
{
    size_t i = text->len;
    while (i > 0 && !mk->at[i - 1] && text->len - i < 6)
        i--;
    if (i > 0 && i < text->len && mk->at[i - 1] &&
        cut_escape((const unsigned char *)text->data + i, text->len - i))
        memset(mk->at + i, 1, text->len - i);
}

static int may_be_encoded(const char *p, size_t n)
{
    return memchr(p, '\\', n) != NULL || memchr(p, '%', n) != NULL || memchr(p, '&', n) != NULL;
}

/* Every decoded reading of text, each searched. */
static int find_encoded(const b2c_buf *text, const b2c_redactor *r, marks *mk)
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
        if (find(buf[cur], from[cur], m, r, mk) < 0 ||
            find_mixed(buf[cur], from[cur], m, r, mk) < 0) {
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

int b2c_redact(b2c_buf *text, const b2c_redactor *r)
{
    marks mk = {NULL, 0};
    int rc = r->failed || text->len > UINT32_MAX - 1 ? -1 : 0;
    if (rc == 0 && (text->data == NULL || text->len == 0 || r->set.n == 0))
        return 0;
    mk.n = text->len;
    if (rc == 0)
        rc = find((const unsigned char *)text->data, NULL, text->len, r, &mk);
    if (rc == 0 && may_be_encoded(text->data, text->len)) {
        rc = find_mixed((const unsigned char *)text->data, NULL, text->len, r, &mk);
        if (rc == 0)
            rc = find_encoded(text, r, &mk);
    }
    if (rc == 0 && mk.at != NULL) {
        mark_cut_escape(text, &mk);
        rc = rewrite(text, &mk);
    }
    free(mk.at);
    if (rc < 0) {
        b2c_buf_clear(text);
        b2c_buf_append(text, B2C_REDACT_MASK, sizeof B2C_REDACT_MASK - 1);
    }
    return rc;
}
