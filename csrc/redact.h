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

/* Redacts text in place (it may grow). Returns 0, or -1 when out of
 * memory: text is then wiped and holds only the mask. */
int b2c_redact(b2c_buf *text, const b2c_secrets *set);

#endif
