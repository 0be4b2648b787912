/* "Was the POST sent" is judged by the attempt count (libcurl was cleared
 * to send it), never by the bytes libcurl reports written: a connection
 * reset just before the write leaves zero bytes counted, while the request
 * may have been on its way. A server on 127.0.0.1 accepts a connection and
 * resets it when told; the pre-request callback (the core's own
 * bookkeeping, then that word to the server) makes the reset arrive after
 * the connection is up and before the write. Prints "ok: ..." per check
 * and exits non-zero on a failure. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../csrc/http.h"

static int listener, go[2], done[2];

static void *reset_when_told(void *arg)
{
    struct linger hard = {1, 0};
    char c;
    (void)arg;
    for (;;) {
        int fd = accept(listener, NULL, NULL);
        if (fd < 0 || read(go[0], &c, 1) != 1)
            return NULL;
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
        close(fd); /* RST */
        if (write(done[1], "x", 1) != 1)
            return NULL;
    }
}

/* What the core's callback does for the first attempt, then the reset. */
static int before_request_reset(void *ud, char *a, char *b, int c, int d)
{
    struct timespec settle = {0, 50 * 1000 * 1000};
    char x;
    (void)a, (void)b, (void)c, (void)d;
    if (++((b2c_http *)ud)->attempts > 1)
        return CURL_PREREQFUNC_ABORT;
    if (write(go[1], "x", 1) != 1 || read(done[0], &x, 1) != 1)
        return CURL_PREREQFUNC_ABORT;
    nanosleep(&settle, NULL); /* the RST reaches this end */
    return CURL_PREREQFUNC_OK;
}

static int failures;

static void check(int ok, const char *what)
{
    printf("%s: %s\n", ok ? "ok" : "FAILED", what);
    failures += !ok;
}

int main(void)
{
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    char url[64], msg[B2C_MSG_SIZE];
    b2c_http_config cfg;
    b2c_http h;
    b2c_http_result r;
    pthread_t server;
    long written = -1;
    int tries, ambiguous = 0, unwritten = 0;

    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    listener = socket(AF_INET, SOCK_STREAM, 0);
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(listener, 16) < 0 ||
        getsockname(listener, (struct sockaddr *)&addr, &len) < 0)
        return 2;
    if (pipe(go) < 0 || pipe(done) < 0)
        return 2;
    pthread_create(&server, NULL, reset_when_told, NULL);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(addr.sin_port));

    memset(&cfg, 0, sizeof cfg);
    cfg.base_url = url;
    cfg.user_agent = "spec";
    cfg.timeout_ms = 5000;
    cfg.connect_timeout_ms = 5000;
    cfg.max_response = 65536;
    /* A few tries, should the reset land late. */
    for (tries = 0; tries < 5 && !unwritten; tries++) {
        memset(&h, 0, sizeof h);
        if (b2c_http_open(&h, &cfg, msg) < 0)
            return 2;
        curl_easy_setopt(h.easy, CURLOPT_PREREQFUNCTION, before_request_reset);
        b2c_http_perform(&h, url, "Bearer x", "{\"a\":1}", 7, &r);
        curl_easy_getinfo(h.easy, CURLINFO_REQUEST_SIZE, &written);
        if (written == 0 && h.attempts == 1) {
            unwritten = 1;
            ambiguous = r.outcome == B2C_AMBIGUOUS;
        }
        b2c_http_close(&h);
    }
    check(unwritten, "a POST cleared to go, reset before libcurl wrote a byte");
    check(ambiguous, "counts as sent: ambiguous, never unsent");
    shutdown(listener, SHUT_RDWR); /* ends the server's accept() */
    pthread_join(server, NULL);
    close(listener);
    /* _exit: under `make asan` (its runtime preloaded into this uninstrumented
     * program) libp11-kit's exit handler can deadlock in freelocale. */
    fflush(stdout);
    _exit(failures ? 1 : 0);
}
