#include "http.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

/* CURLOPT_PREREQFUNCTION is what keeps libcurl from replaying a payout. */
#if LIBCURL_VERSION_NUM < 0x075000
#error "b2c needs libcurl 7.80.0 or later"
#endif

/* libcurl's global state: initialised once per process, never cleaned up
 * (other libraries in the host may still use libcurl). */
static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_OK;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int b2c_http_global_init(void)
{
    pthread_once(&global_once, global_init);
    return global_rc == CURLE_OK ? 0 : -1;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    b2c_http *h = (b2c_http *)ud;
    size_t n = size * nmemb;
    if (h->response.len + n > h->max_response) {
        h->too_large = 1;
        return 0; /* makes libcurl abort the transfer */
    }
    if (b2c_buf_append(&h->response, data, n) < 0)
        return 0;
    return n;
}

/* Called by libcurl once a connection is ready, just before the request
 * goes out; again if libcurl wants to replay the request on a fresh
 * connection because a reused one died without an answer. A POST is never
 * replayed: the server may have acted on the first copy, and a second one
 * would be a second payout. */
static int on_before_request(void *ud, char *remote_ip, char *local_ip, int remote_port,
                             int local_port)
{
    b2c_http *h = (b2c_http *)ud;
    (void)remote_ip;
    (void)local_ip;
    (void)remote_port;
    (void)local_port;
    h->attempts++;
    return h->is_post && h->attempts > 1 ? CURL_PREREQFUNC_ABORT : CURL_PREREQFUNC_OK;
}

/* http://HOST[:PORT][/] where HOST is 127.x.y.z, localhost or [::1], and
 * nothing else: a prefix test would let "http://127.0.0.1.example.com" or
 * "http://localhost:1@example.com" (user info) reach another host in clear. */
static int is_loopback_http(const char *url)
{
    static const char *const hosts[] = {"localhost", "[::1]"};
    const char *p = url + 7, *end = NULL;
    size_t i;
    if (strncmp(url, "http://", 7) != 0)
        return 0;
    for (i = 0; i < sizeof hosts / sizeof hosts[0]; i++)
        if (strncmp(p, hosts[i], strlen(hosts[i])) == 0)
            end = p + strlen(hosts[i]);
    if (end == NULL && strncmp(p, "127.", 4) == 0) {
        int dots = 1, digits = 0;
        for (end = p + 4; (*end >= '0' && *end <= '9') || *end == '.'; end++) {
            if (*end == '.') {
                if (digits == 0)
                    return 0;
                dots++;
                digits = 0;
            } else if (++digits > 3) {
                return 0;
            }
        }
        if (dots != 3 || digits == 0)
            return 0;
    }
    if (end == NULL)
        return 0;
    if (*end == ':') {
        const char *port = ++end;
        while (*end >= '0' && *end <= '9')
            end++;
        if (end == port || end - port > 5)
            return 0;
    }
    return *end == '\0' || (*end == '/' && end[1] == '\0');
}

/* host[:port] and an optional final "/" from p on, nothing else: a name
 * (letters, digits, '-', non-empty labels) or an IPv6 literal in brackets,
 * and a port of 1-65535. */
