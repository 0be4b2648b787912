/* A small validating JSON scanner: enough for the C core to read the OAuth
 * answer without a JSON library, and to hold every callback to strict JSON
 * before lua-cjson reads it. The full document is checked; nesting is
 * limited so hostile input cannot exhaust the stack. Member names are
 * compared decoded ("Result\u0043ode" is "ResultCode"). */
#ifndef B2C_JSON_SCAN_H
#define B2C_JSON_SCAN_H

#include <stddef.h>

typedef struct b2c_json_span {
    const char *p;  /* value text; for strings, without the quotes, escapes not decoded */
    size_t n;
    int is_string;  /* 1 string, 0 number/literal/object/array */
} b2c_json_span;

/* Looks up key among the members of the top-level object (the first member
 * of that name). Returns 1 found, 0 absent, -1 when the text is not one
 * valid JSON object. */
int b2c_json_find(const char *json, size_t n, const char *key, b2c_json_span *out);

enum {
    B2C_JSON_OK = 0,        /* strict JSON, no object names a member twice */
    B2C_JSON_INVALID = 1,   /* not strict JSON */
    B2C_JSON_DUPLICATE = 2, /* strict JSON, but an object names a member twice */
    B2C_JSON_NOMEM = 3      /* too many names to hold in memory */
};

/* Whether the text is exactly one strict JSON value (RFC 8259: no leading
 * zeros, NaN, hex or raw control characters; strings valid UTF-8) in which
 * no object has two members of one name. On B2C_JSON_DUPLICATE, when
 * duplicate is not NULL, it is the repeated name as written (without its
 * quotes). Time O(n log n) whatever the input; memory on the stack for up to
 * 48 open names, then on the heap. */
int b2c_json_check(const char *json, size_t n, b2c_json_span *duplicate);

/* The value at path (member names, from the top-level object down) in text
 * b2c_json_check accepted: out is the value's whole literal (a string's
 * with its quotes). Stops at the first member named path[0] at each level,
 * without reading further. Returns 1 found, 0 absent, -1 malformed. */
int b2c_json_path(const char *json, size_t n, const char *const *path, size_t len,
                  b2c_json_span *out);

#endif
