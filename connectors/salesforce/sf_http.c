/*
 * sf_http.c - the HTTP layer on libcurl.
 *
 * Per org: a pool of easy handles (each keeps its connections alive between
 * requests; a thread takes one for the duration of a request) plus a curl
 * share of DNS, TLS sessions and the connection cache, so any handle can
 * reuse a connection another opened. Bodies are bounded: the write callback
 * refuses to grow past max_body_bytes, which aborts the transfer.
 */
#include "sf_int.h"
#include "sfb.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void share_lock(CURL *handle, curl_lock_data data, curl_lock_access access, void *userp)
{
    sf_org_t *org = userp;
    pthread_mutex_lock(&org->share_locks[data]);
}

static void share_unlock(CURL *handle, curl_lock_data data, void *userp)
{
    sf_org_t *org = userp;
    pthread_mutex_unlock(&org->share_locks[data]);
}

int sf_http_init(sf_org_t *org, char *errstr, size_t errstr_size)
{
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&org->share_locks[i], NULL);
    pthread_mutex_init(&org->pool_lock, NULL);
    org->share = curl_share_init();
    if (!org->share) {
        snprintf(errstr, errstr_size, "curl_share_init failed");
        return -1;
    }
    curl_share_setopt(org->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(org->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(org->share, CURLSHOPT_USERDATA, org);
    curl_share_setopt(org->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(org->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_share_setopt(org->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    return 0;
}

void sf_http_fini(sf_org_t *org)
{
    sf_conn_t *c = org->idle;
    while (c) {
        sf_conn_t *next = c->next;
        curl_easy_cleanup(c->curl);
        free(c);
        c = next;
    }
    org->idle = NULL;
    if (org->share)
        curl_share_cleanup(org->share);
    org->share = NULL;
    pthread_mutex_destroy(&org->pool_lock);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&org->share_locks[i]);
}

static sf_conn_t *conn_take(sf_org_t *org)
{
    sf_conn_t *c;
    pthread_mutex_lock(&org->pool_lock);
    c = org->idle;
    if (c)
        org->idle = c->next;
    pthread_mutex_unlock(&org->pool_lock);
    if (c)
        return c;
    c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->curl = curl_easy_init();
    if (!c->curl) {
        free(c);
        return NULL;
    }
    return c;
}

static void conn_give(sf_org_t *org, sf_conn_t *c)
{
    pthread_mutex_lock(&org->pool_lock);
    c->next = org->idle;
    org->idle = c;
    pthread_mutex_unlock(&org->pool_lock);
}

char *sf_urlencode(const char *s)
{
    char *tmp = curl_easy_escape(NULL, s ? s : "", 0);
    char *out = sf_strdup(tmp);
    curl_free(tmp);
    return out;
}

int sf_limit_info_parse(const char *value, long *used, long *max)
{
    const char *p = value;
    while (p && (p = strstr(p, "api-usage=")) != NULL) {
        /* "per-app-api-usage=" also contains the token: want a word boundary. */
        if (p != value && (isalnum((unsigned char)p[-1]) || p[-1] == '-')) {
            p++;
            continue;
        }
        char *end = NULL;
        long u = strtol(p + 10, &end, 10);
        if (end == p + 10 || *end != '/' || u < 0)
            return -1;
        const char *q = end + 1;
        long m = strtol(q, &end, 10);
        if (end == q || m < 0)
            return -1;
        *used = u;
        *max = m;
        return 0;
    }
    return -1;
}

typedef struct {
    sf_org_t *org;
    sf_http_resp_t *resp;
    size_t cap;
    size_t max;
    bool too_large;
} xfer_t;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userp)
{
    xfer_t *x = userp;
    size_t n = size * nmemb;
    if (x->resp->len + n > x->max) {
        x->too_large = true;
        return 0; /* aborts with CURLE_WRITE_ERROR; nothing more is allocated */
    }
    if (x->resp->len + n + 1 > x->cap) {
        size_t cap = x->cap ? x->cap : 16384;
        while (cap < x->resp->len + n + 1)
            cap *= 2;
        if (cap > x->max + 1)
            cap = x->max + 1;
        char *b = realloc(x->resp->body, cap);
        if (!b)
            return 0;
        x->resp->body = b;
        x->cap = cap;
    }
    memcpy(x->resp->body + x->resp->len, ptr, n);
    x->resp->len += n;
    x->resp->body[x->resp->len] = '\0';
    return n;
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *userp)
{
    xfer_t *x = userp;
    size_t n = size * nitems;
    char line[512];
    size_t l = n < sizeof(line) - 1 ? n : sizeof(line) - 1;
    memcpy(line, buf, l);
    line[l] = '\0';
    while (l > 0 && (line[l - 1] == '\r' || line[l - 1] == '\n'))
        line[--l] = '\0';
    if (strncasecmp(line, "HTTP/", 5) == 0) {
        /* A new response (after a 100 or a redirect): forget the last one's headers. */
        free(x->resp->last_modified);
        x->resp->last_modified = NULL;
    } else if (strncasecmp(line, "Sforce-Limit-Info:", 18) == 0) {
        long used, max;
        if (sf_limit_info_parse(line + 18, &used, &max) == 0) {
            pthread_mutex_lock(&x->org->usage_lock);
            x->org->usage.used = used;
            x->org->usage.max = max;
            x->org->usage.updated_ms = sf_now_ms();
            pthread_mutex_unlock(&x->org->usage_lock);
        }
    } else if (strncasecmp(line, "Last-Modified:", 14) == 0) {
        const char *v = line + 14;
        while (*v == ' ')
            v++;
        free(x->resp->last_modified);
        x->resp->last_modified = strdup(v);
    } else if (strncasecmp(line, "Content-Length:", 15) == 0) {
        /* Refuse early; the write callback is the real guard (gzip, chunked). */
        unsigned long long cl = strtoull(line + 15, NULL, 10);
        if (cl > x->max) {
            x->too_large = true;
            return 0;
        }
    }
    return n;
}

void sf_http_resp_clear(sf_http_resp_t *resp)
{
    free(resp->body);
    free(resp->last_modified);
    memset(resp, 0, sizeof(*resp));
}

int sf_http_do(sf_org_t *org, const sf_http_req_t *req, sf_http_resp_t *resp, sf_error_t **errp)
{
    struct curl_slist *hdrs = NULL;
    char hbuf[4096];
    char errbuf[CURL_ERROR_SIZE] = "";
    xfer_t x = {.org = org, .resp = resp, .max = org->max_body_bytes};
    sf_conn_t *c = conn_take(org);
    CURLcode rc;
    int ret = -1;

    memset(resp, 0, sizeof(*resp));
    if (!c) {
        sf_set_err(errp, sf_error_new(SF_ERR_INTERNAL, 0, NULL, "cannot create a curl handle"));
        return -1;
    }
    CURL *curl = c->curl;
    curl_easy_reset(curl); /* keeps live connections, DNS and session caches */

    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    if (req->bearer) {
        snprintf(hbuf, sizeof(hbuf), "Authorization: Bearer %s", req->bearer);
        hdrs = curl_slist_append(hdrs, hbuf);
        memset(hbuf, 0, sizeof(hbuf));
    }
    if (req->content_type) {
        snprintf(hbuf, sizeof(hbuf), "Content-Type: %s", req->content_type);
        hdrs = curl_slist_append(hdrs, hbuf);
    }
    if (req->if_modified_since) {
        snprintf(hbuf, sizeof(hbuf), "If-Modified-Since: %s", req->if_modified_since);
        hdrs = curl_slist_append(hdrs, hbuf);
    }
    if (req->batch_size > 0) {
        snprintf(hbuf, sizeof(hbuf), "Sforce-Query-Options: batchSize=%d", req->batch_size);
        hdrs = curl_slist_append(hdrs, hbuf);
    }
    hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
    if (!hdrs) {
        sf_set_err(errp, sf_error_new(SF_ERR_INTERNAL, 0, NULL, "out of memory"));
        goto done;
    }

    curl_easy_setopt(curl, CURLOPT_URL, req->url);
    curl_easy_setopt(curl, CURLOPT_SHARE, org->share);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "gzip");
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, org->connect_timeout_ms);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, org->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, org->tls_verify ? 1L : 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, org->tls_verify ? 2L : 0L);
    if (org->ca_file)
        curl_easy_setopt(curl, CURLOPT_CAINFO, org->ca_file);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "sfbridge/" SFBRIDGE_VERSION);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &x);
    if (strcmp(req->method, "GET") != 0) {
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method);
        if (req->body) {
            curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body);
            curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        } else if (strcmp(req->method, "DELETE") != 0) {
            curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
            curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
        }
    }

    SFB_DEBUG(org->scope, "%s %s", req->method, req->url);
    rc = curl_easy_perform(curl);
    if (x.too_large) {
        sf_set_err(errp, sf_error_new(SF_ERR_TOO_LARGE, 0, NULL,
                                      "response of %s %s is larger than max_body_bytes (%zu)",
                                      req->method, req->url, org->max_body_bytes));
        goto done;
    }
    if (rc != CURLE_OK) {
        sf_set_err(errp, sf_error_new(SF_ERR_TRANSPORT, 0, NULL, "%s %s: %s", req->method, req->url,
                                      errbuf[0] ? errbuf : curl_easy_strerror(rc)));
        goto done;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
    if (!resp->body) {
        resp->body = strdup("");
        if (!resp->body) {
            sf_set_err(errp, sf_error_new(SF_ERR_INTERNAL, 0, NULL, "out of memory"));
            goto done;
        }
    }
    SFB_DEBUG(org->scope, "%s %s -> %ld (%zu bytes)", req->method, req->url, resp->status,
              resp->len);
    ret = 0;
done:
    /* Detach our stack objects before the handle goes back to the pool. */
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(hdrs);
    conn_give(org, c);
    if (ret != 0)
        sf_http_resp_clear(resp);
    return ret;
}
