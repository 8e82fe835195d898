/*
 * sf_query.c - query and queryAll as an iterator over rows.
 *
 * Holds one page (at most batchSize rows, bounded by max_body_bytes) at a
 * time: when the page is used up, the next one is fetched from
 * nextRecordsUrl and the old one is freed. Owned by one thread.
 */
#include "sf_int.h"
#include "sfb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sf_query_s {
    sf_org_t *org;
    int batch_size;
    json_t *page;    /* current page (owned) */
    json_t *records; /* borrowed from page */
    size_t next;     /* index of the next row in records */
    char *next_url;  /* NULL when done */
    long total_size;
    long pages;
};

int sf_query_page_parse(const json_t *page, json_t **records, bool *done, const char **next_url,
                        long *total_size, sf_error_t **errp)
{
    const json_t *recs = json_object_get(page, "records");
    const json_t *d = json_object_get(page, "done");
    const json_t *next = json_object_get(page, "nextRecordsUrl");
    const json_t *total = json_object_get(page, "totalSize");
    const char *why = NULL;
    if (!json_is_object(page))
        why = "not an object";
    else if (!json_is_array(recs))
        why = "no records array";
    else if (!json_is_boolean(d))
        why = "no done flag";
    else if (!json_is_integer(total) || json_integer_value(total) < 0)
        why = "no totalSize";
    else if (!json_is_true(d) && (!json_is_string(next) || json_string_value(next)[0] != '/'))
        why = "done is false but nextRecordsUrl is not a path";
    if (why) {
        sf_set_err(errp, sf_error_new(SF_ERR_PARSE, 200, NULL, "query page: %s", why));
        return -1;
    }
    *records = (json_t *)recs;
    *done = json_is_true(d);
    *next_url = *done ? NULL : json_string_value(next);
    *total_size = (long)json_integer_value(total);
    return 0;
}

/* Fetches one page from `path` and makes it current. */
static int query_fetch(sf_query_t *q, const char *path, sf_error_t **errp)
{
    sf_http_resp_t resp;
    json_t *page = NULL, *records = NULL;
    json_error_t jerr;
    const char *next = NULL;
    bool done = true;
    long total = 0;
    int ret = -1;

    if (sf_rest_call(q->org, "GET", path, NULL, NULL, q->batch_size, &resp, errp) != 0)
        return -1;
    page = json_loadb(resp.body, resp.len, JSON_REJECT_DUPLICATES, &jerr);
    if (!page) {
        sf_set_err(errp, sf_error_new(SF_ERR_PARSE, resp.status, NULL,
                                      "query page is not JSON (%s at byte %d)", jerr.text,
                                      jerr.position));
        goto done;
    }
    if (sf_query_page_parse(page, &records, &done, &next, &total, errp) != 0)
        goto done;
    char *next_copy = sf_strdup(next);
    if (next && !next_copy) {
        sf_set_err(errp, sf_error_new(SF_ERR_INTERNAL, 0, NULL, "out of memory"));
        goto done;
    }
    json_decref(q->page);
    free(q->next_url);
    q->page = page;
    page = NULL;
    q->records = records;
    q->next = 0;
    q->next_url = next_copy;
    q->total_size = total;
    q->pages++;
    SFB_DEBUG(q->org->scope, "query page %ld: %zu rows of %ld%s", q->pages,
              json_array_size(records), total, done ? " (last)" : "");
    ret = 0;
done:
    json_decref(page);
    sf_http_resp_clear(&resp);
    return ret;
}

sf_query_t *sf_query_start(sf_org_t *org, const char *soql, bool query_all, int batch_size,
                           sf_error_t **errp)
{
    sf_query_t *q = NULL;
    char *enc = NULL, *path = NULL;
    if (!soql || !*soql) {
        sf_set_err(errp, sf_error_new(SF_ERR_INVALID, 0, NULL, "empty SOQL query"));
        return NULL;
    }
    if (batch_size != 0 && (batch_size < 200 || batch_size > 2000)) {
        sf_set_err(errp, sf_error_new(SF_ERR_INVALID, 0, NULL,
                                      "query batch size must be 200..2000, not %d", batch_size));
        return NULL;
    }
    q = calloc(1, sizeof(*q));
    enc = sf_urlencode(soql);
    if (!q || !enc)
        goto oom;
    size_t n = strlen(enc) + 64;
    path = malloc(n);
    if (!path)
        goto oom;
    snprintf(path, n, "/services/data/v%s/%s?q=%s", org->api_version,
             query_all ? "queryAll" : "query", enc);
    q->org = org;
    q->batch_size = batch_size;
    if (query_fetch(q, path, errp) != 0) {
        sf_query_destroy(q);
        q = NULL;
    }
    free(enc);
    free(path);
    return q;
oom:
    sf_set_err(errp, sf_error_new(SF_ERR_INTERNAL, 0, NULL, "out of memory"));
    free(q);
    free(enc);
    free(path);
    return NULL;
}

int sf_query_next(sf_query_t *q, json_t **row, sf_error_t **errp)
{
    *row = NULL;
    /* Empty intermediate pages are legal: keep following the locator. */
    while (q->next >= json_array_size(q->records)) {
        if (!q->next_url)
            return 0;
        char *url = q->next_url;
        q->next_url = NULL;
        int rc = query_fetch(q, url, errp);
        if (rc != 0) {
            q->next_url = url; /* the caller may retry the same page */
            return -1;
        }
        free(url);
    }
    *row = json_array_get(q->records, q->next++);
    return 1;
}

long sf_query_total_size(const sf_query_t *q)
{
    return q->total_size;
}

long sf_query_pages(const sf_query_t *q)
{
    return q->pages;
}

void sf_query_destroy(sf_query_t *q)
{
    if (!q)
        return;
    json_decref(q->page);
    free(q->next_url);
    free(q);
}