static int check_authority(const char *p, char msg[B2C_MSG_SIZE])
{
    const char *q = p;
    if (*q == '[') {
        for (q++; (*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f') ||
                  (*q >= 'A' && *q <= 'F') || *q == ':' || *q == '.';
             q++)
            ;
        if (q == p + 1 || *q++ != ']')
            goto bad;
    } else {
        for (; (*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
               *q == '-' || *q == '.';
             q++)
            if (*q == '.' && (q == p || q[-1] == '.'))
                goto bad; /* an empty label */
        if (q == p || q[-1] == '.' || q[-1] == '-')
            goto bad;
    }
    if (*q == ':') {
        long port = 0;
        const char *digits = ++q;
        while (*q >= '0' && *q <= '9' && q - digits < 6)
            port = port * 10 + (*q++ - '0');
        if (q == digits || port < 1 || port > 65535 || (*q >= '0' && *q <= '9')) {
            snprintf(msg, B2C_MSG_SIZE, "the port must be a number 1-65535");
            return -1;
        }
    }
    if (*q == '/')
        q++;
    if (*q == '\0')
        return 0;
bad:
    snprintf(msg, B2C_MSG_SIZE, "must be https://host[:port] and nothing else "
                                "(no spaces, control characters, user info, path or query)");
    return -1;
}

int b2c_http_check_base_url(const char *url, char msg[B2C_MSG_SIZE])
{
    int plain = strncmp(url, "http://", 7) == 0;
    if (!plain && strncmp(url, "https://", 8) != 0) {
        snprintf(msg, B2C_MSG_SIZE, "must start with https://");
        return -1;
    }
    if (check_authority(url + (plain ? 7 : 8), msg) < 0)
        return -1;
    if (plain && !is_loopback_http(url)) {
        snprintf(msg, B2C_MSG_SIZE,
                 "plain http is allowed only for loopback hosts; use https://");
        return -1;
    }
    return 0;
}

/* An explicit proxy, http://host:port, and only for an https baseUrl: the
 * request then goes through a CONNECT tunnel, TLS from end to end, and the
 * proxy sees no secret. Through a proxy a plain http request (and every
 * secret in it) would be read by another host. */
int b2c_http_check_proxy(const char *proxy, const char *base_url, char msg[B2C_MSG_SIZE])
{
    const char *host_end = NULL; /* where a ":port" may start */
    if (strncmp(base_url, "https://", 8) != 0) {
        snprintf(msg, B2C_MSG_SIZE, "only for an https:// baseUrl (through a proxy, "
                                    "plain http would show every secret to it)");
        return -1;
    }
    if (strncmp(proxy, "http://", 7) == 0)
        host_end = proxy[7] == '[' ? strchr(proxy + 7, ']') : proxy + 7;
    if (host_end == NULL || check_authority(proxy + 7, msg) < 0 || strchr(host_end, ':') == NULL) {
        snprintf(msg, B2C_MSG_SIZE, "must be http://host:port (a CONNECT proxy; no "
                                    "user info, path or spaces)");
        return -1;
    }
    return 0;
}

/* Every socket is recorded, so that a child after fork() can let go of its
 * copies (b2c_sockets_drop). */
static curl_socket_t on_open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    b2c_sockets *s = (b2c_sockets *)ud;
    curl_socket_t fd;
    (void)purpose;
    if (s->count == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 8;
        curl_socket_t *grown = (curl_socket_t *)realloc(s->fds, cap * sizeof *grown);
        if (grown == NULL)
            return CURL_SOCKET_BAD;
        s->fds = grown;
        s->cap = cap;
    }
    fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    if (fd != CURL_SOCKET_BAD)
        s->fds[s->count++] = fd;
    return fd;
}

static int on_close_socket(void *ud, curl_socket_t fd)
{
    b2c_sockets *s = (b2c_sockets *)ud;
    size_t i;
    for (i = 0; i < s->count; i++)
        if (s->fds[i] == fd) {
            s->fds[i] = s->fds[--s->count];
            break;
        }
    return close(fd);
}

void b2c_sockets_drop(b2c_sockets *s)
{
    size_t i;
    for (i = 0; i < s->count; i++)
        close(s->fds[i]);
    s->count = 0;
}

void b2c_sockets_free(b2c_sockets *s)
{
    free(s->fds);
    s->fds = NULL;
    s->count = s->cap = 0;
}

static void set_protocols(CURL *e, const char *list)
{
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, list);
#else
    curl_easy_setopt(e, CURLOPT_PROTOCOLS,
                     strchr(list, ',') ? (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)
                                       : (long)CURLPROTO_HTTPS);
#endif
}

