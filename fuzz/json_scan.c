/* libFuzzer: the C core's JSON scanner (reads untrusted OAuth answers and
 * checks callback text is strict JSON). Properties: never reads outside the
 * input (ASan), terminates, a found value lies inside the input, and a
 * document the finder calls malformed is never called valid. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../csrc/json_scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const keys[] = {"access_token", "expires_in", "a", ""};
    /* An exact-size copy: a read past the end is caught by ASan. */
    char *copy = (char *)malloc(size ? size : 1);
    size_t i;
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        b2c_json_span span;
        int rc = b2c_json_find(copy, size, keys[i], &span);
        if (rc < -1 || rc > 1)
            abort();
        if (rc == 1 && (span.p < copy || span.p + span.n > copy + size))
            abort();
    }
    {
        int valid = b2c_json_valid(copy, size);
        b2c_json_span span;
        if (valid != 0 && valid != 1)
            abort();
        /* the finder reads a top-level object: where it says malformed
         * (-1) on an object, the validator must agree */
        if (valid && size > 0 && copy[0] == '{' && b2c_json_find(copy, size, "a", &span) < 0)
            abort();
    }
    free(copy);
    return 0;
}
