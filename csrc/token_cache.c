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
    int refs;
    pthread_cond_t fetched;
    b2c_token_entry *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static b2c_token_entry *entries = NULL;

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

static struct timespec deadline_after(double seconds)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts); /* pthread_cond_timedwait's clock */
    ts.tv_sec += (time_t)seconds;
    ts.tv_nsec += (long)((seconds - (double)(time_t)seconds) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

int b2c_token_get(b2c_token_entry *e, b2c_token_fetch fetch, void *ud, double wait_seconds,
                  char **token, unsigned long *generation)
{
    struct timespec deadline = deadline_after(wait_seconds);
    char *fresh = NULL;
    double ttl = 0;
    int rc;

    pthread_mutex_lock(&lock);
    for (;;) {
        if (e->token != NULL && now_seconds() < e->refresh_at) {
            *token = b2c_secret_dup(e->token, strlen(e->token));
            *generation = e->generation;
            pthread_mutex_unlock(&lock);
            return *token != NULL ? 0 : -1;
        }
        if (!e->fetching)
            break;
        if (pthread_cond_timedwait(&e->fetched, &lock, &deadline) != 0)
            break; /* the other fetch is stuck or polled by this very thread */
    }
    e->fetching = 1;
    pthread_mutex_unlock(&lock);

    rc = fetch(ud, &fresh, &ttl); /* the network call runs unlocked */

    pthread_mutex_lock(&lock);
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

int b2c_token_try_begin(b2c_token_entry *e)
{
    int mine;
    pthread_mutex_lock(&lock);
    mine = !e->fetching;
    e->fetching = 1;
    pthread_mutex_unlock(&lock);
    return mine;
}

void b2c_token_end(b2c_token_entry *e, char *token, double ttl, unsigned long *generation)
{
    pthread_mutex_lock(&lock);
    e->fetching = 0;
    if (token != NULL) {
        store_locked(e, token, ttl);
        *generation = e->generation;
    }
    pthread_cond_broadcast(&e->fetched);
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