int b2c_http_open(b2c_http *h, const b2c_http_config *c, char msg[B2C_MSG_SIZE])
{
    CURL *e;
    int plain = strncmp(c->base_url, "http://", 7) == 0;
    if (b2c_http_check_base_url(c->base_url, msg) < 0 ||
        (c->proxy != NULL && b2c_http_check_proxy(c->proxy, c->base_url, msg) < 0))
        return -1;
    if (b2c_http_global_init() < 0 || (e = curl_easy_init()) == NULL) {
        snprintf(msg, B2C_MSG_SIZE, "libcurl could not be initialised");
        return -1;
    }
    h->easy = e;
    h->max_response = c->max_response;
    h->errbuf[0] = '\0';
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->errbuf);
    curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->ca_file != NULL)
        curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
    set_protocols(e, plain ? "http,https" : "https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_before_request);
    curl_easy_setopt(e, CURLOPT_PREREQDATA, h);
    /* http_proxy, https_proxy, ALL_PROXY and NO_PROXY are ignored: "" is
     * libcurl's "no proxy, whatever the environment says". */
    curl_easy_setopt(e, CURLOPT_PROXY, c->proxy != NULL ? c->proxy : "");
    if (c->proxy != NULL) {
        curl_easy_setopt(e, CURLOPT_PROXYTYPE, (long)CURLPROXY_HTTP);
        curl_easy_setopt(e, CURLOPT_HTTPPROXYTUNNEL, 1L);
        curl_easy_setopt(e, CURLOPT_NOPROXY, "");
    }
#if LIBCURL_VERSION_NUM >= 0x075700
    /* A resolver thread still waiting for a slow DNS answer is left to end
     * on its own: otherwise libcurl waits for it when the transfer ends,
     * past every timeout. */
    curl_easy_setopt(e, CURLOPT_QUICK_EXIT, 1L);
#endif
    if (c->sockets != NULL) {
        curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
        curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, c->sockets);
        curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, on_close_socket);
        curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, c->sockets);
    }
    return 0;
}

static void free_headers(struct curl_slist *list);

void b2c_http_abandon(b2c_http *h)
{
    free_headers(h->headers);
    h->headers = NULL;
    h->easy = NULL;
    h->active = 0;
    b2c_buf_free(&h->response);
}

void b2c_http_close(b2c_http *h)
{
    free_headers(h->headers);
    h->headers = NULL;
    if (h->easy != NULL) {
        curl_easy_cleanup(h->easy);
        h->easy = NULL;
    }
    b2c_buf_free(&h->response);
}

/* Frees a header list after wiping each line: one holds a credential. */
static void free_headers(struct curl_slist *list)
{
    struct curl_slist *l;
    for (l = list; l != NULL; l = l->next)
        OPENSSL_cleanse(l->data, strlen(l->data));
    curl_slist_free_all(list);
}

static struct curl_slist *add_header(struct curl_slist *list, const char *line, int *failed)
{
    struct curl_slist *next = curl_slist_append(list, line);
    if (next == NULL)
        *failed = 1;
    return next != NULL ? next : list;
}

static int unsent_is_retryable(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
        return 1;
    default:
        return 0; /* TLS trust, bad URL, unsupported protocol: retrying won't help */
    }
}

