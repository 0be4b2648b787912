#include "json_scan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 32
/* Member names held without allocating: a callback has about 30 in all
 * and fewer than 20 open at once. */
#define KEYS_ON_STACK 48
/* Up to this many names in one object are compared pairwise; more are
 * sorted (heapsort: O(k log k) whatever the input). */
#define PAIRWISE_MAX 16

/* A member name as it stands in the text (between the quotes). */
typedef struct key_ref {
    const char *p;
    size_t n;
    int escaped; /* holds a backslash: compared decoded */
} key_ref;

typedef struct scanner {
    const char *p, *end;
    int escaped; /* the last string scanned held a backslash */
    /* Duplicate-key check (keys == NULL: not checked). The names of every
     * open object, innermost last; an object's names are checked when it
     * closes, then dropped. */
    key_ref *keys;
    size_t nkeys, cap;
    int on_heap, nomem, has_duplicate;
    b2c_json_span duplicate;
} scanner;

/* Byte classes, looked up rather than compared in the scanner's two hot
 * loops: runs of plain string text and runs of whitespace. */
enum {
    PLAIN = 0,      /* stands as is inside a string */
    SPACE = 1,      /* the space: whitespace, and plain inside a string */
    CONTROL_WS = 2, /* tab, LF, CR: whitespace, refused inside a string */
    SPECIAL = 3     /* quote, backslash, other controls, bytes >= 0x80 */
};
static const unsigned char byte_class[256] = {
    3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 3, 3, 2, 3, 3, /* 0x00 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 0x10 */
    1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x20 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x30 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x40 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, /* 0x50 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x60 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x70 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 0x80 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 0x90 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 0xA0 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 0xB0 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 0xC0 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 0xD0 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 0xE0 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, /* 0xF0 */
};

static int is_ws(char c)
{
    unsigned char k = byte_class[(unsigned char)c];
    return k == SPACE || k == CONTROL_WS;
}

static void skip_ws(scanner *s)
{
    while (s->p < s->end && is_ws(*s->p))
        s->p++;
}

