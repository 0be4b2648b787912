#include "token_cache.h"
#include "secret.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct b2c_token_entry {
    unsigned char id[32];
    char *token;             /* NULL when none is cached */
    char *refused;           /* the last token the gateway refused, or NULL */
    double refresh_at;       /* monotonic seconds */
    unsigned long generation;
    int fetching;
    unsigned long fetch_ticket; /* names the fetch under way: a new one on each begin */
    double live_until;       /* monotonic: a fetch not vouched for by then is stalled */
    int refs;
    pthread_cond_t fetched;
    b2c_token_entry *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static b2c_token_entry *entries = NULL;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

/* fork(): the lock is taken around it, so the child never inherits it held
 * by a thread that does not exist there. In the child no fetch is under
 * way: each one belonged to the parent (or to a thread of it), and its end
 * would never be seen here. The tokens stay: they are still valid. */
static void fork_prepare(void)
{
    pthread_mutex_lock(&lock);
}

static void fork_parent(void)
{
    pthread_mutex_unlock(&lock);
}

static void fork_child(void)
{
    b2c_token_entry *e;
    for (e = entries; e != NULL; e = e->next) {
        e->fetching = 0;
        e->fetch_ticket++;
        pthread_cond_init(&e->fetched, NULL); /* its waiters were other threads */
    }
    pthread_mutex_unlock(&lock);
}

