/* libFuzzer: masking the access token in an answer before it reaches Lua
 * (Daraja echoes the token in "Invalid Access Token - <token>").
 * Input: 1 byte of token length, the token (mapped onto the characters a
 * token may have), then the body. Property: the token never survives. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../csrc/lua_core.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789-._~+/=";
    char token[65];
    size_t tn, i;
    b2c_buf body = {NULL, 0, 0};
    if (size < 2)
        return 0;
    tn = 1 + data[0] % 64;
    if (size < 1 + tn)
        return 0;
    for (i = 0; i < tn; i++)
        token[i] = alphabet[data[1 + i] % (sizeof alphabet - 1)];
    token[tn] = '\0';
    if (b2c_buf_append(&body, (const char *)data + 1 + tn, size - 1 - tn) < 0)
        return 0;
    redact_token(&body, token);
    if (body.len > size - 1 - tn || body.data[body.len] != '\0')
        abort();
    for (i = 0; i + tn <= body.len; i++)
        if (memcmp(body.data + i, token, tn) == 0)
            abort();
    b2c_buf_free(&body);
    return 0;
}
