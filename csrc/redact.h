/* Removes secrets from text that came from a server (or any text a secret
 * may have been echoed into) before the text reaches Lua. Pure C: no Lua.
 *
 * What counts as a leak: any run of B2C_REDACT_RUN or more consecutive
 * characters of a secret (a prefix, a suffix or the middle: servers and
 * error snippets cut echoes anywhere), a whole secret shorter than that,
 * and at either end of the text (where a cut falls) B2C_REDACT_EDGE or
 * more characters of a secret's end (at the start) or beginning (at the
 * end). Each is looked for in the text as it is and as decoded, up to
 * three layers deep, from JSON escapes (\/ \" \\ \b \f \n \r \t \u00XX),
 * URL encoding (%XX) and HTML character references (&#NN; &#xHH; &amp;
 * &quot; &lt; &gt; &apos;). Every byte a leak came from is replaced; each
 * run of replaced bytes becomes one "[redacted]". */
#ifndef B2C_REDACT_H
#define B2C_REDACT_H

#include <stddef.h>
#include <stdint.h>

#include "secret.h"

#define B2C_REDACT_RUN 8
#define B2C_REDACT_EDGE 4
#define B2C_REDACT_MAX 8
#define B2C_REDACT_MASK "[redacted]"

/* The secrets to look for; the strings are borrowed, not copied. */
typedef struct b2c_secrets {
    const char *s[B2C_REDACT_MAX];
    size_t len[B2C_REDACT_MAX];
    int n;
} b2c_secrets;

/* Adds s unless it is NULL, shorter than B2C_REDACT_EDGE (too short to
 * tell from ordinary text) or already there; beyond B2C_REDACT_MAX
 * secrets, -1. */
int b2c_secrets_add(b2c_secrets *set, const char *s);

/* What b2c_redact searches with, kept between texts: built again only when
 * the secrets change (a new token). Holds copies of the secrets, wiped by
 * b2c_redactor_free. Zeroed memory is an empty redactor. */
typedef struct b2c_redactor {
    b2c_secrets set;           /* the copies below */
    char *copy[B2C_REDACT_MAX];
    uint64_t *runs;            /* hash set of every B2C_REDACT_RUN-byte run */
    unsigned bits;             /* runs has 2^bits slots */
    unsigned char *pairs;      /* bit per 2-byte sequence a run or a secret starts with */
    int failed;                /* the last update ran out of memory */
} b2c_redactor;

/* Makes r search for exactly the secrets of set. 0, or -1 when out of
 * memory (r is then empty and b2c_redact fails closed). */
int b2c_redactor_update(b2c_redactor *r, const b2c_secrets *set);
void b2c_redactor_free(b2c_redactor *r);

/* Redacts text in place (it may grow). Returns 0, or -1 when out of
 * memory or r could not be built: text is then wiped and holds only the
 * mask. */
int b2c_redact(b2c_buf *text, const b2c_redactor *r);

#endif
