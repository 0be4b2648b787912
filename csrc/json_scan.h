/* A small validating JSON scanner, just enough for the C core to read the
 * OAuth answer without a JSON library. The full document is checked;
 * nesting is limited so hostile input cannot exhaust the stack. */
#ifndef B2C_JSON_SCAN_H
#define B2C_JSON_SCAN_H

#include <stddef.h>

typedef struct b2c_json_span {
    const char *p;  /* value text; for strings, without the quotes, escapes not decoded */
    size_t n;
    int is_string;  /* 1 string, 0 number/literal/object/array */
} b2c_json_span;

/* Looks up key among the members of the top-level object.
 * Returns 1 found, 0 absent, -1 when the text is not one valid JSON object. */
int b2c_json_find(const char *json, size_t n, const char *key, b2c_json_span *out);

/* 1 when the text is exactly one strict JSON value (RFC 8259: no leading
 * zeros, NaN, hex or raw control characters; strings valid UTF-8), else 0. */
int b2c_json_valid(const char *json, size_t n);

#endif
