/* Threads sharing the process-wide token cache: exactly one fetch for many
 * concurrent callers, and invalidation by generation. Prints one line per
 * check and exits non-zero on the first failure. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../csrc/secret.h"
#include "../../csrc/token_cache.h"

#define THREADS 16

static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;
static int fetches = 0;

static int slow_fetch(void *ud, char **token, double *ttl)
{
    struct timespec pause = {0, 50 * 1000 * 1000};
    char text[32];
    int n;
    (void)ud;
    nanosleep(&pause, NULL); /* long enough for every thread to pile up */
    pthread_mutex_lock(&count_lock);
    n = ++fetches;
    pthread_mutex_unlock(&count_lock);
    snprintf(text, sizeof text, "token-%d", n);
    *token = b2c_secret_dup(text, strlen(text));
    *ttl = 3599;
    return 0;
}

static b2c_token_entry *entry;
static char *got[THREADS];

static void *worker(void *arg)
{
    int i = (int)(size_t)arg;
    unsigned long gen;
    if (b2c_token_get(entry, slow_fetch, NULL, 5, &got[i], &gen) != 0)
        got[i] = NULL;
    return NULL;
}

static int check(int ok, const char *what)
{
    printf("%s: %s\n", ok ? "ok" : "FAILED", what);
    return ok ? 0 : 1;
}

int main(void)
{
    unsigned char id[32] = {1};
    pthread_t t[THREADS];
    unsigned long gen = 0, gen2 = 0;
    char *token = NULL;
    int i, same = 1, failures = 0;

    entry = b2c_token_entry_get(id);
    for (i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)(size_t)i);
    for (i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    for (i = 0; i < THREADS; i++)
        same = same && got[i] != NULL && strcmp(got[i], "token-1") == 0;
    failures += check(fetches == 1, "16 concurrent callers caused one fetch");
    failures += check(same, "all of them got the same token");

    b2c_token_get(entry, slow_fetch, NULL, 5, &token, &gen);
    b2c_secret_free(token);
    failures += check(b2c_token_entry_get(id) == entry, "the same identity finds the same entry");
    b2c_token_entry_release(entry);

    b2c_token_invalidate(entry, gen - 1); /* stale: someone already refreshed */
    b2c_token_get(entry, slow_fetch, NULL, 5, &token, &gen2);
    failures += check(fetches == 1 && gen2 == gen, "a stale invalidation keeps the token");
    b2c_secret_free(token);

    failures += check(b2c_token_current(entry, gen) && !b2c_token_current(entry, gen - 1),
                      "a client's copy is current while its generation is cached");
    b2c_token_invalidate(entry, gen);
    failures += check(!b2c_token_current(entry, gen), "an invalidated token is not current");
    b2c_token_get(entry, slow_fetch, NULL, 5, &token, &gen2);
    failures += check(fetches == 2 && strcmp(token, "token-2") == 0 && gen2 == gen + 1,
                      "invalidating the current token makes the next caller fetch");
    b2c_secret_free(token);

    {
        /* A shared store: other processes' tokens come in through put. */
        unsigned long g1 = 0, g2 = 0, g3 = 0;
        int again, stale;
        b2c_token_put(entry, "stored-1", 60, &g1);
        again = b2c_token_put(entry, "stored-1", 60, &g2);
        failures += check(again == 0 && g2 == g1,
                          "putting the cached token again keeps its generation");
        b2c_token_invalidate(entry, g1);
        stale = b2c_token_put(entry, "stored-1", 60, &g3);
        failures += check(stale == 1 && !b2c_token_current(entry, g3),
                          "a refused token read back from the store is not cached again");
        failures += check(b2c_token_put(entry, "stored-2", 60, &g3) == 0 && g3 > g1 &&
                              b2c_token_current(entry, g3),
                          "a new token is cached after a refusal");
    }

    {
        /* Polled fetches: one owner at a time while it is driven; one left
         * undriven is taken over, and its late result is ignored. */
        unsigned char id2[32] = {2};
        b2c_token_entry *p = b2c_token_entry_get(id2);
        unsigned long t1 = 0, t2 = 0, g = 0;
        double left;
        struct timespec stall = {1, 200 * 1000 * 1000};
        char *late = b2c_secret_dup("late", 4), *fresh = b2c_secret_dup("fresh", 5), *seen = NULL;
        int first = b2c_token_try_begin(p, &t1), second = b2c_token_try_begin(p, &t2);
        failures += check(first == 1 && second == 0, "a second polled fetch waits for the first");
        nanosleep(&stall, NULL);
        failures += check(b2c_token_try_begin(p, &t2) == 1 && t2 != t1,
                          "a polled fetch left undriven past the stall time is taken over");
        b2c_token_end(p, t1, late, 60, &g);
        failures += check(b2c_token_peek(p, &seen, &left, &g) < 0,
                          "the stalled fetch's late token is ignored");
        b2c_token_end(p, t2, fresh, 60, &g);
        failures += check(b2c_token_peek(p, &seen, &left, &g) == 0 && strcmp(seen, "fresh") == 0,
                          "the fetch that took over decides");
        b2c_secret_free(seen);
        b2c_token_invalidate(p, g);

        /* fork() while a fetch runs (polled, kept alive): the child does
         * not wait for it; the parent still does. */
        b2c_token_try_begin(p, &t1);
        b2c_token_alive(p, t1, 60);
        fflush(stdout);
        {
            pid_t child = fork();
            int status = 0;
            if (child == 0) {
                struct timespec t0, t3;
                unsigned long cg;
                char *tok = NULL;
                clock_gettime(CLOCK_MONOTONIC, &t0);
                b2c_token_get(p, slow_fetch, NULL, 5, &tok, &cg);
                clock_gettime(CLOCK_MONOTONIC, &t3);
                _exit(tok != NULL && t3.tv_sec - t0.tv_sec < 2 ? 0 : 1);
            }
            waitpid(child, &status, 0);
            failures += check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                              "a child after fork() fetches at once, not waiting for the parent's");
        }
        failures += check(b2c_token_try_begin(p, &t2) == 0,
                          "the parent's own fetch is still under way in the parent");
        b2c_token_end(p, t1, NULL, 0, &g);
        b2c_token_entry_release(p);
    }

    for (i = 0; i < THREADS; i++)
        b2c_secret_free(got[i]);
    b2c_token_entry_release(entry);
    return failures;
}
