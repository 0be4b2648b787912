#include "json_scan.h"

#include <string.h>

#define MAX_DEPTH 32

typedef struct scanner {
    const char *p, *end;
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

static int scan_value(scanner *s, int depth, b2c_json_span *span);

/* Object or array. For the top-level object (want != NULL) records the
 * value of member `want`. */
static int scan_container(scanner *s, int depth, const char *want, b2c_json_span *found,
                          int *hit)
{
    char close = *s->p == '{' ? '}' : ']';
    int is_object = close == '}';
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
        skip_ws(s);
        if (is_object) {
            if (s->p >= s->end || *s->p != '"' || scan_string(s, &name) < 0)
                return -1;
            skip_ws(s);
            if (s->p >= s->end || *s->p != ':')
                return -1;
            s->p++;
            skip_ws(s);
        }
        if (scan_value(s, depth + 1, &value) < 0)
            return -1;
        if (is_object && want != NULL && !*hit && name.n == strlen(want) &&
            memcmp(name.p, want, name.n) == 0) {
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

int b2c_json_find(const char *json, size_t n, const char *key, b2c_json_span *out)
{
    scanner s;
    int hit = 0;
    s.p = json;
    s.end = json + n;
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

int b2c_json_valid(const char *json, size_t n)
{
    scanner s;
    b2c_json_span ignored;
    s.p = json;
    s.end = json + n;
    skip_ws(&s);
    if (scan_value(&s, 1, &ignored) < 0)
        return 0;
    skip_ws(&s);
    return s.p == s.end;
}
