/* Random bytes for identifiers (UUIDs, callback tokens), from OpenSSL's
 * generator through a small process-wide pool. */
#ifndef B2C_RANDOM_H
#define B2C_RANDOM_H

#include <stddef.h>

/* Fills out with n random bytes: 0, or -1 when OpenSSL's generator fails
 * (its error queue is left empty). Thread-safe; a forked child never
 * receives bytes its parent drew or could still draw. */
int b2c_random_bytes(unsigned char *out, size_t n);

#endif
