/* libFuzzer: certificate loading + RSA encryption of the initiator password
 * (the certificate is caller-supplied text or a file's bytes). Properties:
 * no memory error; a failure has a message and leaves OpenSSL's error
 * queue empty; a success is base64. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "../csrc/crypto.h"
#include "../csrc/secret.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char msg[B2C_MSG_SIZE];
    unsigned char *copy = (unsigned char *)malloc(size ? size : 1);
    char *b64;
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    msg[0] = '\0';
    b64 = b2c_credential_encrypt("Safaricom999!*!", 15, copy, size, msg, NULL);
    if (ERR_peek_error() != 0)
        abort();
    if (b64 == NULL) {
        if (msg[0] == '\0')
            abort();
    } else {
        size_t n = strlen(b64);
        if (n == 0 || n % 4 != 0 || strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                              "0123456789+/=") != n)
            abort();
        b2c_secret_free(b64);
    }
    free(copy);
    return 0;
}
