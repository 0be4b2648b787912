/* The random pool behind UUIDs: distinct bytes for every caller, across
 * threads, and across fork() (a child must not hand out what its parent
 * drew or still holds: that would be two payouts with one OCID). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../csrc/random.h"

#define DRAW 16
#define THREADS 8
#define PER_THREAD 2000

static int failures = 0;

static void check(const char *what, int ok)
{
    printf("%s: %s\n", ok ? "ok" : "FAILED", what);
    failures += !ok;
}

static int compare(const void *a, const void *b)
{
    return memcmp(a, b, DRAW);
}

/* 1 when the n draws in all are pairwise distinct. */
static int all_distinct(unsigned char (*all)[DRAW], size_t n)
{
    size_t i;
    qsort(all, n, DRAW, compare);
    for (i = 1; i < n; i++)
        if (memcmp(all[i - 1], all[i], DRAW) == 0)
            return 0;
    return 1;
}

static unsigned char drawn[THREADS * PER_THREAD][DRAW];
static int thread_failed = 0;

static void *draw_many(void *arg)
{
    size_t first = (size_t)arg * PER_THREAD, i;
    for (i = 0; i < PER_THREAD; i++)
        if (b2c_random_bytes(drawn[first + i], DRAW) < 0)
            thread_failed = 1;
    return NULL;
}

int main(void)
{
    pthread_t threads[THREADS];
    unsigned char parent[64][DRAW], child[64][DRAW], both[128][DRAW];
    unsigned char big[2048];
    int fds[2], status = 0, distinct;
    size_t i;
    pid_t pid;

    for (i = 0; i < THREADS; i++)
        pthread_create(&threads[i], NULL, draw_many, (void *)i);
    for (i = 0; i < THREADS; i++)
        pthread_join(threads[i], NULL);
    check("8 threads x 2000 draws: all succeed and are distinct",
          !thread_failed && all_distinct(drawn, THREADS * PER_THREAD));

    check("a draw larger than the pool", b2c_random_bytes(big, sizeof big) == 0);

    /* The pool now holds unused bytes; the child must not see them. */
    if (b2c_random_bytes(parent[0], DRAW) < 0 || pipe(fds) < 0)
        return 2;
    pid = fork();
    if (pid < 0)
        return 2;
    if (pid == 0) {
        int ok = 1;
        for (i = 0; i < 64; i++)
            ok = ok && b2c_random_bytes(child[i], DRAW) == 0;
        ok = ok && write(fds[1], child, sizeof child) == (ssize_t)sizeof child;
        _exit(ok ? 0 : 1);
    }
    for (i = 0; i < 64; i++)
        if (b2c_random_bytes(parent[i], DRAW) < 0)
            return 2;
    if (read(fds[0], child, sizeof child) != (ssize_t)sizeof child)
        return 2;
    waitpid(pid, &status, 0);
    memcpy(both, parent, sizeof parent);
    memcpy(both[64], child, sizeof child);
    distinct = all_distinct(both, 128);
    check("after fork, parent and child draw different bytes",
          WIFEXITED(status) && WEXITSTATUS(status) == 0 && distinct);

    return failures == 0 ? 0 : 1;
}