static void classify(b2c_http *h, CURLcode rc, int is_post, b2c_http_result *r)
{
    long request_bytes = 0;
    int sent;
    /* A polled transfer ends with a fresh result: nothing may be left over. */
    memset(r, 0, sizeof *r);
    curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &r->status);
    r->curl_code = (int)rc;
    r->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
    if (rc == CURLE_OK) {
        r->outcome = B2C_RESPONSE;
        return;
    }
    snprintf(r->message, sizeof r->message, "%s",
             h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc));
    if (h->too_large) {
        r->outcome = B2C_TOO_LARGE;
        snprintf(r->message, sizeof r->message, "response larger than %lu bytes",
                 (unsigned long)h->max_response);
        return;
    }
    curl_easy_getinfo(h->easy, CURLINFO_REQUEST_SIZE, &request_bytes);
    /* A POST counts as sent from the moment libcurl was cleared to send it. */
    sent = is_post ? h->attempts > 0 : request_bytes > 0;
    if (is_post && rc == CURLE_ABORTED_BY_CALLBACK && h->attempts > 1) {
        /* libcurl wanted to replay the request on a new connection: refused. */
        r->outcome = B2C_AMBIGUOUS;
        snprintf(r->message, sizeof r->message,
                 "the connection closed after the request was sent; not replayed");
    } else if (sent) {
        r->outcome = B2C_AMBIGUOUS;
    } else {
        r->outcome = B2C_UNSENT;
        r->retryable = unsent_is_retryable(rc);
    }
}

/* The header list of the previous request serves again when it was for
 * the same kind of request with the same credential (every payout between
 * two token refreshes): no list built and wiped per request. */
static int headers_fit(const b2c_http *h, const char *authorization)
{
    const struct curl_slist *last = h->headers;
    if (last == NULL || h->headers_post != h->is_post)
        return 0;
    while (last->next != NULL)
        last = last->next;
    return strncmp(last->data, "Authorization: ", 15) == 0 &&
           strcmp(last->data + 15, authorization) == 0;
}

static int build_headers(b2c_http *h, const char *authorization)
{
    b2c_buf line = {NULL, 0, 0};
    int failed = 0;
    free_headers(h->headers);
    h->headers = add_header(NULL, "Accept: application/json", &failed);
    h->headers = add_header(h->headers, "Expect:", &failed);
    if (h->is_post)
        h->headers = add_header(h->headers, "Content-Type: application/json", &failed);
    if (b2c_buf_append(&line, "Authorization: ", 15) < 0 ||
        b2c_buf_append(&line, authorization, strlen(authorization)) < 0)
        failed = 1;
    else
        h->headers = add_header(h->headers, line.data, &failed);
    b2c_buf_free(&line);
    h->headers_post = h->is_post;
    if (failed) {
        free_headers(h->headers);
        h->headers = NULL;
        return -1;
    }
    return 0;
}

int b2c_http_begin(b2c_http *h, const char *url, const char *authorization, const char *body,
                   size_t body_len, b2c_http_result *r)
{
    memset(r, 0, sizeof *r);
    b2c_buf_clear(&h->response);
    h->too_large = 0;
    h->errbuf[0] = '\0';
    h->is_post = body != NULL;
    h->attempts = 0;
    h->active = 1;
    if (!headers_fit(h, authorization) && build_headers(h, authorization) < 0) {
        h->active = 0;
        r->outcome = B2C_UNSENT;
        snprintf(r->message, sizeof r->message, "out of memory");
        return -1;
    }

    curl_easy_setopt(h->easy, CURLOPT_URL, url);
    curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, h->headers);
    if (body != NULL) {
        /* Not copied: libcurl reads it in place (the caller keeps it until end)
         * and sends it in the same write as the headers. */
        curl_easy_setopt(h->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        curl_easy_setopt(h->easy, CURLOPT_POSTFIELDS, body);
    } else {
        curl_easy_setopt(h->easy, CURLOPT_HTTPGET, 1L);
    }
    return 0;
}

void b2c_http_end(b2c_http *h, CURLcode rc, b2c_http_result *r)
{
    classify(h, rc, h->is_post, r);
    h->active = 0;
    if (h->is_post)
        curl_easy_setopt(h->easy, CURLOPT_POSTFIELDS, NULL);
}

void b2c_http_perform(b2c_http *h, const char *url, const char *authorization,
                      const char *body, size_t body_len, b2c_http_result *r)
{
    if (b2c_http_begin(h, url, authorization, body, body_len, r) == 0)
        b2c_http_end(h, curl_easy_perform(h->easy), r);
}
