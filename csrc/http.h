/* One keep-alive HTTP connection per client, on a reused libcurl easy
 * handle. Pure C: no Lua. */
#ifndef B2C_HTTP_H
#define B2C_HTTP_H

#include <stddef.h>

#include <curl/curl.h>

#include "crypto.h"
#include "secret.h"

/* The sockets libcurl opened for one client's handles: after fork() the
 * child closes its copies of them (close() only: no TLS close_notify, no
 * shutdown, so the parent's connections live on). */
typedef struct b2c_sockets {
    curl_socket_t *fds;
    size_t count, cap;
} b2c_sockets;

typedef struct b2c_http_config {
    const char *base_url;   /* https://host[:port]; http only for loopback hosts */
    const char *user_agent;
    const char *ca_file;    /* NULL: the system trust store */
    long timeout_ms;
    long connect_timeout_ms;
    size_t max_response;    /* larger bodies are refused */
    const char *proxy;      /* NULL: none (proxy variables of the environment are
                             * ignored); else http://host:port, for https only */
    b2c_sockets *sockets;   /* where this handle's sockets are recorded, or NULL */
} b2c_http_config;

typedef struct b2c_http {
    CURL *easy;
    b2c_buf response;       /* body of the last response; may hold a token */
    size_t max_response;
    int too_large;
    struct curl_slist *headers; /* of the last request, kept for the next one
                                 * (one line is a credential: wiped when
                                 * replaced and on close) */
    int headers_post;           /* headers has Content-Type (made for a POST) */
    int active;                 /* between begin and end */
    int is_post;
    int attempts;           /* times libcurl was about to send this request */
    char errbuf[CURL_ERROR_SIZE];
} b2c_http;

typedef enum b2c_outcome {
    B2C_RESPONSE = 0,   /* a complete response: status and body */
    B2C_UNSENT,         /* failed before any request byte left */
    B2C_AMBIGUOUS,      /* sent (perhaps in part), no complete response */
    B2C_TOO_LARGE,      /* the response exceeded max_response */
    B2C_BAD_ANSWER      /* a response the caller could not use (see message) */
} b2c_outcome;

typedef struct b2c_http_result {
    b2c_outcome outcome;
    long status;        /* HTTP status, when a response started */
    int retryable;      /* for B2C_UNSENT: worth trying again later */
    int timed_out;
    int curl_code;
    char message[B2C_MSG_SIZE + CURL_ERROR_SIZE];
} b2c_http_result;

/* Once per process; returns 0 or -1. Skipped when the host owns libcurl. */
int b2c_http_global_init(void);

/* Checks a baseUrl: 0, or -1 with a message naming the rule. */
int b2c_http_check_base_url(const char *url, char msg[B2C_MSG_SIZE]);

/* Checks a proxy setting for a baseUrl: 0, or -1 with a message. */
int b2c_http_check_proxy(const char *proxy, const char *base_url, char msg[B2C_MSG_SIZE]);

/* 0 on success; -1 with a message naming the problem. */
int b2c_http_open(b2c_http *h, const b2c_http_config *c, char msg[B2C_MSG_SIZE]);
void b2c_http_close(b2c_http *h);

/* In a child after fork(): forgets the easy handle without a libcurl call
 * (a cleanup would shut down the parent's TLS session, or wait for a
 * resolver thread that exists only in the parent: the handle's memory is
 * left behind on purpose), and wipes and frees what is only memory. */
void b2c_http_abandon(b2c_http *h);

/* In a child after fork(): close() of every recorded socket. */
void b2c_sockets_drop(b2c_sockets *s);
void b2c_sockets_free(b2c_sockets *s);

/* GET when body is NULL, else POST of body as JSON. authorization is the
 * whole header value ("Bearer ...", "Basic ..."), wiped after use.
 * A POST is sent at most once: when a reused connection dies without an
 * answer, libcurl would send the request again on a fresh one; a
 * pre-request callback refuses that (the replay would be a second payout)
 * and the outcome is B2C_AMBIGUOUS. */
void b2c_http_perform(b2c_http *h, const char *url, const char *authorization,
                      const char *body, size_t body_len, b2c_http_result *r);

/* The two halves of b2c_http_perform, for a transfer driven by a multi
 * handle: begin sets the request up (0, or -1 with r filled); end reads
 * the outcome once libcurl reports rc. body must stay valid until end. */
int b2c_http_begin(b2c_http *h, const char *url, const char *authorization, const char *body,
                   size_t body_len, b2c_http_result *r);
void b2c_http_end(b2c_http *h, CURLcode rc, b2c_http_result *r);

#endif