static int hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The length of the valid UTF-8 sequence at p (lead byte >= 0x80), or 0:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_sequence(const char *p, size_t avail)
{
    const unsigned char *u = (const unsigned char *)p;
    unsigned char lo = 0x80, hi = 0xBF;
    size_t n, i;
    if (u[0] >= 0xC2 && u[0] <= 0xDF)
        n = 2;
    else if (u[0] >= 0xE0 && u[0] <= 0xEF) {
        n = 3;
        if (u[0] == 0xE0)
            lo = 0xA0;
        else if (u[0] == 0xED)
            hi = 0x9F;
    } else if (u[0] >= 0xF0 && u[0] <= 0xF4) {
        n = 4;
        if (u[0] == 0xF0)
            lo = 0x90;
        else if (u[0] == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (avail < n || u[1] < lo || u[1] > hi)
        return 0;
    for (i = 2; i < n; i++)
        if (u[i] < 0x80 || u[i] > 0xBF)
            return 0;
    return n;
}

/* At an opening quote: moves past the closing one; span is the inside. */
static int scan_string(scanner *s, b2c_json_span *span)
{
    const char *start = ++s->p;
    s->escaped = 0;
    while (s->p < s->end) {
        unsigned char c;
        while (s->p < s->end && byte_class[(unsigned char)*s->p] <= SPACE)
            s->p++;
        if (s->p >= s->end)
            break;
        c = (unsigned char)*s->p;
        if (c == '"') {
            span->p = start;
            span->n = (size_t)(s->p - start);
            span->is_string = 1;
            s->p++;
            return 0;
        }
        if (c < 0x20)
            return -1;
        if (c >= 0x80) {
            size_t len = utf8_sequence(s->p, (size_t)(s->end - s->p));
            if (len == 0)
                return -1;
            s->p += len;
            continue;
        }
        if (c == '\\') {
            s->escaped = 1;
            if (++s->p >= s->end)
                return -1;
            if (*s->p == 'u') {
                int i;
                for (i = 1; i <= 4; i++)
                    if (s->p + i >= s->end || !hex(s->p[i]))
                        return -1;
                s->p += 4;
            } else if (strchr("\"\\/bfnrt", *s->p) == NULL) {
                return -1;
            }
        }
        s->p++;
    }
    return -1;
}

static int scan_digits(scanner *s)
{
    const char *start = s->p;
    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    return s->p > start ? 0 : -1;
}

static int scan_number(scanner *s)
{
    const char *int_start;
    if (s->p < s->end && *s->p == '-')
        s->p++;
    int_start = s->p;
    if (scan_digits(s) < 0)
        return -1;
    if (*int_start == '0' && s->p - int_start > 1)
        return -1; /* 01: no leading zeros in JSON */
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (scan_digits(s) < 0)
            return -1;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (scan_digits(s) < 0)
            return -1;
    }
    return 0;
}

static int scan_literal(scanner *s, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return -1;
    s->p += n;
    return 0;
}

/* Reads a member name decoded, byte by byte: escapes become the UTF-8
 * they stand for, so "Result\u0043ode" reads as "ResultCode". The name was
 * scanned first, so every escape in it is complete. A lone surrogate reads
 * as its 3-byte form, which raw text cannot hold (the scanner refuses it),
 * so two names read alike only when they decode alike. */
typedef struct key_reader {
    const char *p, *end;
    unsigned char pending[4];
    int at, have;
} key_reader;

static unsigned long hex4(const char *p)
{
    unsigned long v = 0;
    int i;
    for (i = 0; i < 4; i++) {
        char c = p[i];
        v = v * 16 + (unsigned long)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

static int utf8_encode(unsigned char *b, unsigned long cp)
{
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        b[0] = (unsigned char)(0xC0 | (cp >> 6));
        b[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        b[0] = (unsigned char)(0xE0 | (cp >> 12));
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    b[0] = (unsigned char)(0xF0 | (cp >> 18));
    b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    b[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* The next decoded byte, or -1 at the end. */
static int key_next(key_reader *r)
{
    unsigned long cp;
    unsigned char c;
    if (r->at < r->have)
        return r->pending[r->at++];
    if (r->p >= r->end)
        return -1;
    c = (unsigned char)*r->p++;
    if (c != '\\')
        return c;
    c = (unsigned char)*r->p++;
    switch (c) {
    case 'b':
        return '\b';
    case 'f':
        return '\f';
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    case 'u':
        break;
    default:
        return c; /* " \ / */
    }
    cp = hex4(r->p);
    r->p += 4;
    if (cp >= 0xD800 && cp <= 0xDBFF && r->end - r->p >= 6 && r->p[0] == '\\' && r->p[1] == 'u') {
        unsigned long low = hex4(r->p + 2);
        if (low >= 0xDC00 && low <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            r->p += 6;
        }
    }
    r->have = utf8_encode(r->pending, cp);
    r->at = 1;
    return r->pending[0];
}

static void key_reader_init(key_reader *r, const char *p, size_t n)
{
    r->p = p;
    r->end = p + n;
    r->at = r->have = 0;
}

/* Orders names by their decoded bytes; 0 when they decode alike. */
static int key_compare(const key_ref *a, const key_ref *b)
{
    key_reader ra, rb;
    if (!a->escaped && !b->escaped) {
        int c = memcmp(a->p, b->p, a->n < b->n ? a->n : b->n);
        if (c != 0)
            return c;
        return a->n < b->n ? -1 : a->n > b->n;
    }
    key_reader_init(&ra, a->p, a->n);
    key_reader_init(&rb, b->p, b->n);
    for (;;) {
        int x = key_next(&ra), y = key_next(&rb);
        if (x != y)
            return x < y ? -1 : 1;
        if (x < 0)
            return 0;
    }
}

static int key_equal(const key_ref *a, const key_ref *b)
{
    if (!a->escaped && !b->escaped)
        return a->n == b->n && memcmp(a->p, b->p, a->n) == 0;
    return key_compare(a, b) == 0;
}

/* Whether the name decodes to the C string `want`. */
static int key_is(const b2c_json_span *name, int escaped, const char *want)
{
    key_ref a, b;
    a.p = name->p;
    a.n = name->n;
    a.escaped = escaped;
    b.p = want;
    b.n = strlen(want);
    b.escaped = 0;
    return key_equal(&a, &b);
}

static int push_key(scanner *s, const b2c_json_span *name)
{
    if (s->nkeys == s->cap) {
        key_ref *grown;
        if (s->cap > SIZE_MAX / 2 / sizeof *grown) {
            s->nomem = 1;
            return -1;
        }
        if (s->on_heap) {
            grown = (key_ref *)realloc(s->keys, 2 * s->cap * sizeof *grown);
        } else {
            grown = (key_ref *)malloc(2 * s->cap * sizeof *grown);
            if (grown != NULL)
                memcpy(grown, s->keys, s->nkeys * sizeof *grown);
        }
        if (grown == NULL) {
            s->nomem = 1;
            return -1;
        }
        s->keys = grown;
        s->cap *= 2;
        s->on_heap = 1;
    }
    s->keys[s->nkeys].p = name->p;
    s->keys[s->nkeys].n = name->n;
    s->keys[s->nkeys].escaped = s->escaped;
    s->nkeys++;
    return 0;
}

static void swap_keys(key_ref *a, key_ref *b)
{
    key_ref t = *a;
    *a = *b;
    *b = t;
}

static void sift_down(key_ref *a, size_t root, size_t n)
{
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n)
            return;
        if (child + 1 < n && key_compare(&a[child], &a[child + 1]) < 0)
            child++;
        if (key_compare(&a[root], &a[child]) >= 0)
            return;
        swap_keys(&a[root], &a[child]);
        root = child;
    }
}

static void note_duplicate(scanner *s, const key_ref *a, const key_ref *b)
{
    const key_ref *later = a->p > b->p ? a : b;
    s->has_duplicate = 1;
    s->duplicate.p = later->p;
    s->duplicate.n = later->n;
    s->duplicate.is_string = 1;
}

/* The names of the object that just closed (from `base` on): records the
 * first name found twice. */
static void check_names(scanner *s, size_t base)
{
    key_ref *k = s->keys + base;
    size_t n = s->nkeys - base, i, j;
    if (s->has_duplicate || n < 2)
        return;
    if (n <= PAIRWISE_MAX) {
        for (i = 1; i < n; i++)
            for (j = 0; j < i; j++)
                if (key_equal(&k[i], &k[j])) {
                    note_duplicate(s, &k[i], &k[j]);
                    return;
                }
        return;
    }
    for (i = n / 2; i-- > 0;)
        sift_down(k, i, n);
    for (i = n; i-- > 1;) {
        swap_keys(&k[0], &k[i]);
        sift_down(k, 0, i);
    }
    for (i = 1; i < n; i++)
        if (key_compare(&k[i - 1], &k[i]) == 0) {
            note_duplicate(s, &k[i - 1], &k[i]);
            return;
        }
}

static int scan_value(scanner *s, int depth, b2c_json_span *span);

/* Object or array. For the top-level object (want != NULL) records the
 * value of member `want` (the first of that name, names compared decoded). */
static int scan_container(scanner *s, int depth, const char *want, b2c_json_span *found,
                          int *hit)
{
    char close = *s->p == '{' ? '}' : ']';
    int is_object = close == '}';
    size_t base = s->nkeys;
    if (depth > MAX_DEPTH)
        return -1;
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        return 0;
    }
    for (;;) {
        b2c_json_span name, value;
        int escaped = 0;
        skip_ws(s);
        if (is_object) {
            if (s->p >= s->end || *s->p != '"' || scan_string(s, &name) < 0)
                return -1;
            escaped = s->escaped;
            if (s->keys != NULL && push_key(s, &name) < 0)
                return -1;
            skip_ws(s);
            if (s->p >= s->end || *s->p != ':')
                return -1;
            s->p++;
            skip_ws(s);
        }
        if (scan_value(s, depth + 1, &value) < 0)
            return -1;
        if (is_object && want != NULL && !*hit && key_is(&name, escaped, want)) {
            *found = value;
            *hit = 1;
        }
        skip_ws(s);
        if (s->p >= s->end)
            return -1;
        if (*s->p == ',') {
            s->p++;
            continue;
        }
        if (*s->p == close) {
            s->p++;
            if (s->keys != NULL && is_object) {
                check_names(s, base);
                s->nkeys = base;
            }
            return 0;
        }
        return -1;
    }
}

static int scan_value(scanner *s, int depth, b2c_json_span *span)
{
    const char *start = s->p;
    int rc, unused = 0;
    if (s->p >= s->end)
        return -1;
    switch (*s->p) {
    case '"':
        return scan_string(s, span);
    case '{':
    case '[':
        rc = scan_container(s, depth, NULL, NULL, &unused);
        break;
    case 't':
        rc = scan_literal(s, "true");
        break;
    case 'f':
        rc = scan_literal(s, "false");
        break;
    case 'n':
        rc = scan_literal(s, "null");
        break;
    default:
        rc = scan_number(s);
    }
    span->p = start;
    span->n = (size_t)(s->p - start);
    span->is_string = 0;
    return rc;
}

static void scanner_init(scanner *s, const char *json, size_t n)
{
    memset(s, 0, sizeof *s);
    s->p = json;
    s->end = json + n;
}

int b2c_json_find(const char *json, size_t n, const char *key, b2c_json_span *out)
{
    scanner s;
    int hit = 0;
    scanner_init(&s, json, n);
    skip_ws(&s);
    if (s.p >= s.end || *s.p != '{')
        return -1;
    if (scan_container(&s, 1, key, out, &hit) < 0)
        return -1;
    skip_ws(&s);
    if (s.p != s.end)
        return -1;
    return hit;
}

int b2c_json_check(const char *json, size_t n, b2c_json_span *duplicate)
{
    scanner s;
    key_ref local[KEYS_ON_STACK];
    b2c_json_span ignored;
    int rc = B2C_JSON_OK;
    scanner_init(&s, json, n);
    s.keys = local;
    s.cap = KEYS_ON_STACK;
    skip_ws(&s);
    if (scan_value(&s, 1, &ignored) < 0)
        rc = s.nomem ? B2C_JSON_NOMEM : B2C_JSON_INVALID;
    else {
        skip_ws(&s);
        if (s.p != s.end)
            rc = B2C_JSON_INVALID;
        else if (s.has_duplicate) {
            rc = B2C_JSON_DUPLICATE;
            if (duplicate != NULL)
                *duplicate = s.duplicate;
        }
    }
    if (s.on_heap)
        free(s.keys);
    return rc;
}

/* At an object's '{': the value at `path` below it. Stops at the first
 * member named path[0]. */
static int find_path(scanner *s, int depth, const char *const *path, size_t len,
                     b2c_json_span *out)
{
    if (depth > MAX_DEPTH)
        return -1;
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == '}')
        return 0;
    for (;;) {
        b2c_json_span name, value;
        int escaped;
        skip_ws(s);
        if (s->p >= s->end || *s->p != '"' || scan_string(s, &name) < 0)
            return -1;
        escaped = s->escaped;
        skip_ws(s);
        if (s->p >= s->end || *s->p != ':')
            return -1;
        s->p++;
        skip_ws(s);
        if (key_is(&name, escaped, path[0])) {
            if (len == 1) {
                const char *start = s->p;
                if (scan_value(s, depth + 1, out) < 0)
                    return -1;
                out->p = start; /* strings too: the whole literal, quotes included */
                out->n = (size_t)(s->p - start);
                return 1;
            }
            if (s->p < s->end && *s->p == '{')
                return find_path(s, depth + 1, path + 1, len - 1, out);
            return 0;
        }
        if (scan_value(s, depth + 1, &value) < 0)
            return -1;
        skip_ws(s);
        if (s->p >= s->end)
            return -1;
        if (*s->p == ',') {
            s->p++;
            continue;
        }
        return *s->p == '}' ? 0 : -1;
    }
}

int b2c_json_path(const char *json, size_t n, const char *const *path, size_t len,
                  b2c_json_span *out)
{
    scanner s;
    if (len == 0)
        return -1;
    scanner_init(&s, json, n);
    skip_ws(&s);
    if (s.p >= s.end || *s.p != '{')
        return -1;
    return find_path(&s, 1, path, len, out);
}
