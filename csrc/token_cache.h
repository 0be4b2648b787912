/* The process-wide OAuth token cache.
 *
 * Daraja invalidates an app's previous token whenever a new one is issued,
 * so every client in the process that talks to the same host with the same
 * consumer key and secret must share one token. This is the core's one
 * deliberate piece of global mutable state: a list of entries guarded by a
 * mutex, each entry reference-counted by the clients using it and wiped
 * when the last one lets go. At most one fetch per entry runs at a time;
 * other threads wait for its outcome instead of fetching their own.
 *
 * A fetch driven by polling progresses only while its owner polls: one
 * left unpolled for B2C_TOKEN_STALL_SECONDS is stalled, and the next
 * caller takes over (the stalled owner's result is then ignored). After
 * fork() the child forgets every fetch under way in the parent (it would
 * never see it end) and keeps the tokens, which are still valid. */
#ifndef B2C_TOKEN_CACHE_H
#define B2C_TOKEN_CACHE_H

#include <stddef.h>

#define B2C_TOKEN_STALL_SECONDS 1.0

typedef struct b2c_token_entry b2c_token_entry;

/* Fetches a fresh token: returns 0 with a malloc'd secret token and its
 * lifetime in seconds, or -1 (the callback keeps its own error details). */
typedef int (*b2c_token_fetch)(void *ud, char **token, double *ttl_seconds);

/* The entry for this identity (a digest of host, key and secret), created
 * on first use. NULL when out of memory. */
b2c_token_entry *b2c_token_entry_get(const unsigned char id[32]);
void b2c_token_entry_release(b2c_token_entry *e);

/* A valid token, fetched through fetch() when none is cached or the cached
 * one is close to expiry. On success *token is a malloc'd copy (a secret)
 * and *generation identifies it; returns 0, or -1 when the fetch failed.
 * While another fetch runs it waits at most wait_seconds for it, then
 * fetches itself (that fetch may be driven by the same thread, by polling). */
int b2c_token_get(b2c_token_entry *e, b2c_token_fetch fetch, void *ud, double wait_seconds,
                  char **token, unsigned long *generation);

/* 1 when the cached token is still the given generation and fresh (a
 * client holding that copy may go on using it), else 0. No copy is made. */
int b2c_token_current(b2c_token_entry *e, unsigned long generation);

/* For fetches driven by polling: returns 1 when the caller is now the
 * one fetcher (*ticket names its fetch), 0 when another live fetch is
 * running. The owner calls b2c_token_alive() each time it polls, saying
 * how long it will drive the fetch from now. End it with b2c_token_end():
 * token (malloc'd, taken over; wiped and ignored when the fetch was taken
 * over meanwhile) or NULL when it failed. */
int b2c_token_try_begin(b2c_token_entry *e, unsigned long *ticket);
void b2c_token_alive(b2c_token_entry *e, unsigned long ticket, double seconds);
void b2c_token_end(b2c_token_entry *e, unsigned long ticket, char *token, double ttl,
                   unsigned long *generation);

/* For a polled waiter: waits at most seconds for a fetch under way to end
 * (returns at once when none runs). */
void b2c_token_wait(b2c_token_entry *e, double seconds);

/* The cached token when it is still fresh, without fetching: returns 0 with
 * a malloc'd copy, its remaining life and generation, or -1 when there is
 * none. */
int b2c_token_peek(b2c_token_entry *e, char **token, double *remaining, unsigned long *generation);

/* Stores a token obtained elsewhere (a store shared between processes).
 * Returns 0 with its generation (unchanged when that token is already
 * cached), 1 when it is the token last refused by the gateway (a stale
 * copy: not stored), or -1 when out of memory. */
int b2c_token_put(b2c_token_entry *e, const char *token, double ttl, unsigned long *generation);

/* Forgets the cached token if it is still the given generation (another
 * thread may already have replaced it), and remembers it as refused. */
void b2c_token_invalidate(b2c_token_entry *e, unsigned long generation);

#endif
