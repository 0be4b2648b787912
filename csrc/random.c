/* RAND_bytes costs about the same for 16 bytes as for 512: OpenSSL 3.0
 * makes a getpid system call and takes its generator's locks on every call,
 * about 1 us, or 4 us between network round trips. A payout needs 16 bytes
 * (its OriginatorConversationID), so the bytes are drawn 512 at a time.
 *
 * The pool is this file's deliberate process-wide state, guarded by
 * pool_lock. Fork safety: pthread_atfork holds the lock across fork() and
 * wipes and empties the pool in the child, so parent and child never hand
 * out the same bytes (two payouts with one OCID). Bytes are wiped from the
 * pool as they are handed out. Without pthread_atfork, RAND_bytes is called
 * directly. */
#include "random.h"

#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#define POOL_SIZE 512

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static unsigned char pool[POOL_SIZE];
static size_t pool_left; /* unused bytes, at the end of pool */
static int pool_fork_safe;

static void before_fork(void)
{
    pthread_mutex_lock(&pool_lock);
}

static void after_fork_parent(void)
{
    pthread_mutex_unlock(&pool_lock);
}

static void after_fork_child(void)
{
    OPENSSL_cleanse(pool, sizeof pool);
    pool_left = 0;
    pthread_mutex_unlock(&pool_lock);
}

static void pool_init(void)
{
    pool_fork_safe = pthread_atfork(before_fork, after_fork_parent, after_fork_child) == 0;
}

int b2c_random_bytes(unsigned char *out, size_t n)
{
    int rc = 0;
    pthread_once(&pool_once, pool_init);
    if (!pool_fork_safe || n > POOL_SIZE) {
        if (RAND_bytes(out, (int)n) == 1)
            return 0;
        ERR_clear_error();
        return -1;
    }
    pthread_mutex_lock(&pool_lock);
    if (pool_left < n) {
        if (RAND_bytes(pool, POOL_SIZE) == 1) {
            pool_left = POOL_SIZE;
        } else {
            ERR_clear_error();
            rc = -1;
        }
    }
    if (rc == 0) {
        unsigned char *from = pool + POOL_SIZE - pool_left;
        memcpy(out, from, n);
        OPENSSL_cleanse(from, n);
        pool_left -= n;
    }
    pthread_mutex_unlock(&pool_lock);
    return rc;
}
