/* libFuzzer: taking the client's secrets out of a server's text before it
 * reaches Lua (csrc/redact.c).
 * Input: 1 byte (how many secrets, 1-4), then per secret 1 byte of length
 * (4-67) and its characters (mapped onto token and base64 characters and
 * the escape characters %, \, &, #, ;), then the text.
 * Properties: no run of B2C_REDACT_RUN characters of a secret (nor a whole
 * shorter one) is left in the text as it is, nor once %XX, \/ and \u00XX
 * are decoded (by a decoder of the harness's own); redacting the result again
 * changes nothing (no encoded copy left either); the buffer stays a
 * NUL-terminated string. The alphabet has no lower-case letters and no
 * brackets, so a secret never overlaps the mask. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../csrc/redact.h"

static int hexval(char c)
{
    const char *h = "0123456789abcdef0123456789ABCDEF", *at = c ? strchr(h, c) : NULL;
    return at ? (int)((at - h) % 16) : -1;
}

/* An independent reading of the common encodings, one layer: %XX, \/ and
 * \u00XX (what an echoing server writes most). */
static size_t decode(const char *in, size_t n, char *out)
{
    size_t i = 0, m = 0;
    while (i < n) {
        if (in[i] == '%' && i + 2 < n && hexval(in[i + 1]) >= 0 && hexval(in[i + 2]) >= 0) {
            out[m++] = (char)(hexval(in[i + 1]) * 16 + hexval(in[i + 2]));
            i += 3;
        } else if (in[i] == '\\' && i + 1 < n && in[i + 1] == '/') {
            out[m++] = '/';
            i += 2;
        } else if (in[i] == '\\' && i + 5 < n && in[i + 1] == 'u' && in[i + 2] == '0' &&
                   in[i + 3] == '0' && hexval(in[i + 4]) >= 0 && hexval(in[i + 5]) >= 0) {
            out[m++] = (char)(hexval(in[i + 4]) * 16 + hexval(in[i + 5]));
            i += 6;
        } else {
            out[m++] = in[i++];
        }
    }
    return m;
}

/* a run of a secret (or a whole short one) in text */
static int leaks(const b2c_secrets *set, const char *text, size_t n)
{
    size_t i, j, run;
    int k;
    for (k = 0; k < set->n; k++) {
        run = set->len[k] < B2C_REDACT_RUN ? set->len[k] : B2C_REDACT_RUN;
        for (i = 0; i + run <= set->len[k]; i++)
            for (j = 0; j + run <= n; j++)
                if (memcmp(text + j, set->s[k] + i, run) == 0)
                    return 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~+/=%\\&#;\"";
    static char secrets[4][68];
    b2c_secrets set = {{NULL}, {0}, 0};
    b2c_redactor r;
    b2c_buf text = {NULL, 0, 0}, again = {NULL, 0, 0};
    size_t at = 1, i, len;
    int k, count;
    if (size < 2)
        return 0;
    count = 1 + data[0] % 4;
    for (k = 0; k < count; k++) {
        if (at >= size)
            return 0;
        len = 4 + data[at++] % 64;
        if (at + len > size)
            return 0;
        for (i = 0; i < len; i++)
            secrets[k][i] = alphabet[data[at + i] % (sizeof alphabet - 1)];
        secrets[k][len] = '\0';
        at += len;
        b2c_secrets_add(&set, secrets[k]);
    }
    memset(&r, 0, sizeof r);
    if (b2c_redactor_update(&r, &set) < 0 ||
        b2c_buf_append(&text, (const char *)data + at, size - at) < 0) {
        b2c_redactor_free(&r);
        b2c_buf_free(&text);
        return 0;
    }
    if (b2c_redact(&text, &r) == 0) {
        char *plain;
        if (text.len > 0 && (text.data == NULL || text.data[text.len] != '\0'))
            abort();
        if (leaks(&set, text.data, text.len))
            abort();
        if (text.len > 0 && (plain = (char *)malloc(text.len)) != NULL) {
            if (leaks(&set, plain, decode(text.data, text.len, plain)))
                abort();
            free(plain);
        }
        if (text.len > 0 && b2c_buf_append(&again, text.data, text.len) == 0 &&
            b2c_redact(&again, &r) == 0 &&
            (again.len != text.len || memcmp(again.data, text.data, text.len) != 0))
            abort();
    }
    b2c_buf_free(&again);
    b2c_buf_free(&text);
    b2c_redactor_free(&r);
    return 0;
}
