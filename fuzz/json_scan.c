/* libFuzzer: the C core's JSON scanner (reads untrusted OAuth answers and
 * holds callback text to strict JSON with unique member names). Properties:
 * never reads outside the input (ASan), terminates, found values and the
 * reported duplicate lie inside the input, the finder and the checker agree
 * on what is malformed, and an accepted object with one of its names added
 * again (escaped differently) is a duplicate. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../csrc/json_scan.h"

static void inside(const b2c_json_span *span, const char *copy, size_t size)
{
    if (span->p < copy || span->p + span->n > copy + size)
        abort();
}

/* For an accepted object whose first name is plain ASCII without escapes:
 * the path lookup finds that name, and the object with the name appended
 * again, first character written as \u00XX, is a duplicate. */
static void repeat_first_name(const char *doc, size_t size)
{
    const char *p = doc, *end = doc + size, *name, *last;
    size_t n, i;
    char *key, *grown;
    b2c_json_span span;
    const char *path[1];
    while (p < end && *p != '{')
        p++;
    p++;
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    if (p >= end || *p != '"')
        return;
    name = ++p;
    while (p < end && *p != '"') {
        if (*p == '\\' || (unsigned char)*p >= 0x80)
            return;
        p++;
    }
    n = (size_t)(p - name);
    if (n == 0)
        return;
    last = end - 1;
    while (last > doc && *last != '}')
        last--;
    key = (char *)malloc(n + 1);
    grown = (char *)malloc(size + n + 16);
    if (key == NULL || grown == NULL) {
        free(key);
        free(grown);
        return;
    }
    memcpy(key, name, n);
    key[n] = '\0';
    path[0] = key;
    if (b2c_json_path(doc, size, path, 1, &span) != 1)
        abort();
    inside(&span, doc, size);
    i = (size_t)(last - doc);
    memcpy(grown, doc, i);
    i += (size_t)sprintf(grown + i, ",\"\\u%04x", (unsigned)(unsigned char)key[0]);
    memcpy(grown + i, key + 1, n - 1);
    i += n - 1;
    memcpy(grown + i, "\":0}", 4);
    i += 4;
    if (b2c_json_check(grown, i, NULL) != B2C_JSON_DUPLICATE)
        abort();
    free(key);
    free(grown);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const keys[] = {"access_token", "expires_in", "a", ""};
    static const char *const path[] = {"Result", "ResultCode"};
    /* An exact-size copy: a read past the end is caught by ASan. */
    char *copy = (char *)malloc(size ? size : 1);
    size_t i;
    int rc;
    b2c_json_span span;
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        int found = b2c_json_find(copy, size, keys[i], &span);
        if (found < -1 || found > 1)
            abort();
        if (found == 1)
            inside(&span, copy, size);
    }
    for (i = 1; i <= 2; i++) {
        int found = b2c_json_path(copy, size, path, i, &span);
        if (found < -1 || found > 1)
            abort();
        if (found == 1)
            inside(&span, copy, size);
    }
    rc = b2c_json_check(copy, size, &span);
    if (rc < B2C_JSON_OK || rc > B2C_JSON_NOMEM)
        abort();
    if (rc == B2C_JSON_DUPLICATE)
        inside(&span, copy, size);
    /* the finder reads a top-level object: where it says malformed (-1) on
     * an object, the checker must agree */
    if ((rc == B2C_JSON_OK || rc == B2C_JSON_DUPLICATE) && size > 0 && copy[0] == '{' &&
        b2c_json_find(copy, size, "a", &span) < 0)
        abort();
    if (rc == B2C_JSON_OK && size > 0 && copy[0] == '{')
        repeat_first_name(copy, size);
    free(copy);
    return 0;
}
