/* Heap copies of secrets that are wiped before they are freed. */
#ifndef B2C_SECRET_H
#define B2C_SECRET_H

#include <stddef.h>

/* Returns a NUL-terminated copy of len bytes, or NULL when out of memory. */
char *b2c_secret_dup(const char *s, size_t len);
/* Wipes strlen(s) bytes, then frees. Accepts NULL. */
void b2c_secret_free(char *s);

/* A growable byte buffer whose old contents are wiped whenever it is
 * resized, reset or freed: it may hold tokens and credentials. */
typedef struct b2c_buf {
    char *data;
    size_t len;
    size_t cap;
} b2c_buf;

/* Grows by n bytes and returns where they start (NULL: no memory). */
char *b2c_buf_extend(b2c_buf *b, size_t n);
int b2c_buf_append(b2c_buf *b, const char *p, size_t n); /* 0 ok, -1 no memory */
void b2c_buf_clear(b2c_buf *b);                           /* wipe, keep capacity */
void b2c_buf_free(b2c_buf *b);                            /* wipe and release */

#endif
