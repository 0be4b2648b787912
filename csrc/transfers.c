#include "transfers.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ensure_multi(b2c_transfers *t)
{
    if (t->multi == NULL)
        t->multi = curl_multi_init();
    return t->multi != NULL ? 0 : -1;
}

int b2c_transfers_reserve(b2c_transfers *t, const b2c_http_config *c, char msg[B2C_MSG_SIZE])
{
    size_t i;
    b2c_transfer *tr, **grown;
    if (ensure_multi(t) < 0) {
        snprintf(msg, B2C_MSG_SIZE, "libcurl multi handle could not be created");
        return 0;
    }
    for (i = 0; i < t->count; i++)
        if (t->slots[i]->state == B2C_FREE) {
            if (t->slots[i]->http.easy == NULL && b2c_http_open(&t->slots[i]->http, c, msg) < 0)
                return 0; /* abandoned after fork(): a new handle */
            return (int)i + 1;
        }
    if (t->count >= 1 << 20) {
        snprintf(msg, B2C_MSG_SIZE, "too many transfers in flight");
        return 0;
    }
    tr = (b2c_transfer *)calloc(1, sizeof *tr);
    grown = (b2c_transfer **)realloc(t->slots, (t->count + 1) * sizeof *grown);
    if (tr == NULL || grown == NULL) {
        free(tr);
        if (grown != NULL)
            t->slots = grown;
        snprintf(msg, B2C_MSG_SIZE, "out of memory");
        return 0;
    }
    t->slots = grown;
    if (b2c_http_open(&tr->http, c, msg) < 0) {
        free(tr);
        return 0;
    }
    t->slots[t->count++] = tr;
    return (int)t->count;
}

b2c_transfer *b2c_transfers_get(b2c_transfers *t, int id)
{
    if (id < 1 || (size_t)id > t->count)
        return NULL;
    return t->slots[id - 1];
}

int b2c_transfers_start(b2c_transfers *t, b2c_transfer *tr)
{
    if (curl_multi_add_handle(t->multi, tr->http.easy) != CURLM_OK)
        return -1;
    tr->state = B2C_RUNNING;
    return 0;
}

static void collect(b2c_transfers *t)
{
    CURLMsg *m;
    int left;
    size_t i;
    while ((m = curl_multi_info_read(t->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        for (i = 0; i < t->count; i++) {
            b2c_transfer *tr = t->slots[i];
            if (tr->state == B2C_RUNNING && tr->http.easy == m->easy_handle) {
                tr->rc = m->data.result;
                tr->state = B2C_DONE;
                curl_multi_remove_handle(t->multi, tr->http.easy);
                break;
            }
        }
    }
}

int b2c_transfers_step(b2c_transfers *t, long timeout_ms)
{
    int running = 0;
    if (t->multi == NULL)
        return 0;
    curl_multi_perform(t->multi, &running);
    if (running > 0 && timeout_ms > 0) {
        curl_multi_poll(t->multi, NULL, 0, timeout_ms > INT_MAX ? INT_MAX : (int)timeout_ms, NULL);
        curl_multi_perform(t->multi, &running);
    }
    collect(t);
    return running;
}

void b2c_transfers_release(b2c_transfers *t, b2c_transfer *tr)
{
    if (tr->state == B2C_RUNNING)
        curl_multi_remove_handle(t->multi, tr->http.easy);
    if (tr->http.active) {
        b2c_http_result ignored;
        b2c_http_end(&tr->http, CURLE_ABORTED_BY_CALLBACK, &ignored);
    }
    b2c_buf_clear(&tr->body);
    b2c_buf_clear(&tr->http.response);
    b2c_secret_free(tr->token);
    tr->token = NULL;
    tr->state = B2C_FREE;
    tr->is_token = 0;
    tr->settled = tr->ok = 0;
}

void b2c_transfers_close(b2c_transfers *t)
{
    size_t i;
    for (i = 0; i < t->count; i++) {
        b2c_transfers_release(t, t->slots[i]);
        b2c_http_close(&t->slots[i]->http);
        b2c_buf_free(&t->slots[i]->body);
        free(t->slots[i]);
    }
    free(t->slots);
    t->slots = NULL;
    t->count = 0;
    if (t->multi != NULL) {
        curl_multi_cleanup(t->multi);
        t->multi = NULL;
    }
}

void b2c_transfers_abandon(b2c_transfers *t)
{
    size_t i;
    for (i = 0; i < t->count; i++) {
        b2c_transfer *tr = t->slots[i];
        b2c_http_abandon(&tr->http);
        if (tr->state == B2C_FREE)
            continue;
        tr->state = B2C_DONE;
        tr->settled = 1;
        tr->ok = 0;
        memset(&tr->result, 0, sizeof tr->result);
        /* A request may have left (the parent goes on with it): ambiguous.
         * A token fetch moves no money: not sent from here. */
        tr->result.outcome = tr->is_token ? B2C_UNSENT : B2C_AMBIGUOUS;
        tr->result.retryable = tr->is_token;
        snprintf(tr->result.message, sizeof tr->result.message,
                 "started by the parent process before fork(); its answer goes there");
    }
    t->multi = NULL;
}
