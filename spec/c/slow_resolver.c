/* A resolver that never answers for one name: linked into the spec host
 * (spec/c/lua_fork_host.c built with -DSLOW_RESOLVER and exporting its
 * symbols), its getaddrinfo() takes the place of libc's for libcurl too.
 * "slow.b2c-dns.invalid" waits SLOW_SECONDS and fails; every other name goes
 * to libc. No DNS query is ever sent for the slow name. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netdb.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define SLOW_NAME "slow.b2c-dns.invalid"
#define SLOW_SECONDS 5

static atomic_int lookups;

int b2c_spec_slow_lookups(void)
{
    return atomic_load(&lookups);
}

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                struct addrinfo **res)
{
    typedef int (*real_fn)(const char *, const char *, const struct addrinfo *,
                           struct addrinfo **);
    static real_fn real;
    if (node != NULL && strcmp(node, SLOW_NAME) == 0) {
        struct timespec pause = {SLOW_SECONDS, 0};
        atomic_fetch_add(&lookups, 1);
        while (nanosleep(&pause, &pause) != 0)
            ;
        return EAI_AGAIN;
    }
    if (real == NULL)
        *(void **)&real = dlsym(RTLD_NEXT, "getaddrinfo");
    return real(node, service, hints, res);
}
