/* libFuzzer: decrypting a SecurityCredential (the simulator decrypts what
 * clients send with the core). Key: spec/fixtures/sim/sim-key.pem, or
 * $B2C_FUZZ_KEY. Properties: no memory error, empty error queue, a message
 * on every failure. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "../csrc/crypto.h"

static char key[8192];
static size_t key_len;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *path = getenv("B2C_FUZZ_KEY");
    FILE *f = fopen(path ? path : "spec/fixtures/sim/sim-key.pem", "rb");
    (void)argc;
    (void)argv;
    if (f == NULL) {
        perror("fuzz/credential: key");
        exit(1);
    }
    key_len = fread(key, 1, sizeof key, f);
    fclose(f);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char msg[B2C_MSG_SIZE];
    char *copy = (char *)malloc(size ? size : 1), *plain;
    size_t out_len = 0;
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    msg[0] = '\0';
    plain = b2c_credential_decrypt(copy, size, key, key_len, &out_len, msg);
    if (ERR_peek_error() != 0)
        abort();
    if (plain == NULL) {
        if (msg[0] == '\0')
            abort();
    } else {
        OPENSSL_cleanse(plain, out_len);
        free(plain);
    }
    free(copy);
    return 0;
}
