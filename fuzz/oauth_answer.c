/* libFuzzer: the OAuth answer reader. Properties: no memory error; a token
 * is accepted only when it is 1..2048 header-safe characters and the
 * lifetime is a positive number of seconds up to 1e7. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../csrc/oauth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = (char *)malloc(size ? size : 1), *token = NULL;
    double ttl = 0;
    b2c_http_result r;
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    if (b2c_oauth_parse(copy, size, &token, &ttl, &r) == 0) {
        size_t n = strlen(token);
        if (n == 0 || n > 2048 || strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                               "0123456789-._~+/=") != n)
            abort();
        if (!(ttl > 0 && ttl <= 1e7))
            abort();
        b2c_secret_free(token);
    } else if (token != NULL || r.message[0] == '\0') {
        abort();
    }
    free(copy);
    return 0;
}
