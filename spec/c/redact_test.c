/* csrc/redact.c on its own: each encoding a secret may come back in, the
 * cut edges, what must stay untouched, and the cost per text. Prints
 * "ok: ..." per check, then "cost: ..." lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../csrc/redact.h"

#define TOKEN "Tk/9aZ+bX8cY7dW6eV5uT4sR3q="
#define SECRET "S3cr3tQ9xLmN4pR7"
#define BASIC "a2V5OlMzY3IzdFE5eExtTjRwUjc="

static int failures;

/* secret: the one secret looked for, or NULL for the three above */
static void expect_with(const char *secret, const char *what, const char *text, const char *want)
{
    b2c_secrets set = {{NULL}, {0}, 0};
    b2c_redactor r;
    b2c_buf b = {NULL, 0, 0};
    int rc;
    memset(&r, 0, sizeof r);
    b2c_secrets_add(&set, secret != NULL ? secret : TOKEN);
    b2c_secrets_add(&set, secret != NULL ? NULL : SECRET);
    b2c_secrets_add(&set, secret != NULL ? NULL : BASIC);
    b2c_buf_append(&b, text, strlen(text));
    rc = b2c_redactor_update(&r, &set) == 0 ? b2c_redact(&b, &r) : -1;
    b2c_redactor_free(&r);
    if (rc == 0 && strcmp(b.data, want) == 0) {
        printf("ok: %s\n", what);
    } else {
        printf("FAILED: %s\n  got:  %s\n  want: %s\n", what, b.data, want);
        failures++;
    }
    b2c_buf_free(&b);
}

static void expect(const char *what, const char *text, const char *want)
{
    expect_with(NULL, what, text, want);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* microseconds per b2c_redact of text with a 344-character credential,
 * a secret, a Basic value and two tokens */
static double cost(const char *text)
{
    static char credential[345];
    b2c_secrets set = {{NULL}, {0}, 0};
    b2c_redactor r;
    b2c_buf b = {NULL, 0, 0};
    unsigned x = 12345;
    int i, rounds = 20000;
    double t0;
    for (i = 0; i < 342; i++) {
        x = x * 1103515245u + 12345u;
        credential[i] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[(x >> 16) % 64];
    }
    strcpy(credential + 342, "==");
    b2c_secrets_add(&set, SECRET);
    b2c_secrets_add(&set, BASIC);
    b2c_secrets_add(&set, credential);
    b2c_secrets_add(&set, TOKEN);
    b2c_secrets_add(&set, "Tk/other+token0123456789ab");
    memset(&r, 0, sizeof r);
    t0 = now();
    for (i = 0; i < rounds; i++) {
        b2c_buf_clear(&b);
        b2c_buf_append(&b, text, strlen(text));
        b2c_redactor_update(&r, &set); /* as the core does: built once, compared after */
        b2c_redact(&b, &r);
    }
    t0 = (now() - t0) / rounds * 1e6;
    b2c_redactor_free(&r);
    b2c_buf_free(&b);
    return t0;
}

int main(void)
{
    char big[4096];
    size_t i;
    expect("raw", "Invalid Access Token - " TOKEN, "Invalid Access Token - [redacted]");
    expect("JSON-escaped /", "{\"m\":\"Bearer Tk\\/9aZ+bX8cY7dW6eV5uT4sR3q=\"}",
           "{\"m\":\"Bearer [redacted]\"}");
    expect("URL-encoded", "t=Tk%2F9aZ%2BbX8cY7dW6eV5uT4sR3q%3D&x=1", "t=[redacted]&x=1");
    expect("lower-case URL hex", "t=Tk%2f9aZ%2bbX8cY7dW6eV5uT4sR3q%3d", "t=[redacted]");
    expect("\\u00XX escapes",
           "\"\\u0053\\u0033\\u0063\\u0072\\u0033\\u0074\\u0051\\u0039\\u0078\\u004c\"",
           "\"[redacted]\"");
    expect("HTML character references", "<p>S3cr3tQ9x&#76;&#x6d;N4pR7</p>", "<p>[redacted]</p>");
    expect("two layers: URL-encoded JSON escape", "Tk%5C%2F9aZ+bX8cY7dW6eV5uT4sR3q=",
           "[redacted]");
    expect("the Basic credential", "Authorization: Basic " BASIC, "Authorization: Basic [redacted]");
    expect("a middle part of 8", "x cY7dW6eV y", "x [redacted] y");
    expect("7 in the middle stay (not a leak by the rule)", "x cY7dW6e y", "x cY7dW6e y");
    expect("a cut echo: the text ends with a secret's first 4", "...Bearer Tk/9",
           "...Bearer [redacted]");
    expect("a cut echo: the text starts with a secret's last 4", "sR3q= was sent",
           "[redacted] was sent");
    expect("3 at the edge stay", "...Bearer Tk/", "...Bearer Tk/");
    expect("several, merged when adjacent", SECRET TOKEN " and " SECRET, "[redacted] and [redacted]");
    expect("plain text untouched",
           "{\"ResponseCode\":\"0\",\"ResponseDescription\":\"Accept the service request "
           "successfully.\"}",
           "{\"ResponseCode\":\"0\",\"ResponseDescription\":\"Accept the service request "
           "successfully.\"}");
    expect("escapes that decode to no secret untouched", "a%2Fb \\u0041 &amp; &#65;",
           "a%2Fb \\u0041 &amp; &#65;");
    expect("an escape cut at the end", "Tk/9aZ+bX8cY7dW6eV5uT4sR3q%3", "[redacted]");
    expect("an entity cut at the end", "S3cr3tQ9x&#x4", "[redacted]");
    expect("what follows a run at the end stays", "t=" SECRET "&x=1", "t=[redacted]&x=1");
    /* a secret may hold escape characters itself */
    expect_with("Pw%41\\/&#;;CDRR", "a secret's own '&' read as the start of an entity",
                "x Pw%2541%5C/&apos; y", "x [redacted]apos; y");
    expect_with("AB\\\"CD/EF", "one escape of a kind decoded and another not",
                "x AB\\\"CD\\/EF y", "x [redacted] y");
    {
        b2c_secrets set = {{NULL}, {0}, 0};
        int i1 = b2c_secrets_add(&set, "abc"), i2 = b2c_secrets_add(&set, NULL);
        if (i1 == 0 && i2 == 0 && set.n == 0)
            printf("ok: secrets shorter than %d are not looked for\n", B2C_REDACT_EDGE);
        else
            failures++;
    }
    printf("cost: a 200-byte ack: %.2f us\n",
           cost("{\"ConversationID\":\"AG_20240101_00004e48d0d8f18d1d53\",\"OriginatorConversationID\":"
                "\"5118-111210482-1\",\"ResponseCode\":\"0\",\"ResponseDescription\":\"Accept the "
                "service request successfully.\"}"));
    printf("cost: an error echoing the token JSON-escaped: %.2f us\n",
           cost("{\"requestId\":\"1\",\"errorCode\":\"404.001.03\",\"errorMessage\":\"Invalid Access "
                "Token - Tk\\/9aZ+bX8cY7dW6eV5uT4sR3q=\"}"));
    for (i = 0; i + 1 < sizeof big; i++)
        big[i] = "<html>%20\\u0041 &amp; text "[i % 27];
    big[sizeof big - 1] = '\0';
    printf("cost: a 4 KiB HTML page full of escapes: %.2f us\n", cost(big));
    return failures ? 1 : 0;
}