static void register_fork_handlers(void)
{
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Refresh a little before expiry so a token never dies in flight:
 * a tenth of its life, clamped to 1..60 s, and never more than half of it. */
static double refresh_margin(double ttl)
{
    double m = ttl / 10;
    m = m < 1 ? 1 : m > 60 ? 60 : m;
    return m > ttl / 2 ? ttl / 2 : m;
}

/* Replaces the cached token; the lock is held. */
static void store_locked(b2c_token_entry *e, char *token, double ttl)
{
    b2c_secret_free(e->token);
    e->token = token;
    e->refresh_at = now_seconds() + ttl - refresh_margin(ttl);
    e->generation++;
}

b2c_token_entry *b2c_token_entry_get(const unsigned char id[32])
{
    b2c_token_entry *e;
    pthread_once(&fork_once, register_fork_handlers);
    pthread_mutex_lock(&lock);
    for (e = entries; e != NULL; e = e->next)
        if (memcmp(e->id, id, 32) == 0)
            break;
    if (e == NULL && (e = (b2c_token_entry *)calloc(1, sizeof *e)) != NULL) {
        memcpy(e->id, id, 32);
        pthread_cond_init(&e->fetched, NULL);
        e->next = entries;
        entries = e;
    }
    if (e != NULL)
        e->refs++;
    pthread_mutex_unlock(&lock);
    return e;
}

void b2c_token_entry_release(b2c_token_entry *e)
{
    b2c_token_entry **p;
    if (e == NULL)
        return;
    pthread_mutex_lock(&lock);
    if (--e->refs > 0) {
        pthread_mutex_unlock(&lock);
        return;
    }
    for (p = &entries; *p != NULL; p = &(*p)->next)
        if (*p == e) {
            *p = e->next;
            break;
        }
    pthread_mutex_unlock(&lock);
    b2c_secret_free(e->token);
    b2c_secret_free(e->refused);
    pthread_cond_destroy(&e->fetched);
    free(e);
}

/* Waits on the entry's condition until the monotonic time `until` at the
 * latest; the lock is held. Returns 0 when woken before it. */
static int wait_until(b2c_token_entry *e, double until)
{
    struct timespec ts;
    double left = until - now_seconds(), whole;
    if (left <= 0)
        return -1;
    if (left > 86400)
        left = 86400;
    clock_gettime(CLOCK_REALTIME, &ts); /* pthread_cond_timedwait's clock */
    whole = (double)(time_t)left;
    ts.tv_sec += (time_t)whole;
    ts.tv_nsec += (long)((left - whole) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return pthread_cond_timedwait(&e->fetched, &lock, &ts) == 0 ? 0 : -1;
}

/* A new fetch, owned by the caller; the lock is held. */
static unsigned long begin_locked(b2c_token_entry *e, double live_until)
{
    e->fetching = 1;
    e->live_until = live_until;
    return ++e->fetch_ticket;
}

int b2c_token_get(b2c_token_entry *e, b2c_token_fetch fetch, void *ud, double wait_seconds,
                  char **token, unsigned long *generation)
{
    double deadline = now_seconds() + wait_seconds;
    unsigned long ticket;
    char *fresh = NULL;
    double ttl = 0;
    int rc;

    pthread_mutex_lock(&lock);
    for (;;) {
        double now = now_seconds();
        if (e->token != NULL && now < e->refresh_at) {
            *token = b2c_secret_dup(e->token, strlen(e->token));
            *generation = e->generation;
            pthread_mutex_unlock(&lock);
            return *token != NULL ? 0 : -1;
        }
        if (!e->fetching || now >= e->live_until || now >= deadline)
            break; /* none under way, a stalled polled one, or waited enough */
        wait_until(e, e->live_until < deadline ? e->live_until : deadline);
    }
    /* Blocking in another thread: always making progress, bounded by the
     * waiters' own deadline. */
    ticket = begin_locked(e, 1e300);
    pthread_mutex_unlock(&lock);

    rc = fetch(ud, &fresh, &ttl); /* the network call runs unlocked */

    pthread_mutex_lock(&lock);
    if (ticket == e->fetch_ticket)
        e->fetching = 0;
    if (rc == 0) {
        store_locked(e, fresh, ttl);
        *token = b2c_secret_dup(fresh, strlen(fresh));
        *generation = e->generation;
        if (*token == NULL)
            rc = -1;
    }
    pthread_cond_broadcast(&e->fetched);
    pthread_mutex_unlock(&lock);
    return rc;
}

int b2c_token_current(b2c_token_entry *e, unsigned long generation)
{
    int current;
    pthread_mutex_lock(&lock);
    current = e->token != NULL && e->generation == generation && now_seconds() < e->refresh_at;
    pthread_mutex_unlock(&lock);
    return current;
}

int b2c_token_try_begin(b2c_token_entry *e, unsigned long *ticket)
{
    int mine;
    double now;
    pthread_mutex_lock(&lock);
    now = now_seconds();
    mine = !e->fetching || now >= e->live_until;
    if (mine)
        *ticket = begin_locked(e, now + B2C_TOKEN_STALL_SECONDS);
    pthread_mutex_unlock(&lock);
    return mine;
}

void b2c_token_alive(b2c_token_entry *e, unsigned long ticket, double seconds)
{
    double until;
    pthread_mutex_lock(&lock);
    until = now_seconds() + seconds + B2C_TOKEN_STALL_SECONDS;
    if (e->fetching && ticket == e->fetch_ticket && until > e->live_until)
        e->live_until = until;
    pthread_mutex_unlock(&lock);
}

void b2c_token_end(b2c_token_entry *e, unsigned long ticket, char *token, double ttl,
                   unsigned long *generation)
{
    pthread_mutex_lock(&lock);
    if (ticket != e->fetch_ticket) {
        /* taken over (or forgotten by fork): the newer fetch decides */
        pthread_mutex_unlock(&lock);
        b2c_secret_free(token);
        return;
    }
    e->fetching = 0;
    if (token != NULL) {
        store_locked(e, token, ttl);
        *generation = e->generation;
    }
    pthread_cond_broadcast(&e->fetched);
    pthread_mutex_unlock(&lock);
}

void b2c_token_wait(b2c_token_entry *e, double seconds)
{
    double until;
    pthread_mutex_lock(&lock);
    until = now_seconds() + seconds;
    /* until it ends, stalls (the waiter may take over) or time is up */
    while (e->fetching && now_seconds() < e->live_until &&
           wait_until(e, e->live_until < until ? e->live_until : until) == 0)
        ;
    pthread_mutex_unlock(&lock);
}

int b2c_token_peek(b2c_token_entry *e, char **token, double *remaining, unsigned long *generation)
{
    int rc = -1;
    double now;
    pthread_mutex_lock(&lock);
    now = now_seconds();
    if (e->token != NULL && now < e->refresh_at) {
        *token = b2c_secret_dup(e->token, strlen(e->token));
        *remaining = e->refresh_at - now;
        *generation = e->generation;
        rc = *token != NULL ? 0 : -1;
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

int b2c_token_put(b2c_token_entry *e, const char *token, double ttl, unsigned long *generation)
{
    char *copy = b2c_secret_dup(token, strlen(token));
    int rc = 0;
    if (copy == NULL)
        return -1;
    pthread_mutex_lock(&lock);
    if (e->refused != NULL && strcmp(e->refused, token) == 0) {
        rc = 1; /* a stale copy, read from a shared store before it was deleted */
    } else if (e->token != NULL && strcmp(e->token, token) == 0) {
        /* already cached: the same generation, so that a refusal of it
         * (named by generation) still drops it */
    } else {
        store_locked(e, copy, ttl);
        copy = NULL;
    }
    *generation = e->generation;
    pthread_mutex_unlock(&lock);
    b2c_secret_free(copy);
    return rc;
}

void b2c_token_invalidate(b2c_token_entry *e, unsigned long generation)
{
    pthread_mutex_lock(&lock);
    if (e->token != NULL && e->generation == generation) {
        b2c_secret_free(e->refused);
        e->refused = e->token;
        e->token = NULL;
    }
    pthread_mutex_unlock(&lock);
}
