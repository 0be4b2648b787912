/* The floor for `make bench`: the requests b2c makes for sequential sends,
 * made with libcurl directly and nothing else. One reused easy handle
 * (keep-alive), the same options and headers as csrc/http.c, a GET for the
 * token once, then N POSTs of a body of the same size as b2c's. Only the N
 * POSTs are timed: wall time (CLOCK_MONOTONIC) and this process's CPU time
 * (getrusage, user + system).
 *
 *   raw_libcurl BASE_URL N BODY_FILE USER_AGENT [CA_FILE]
 *
 * Prints "key value" lines: sends, wall, cpu (seconds), failed. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <curl/curl.h>

typedef struct buf {
    char *data;
    size_t len, cap;
} buf;

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    buf *b = (buf *)ud;
    size_t n = size * nmemb;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *p = (char *)realloc(b->data, cap);
        if (p == NULL)
            return 0;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data;
    long n;
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
        return NULL;
    data = (char *)malloc((size_t)n + 1);
    if (data == NULL || fread(data, 1, (size_t)n, f) != (size_t)n)
        return NULL;
    fclose(f);
    data[n] = '\0';
    *len = (size_t)n;
    return data;
}

int main(int argc, char **argv)
{
    const char *base, *agent, *ca_file;
    char url[512], auth[2300];
    char *body, *tok, *end;
    size_t body_len;
    long i, n, failed = 0, status = 0;
    buf response = {NULL, 0, 0};
    struct curl_slist *headers = NULL;
    double wall0, cpu0;
    CURL *e;
    CURLcode rc;

    if (argc < 5) {
        fprintf(stderr, "usage: raw_libcurl BASE_URL N BODY_FILE USER_AGENT [CA_FILE]\n");
        return 2;
    }
    base = argv[1];
    n = strtol(argv[2], NULL, 10);
    agent = argv[4];
    ca_file = argc > 5 ? argv[5] : NULL;
    if ((body = read_file(argv[3], &body_len)) == NULL) {
        fprintf(stderr, "raw_libcurl: cannot read %s\n", argv[3]);
        return 2;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || (e = curl_easy_init()) == NULL)
        return 2;

    /* The options b2c_http_open sets. */
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, agent);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (ca_file != NULL)
        curl_easy_setopt(e, CURLOPT_CAINFO, ca_file);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &response);

    /* The token, once (Basic auth as Daraja wants it; the canned server
     * does not check it). */
    snprintf(url, sizeof url, "%s/oauth/v1/generate?grant_type=client_credentials", base);
    headers = curl_slist_append(headers, "Accept: application/json");
    headers = curl_slist_append(headers, "Authorization: Basic YmVuY2gta2V5OmJlbmNoLXNlY3JldA==");
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    rc = curl_easy_perform(e);
    tok = response.data != NULL ? strstr(response.data, "\"access_token\":\"") : NULL;
    if (rc != CURLE_OK || tok == NULL || (end = strchr(tok + 16, '"')) == NULL) {
        fprintf(stderr, "raw_libcurl: token fetch failed: %s\n", curl_easy_strerror(rc));
        return 1;
    }
    snprintf(auth, sizeof auth, "Authorization: Bearer %.*s", (int)(end - tok - 16), tok + 16);
    curl_slist_free_all(headers);

    /* The POSTs: the headers b2c_http_begin adds, the body as-is. */
    headers = NULL;
    headers = curl_slist_append(headers, "Accept: application/json");
    headers = curl_slist_append(headers, "Expect:");
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, auth);
    snprintf(url, sizeof url, "%s/mpesa/b2c/v3/paymentrequest", base);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);

    wall0 = now();
    cpu0 = cpu();
    for (i = 0; i < n; i++) {
        response.len = 0;
        rc = curl_easy_perform(e);
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        if (rc != CURLE_OK || status != 200 || response.len == 0 ||
            strstr(response.data, "\"ResponseCode\":\"0\"") == NULL)
            failed++;
    }
    printf("sends %ld\nwall %.6f\ncpu %.6f\nfailed %ld\n", n, now() - wall0, cpu() - cpu0, failed);

    curl_slist_free_all(headers);
    curl_easy_cleanup(e);
    free(response.data);
    free(body);
    return failed == 0 ? 0 : 1;
}
