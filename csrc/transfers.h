/* Requests driven by polling: a libcurl multi handle and the transfers on
 * it, for hosts that cannot block (game loops, other event loops). Each
 * transfer has its own easy handle (b2c_http, so the same no-replay body
 * callbacks apply); connections are pooled by the multi handle and kept
 * alive between transfers. Pure C: no Lua. */
#ifndef B2C_TRANSFERS_H
#define B2C_TRANSFERS_H

#include <curl/curl.h>

#include "http.h"
#include "secret.h"

typedef enum b2c_transfer_state { B2C_FREE = 0, B2C_RUNNING, B2C_DONE } b2c_transfer_state;

typedef struct b2c_transfer {
    b2c_http http;           /* its easy handle, kept for reuse once opened */
    b2c_buf body;            /* the request body: may hold the credential */
    b2c_transfer_state state;
    int is_token;            /* an OAuth fetch rather than an API call */
    char *token;             /* the bearer token sent (a secret), to redact echoes */
    CURLcode rc;             /* libcurl's result, once DONE */
    int settled;             /* its outcome is already read into result */
    int ok;                  /* settled token fetch: it succeeded */
    b2c_http_result result;  /* when settled */
} b2c_transfer;

typedef struct b2c_transfers {
    CURLM *multi;
    b2c_transfer **slots;    /* a transfer's id is its slot index + 1 */
    size_t count;
} b2c_transfers;

/* A FREE slot with an open easy handle (made from c when new). Returns its
 * id (>= 1), or 0 with a message when out of memory or libcurl fails. */
int b2c_transfers_reserve(b2c_transfers *t, const b2c_http_config *c, char msg[B2C_MSG_SIZE]);

b2c_transfer *b2c_transfers_get(b2c_transfers *t, int id); /* NULL for a bad id */

/* Starts a transfer set up with b2c_http_begin. 0, or -1 when refused. */
int b2c_transfers_start(b2c_transfers *t, b2c_transfer *tr);

/* Does the I/O that is ready, waiting at most timeout_ms for some (0: no
 * wait). Marks finished transfers DONE. Returns the number still running. */
int b2c_transfers_step(b2c_transfers *t, long timeout_ms);

/* Takes a transfer off the multi handle and makes its slot FREE again
 * (buffers wiped, easy handle kept). */
void b2c_transfers_release(b2c_transfers *t, b2c_transfer *tr);

/* Ends everything: every transfer is aborted and freed. Idempotent. */
void b2c_transfers_close(b2c_transfers *t);

/* In a child after fork(): the multi handle and every easy handle are
 * forgotten without a libcurl call (see b2c_http_abandon), and each
 * transfer the parent started ends here with a settled failure: its
 * answer goes to the parent. A slot gets a new easy handle when reused. */
void b2c_transfers_abandon(b2c_transfers *t);

#endif
