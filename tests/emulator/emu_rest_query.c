/*
 * emu_rest_query.c - /query and /queryAll over the SOQL module, with paging.
 *
 * A query runs to completion under the store's read lock; the rows beyond the
 * first batch wait under a query locator ("01g..."), served page by page at
 * nextRecordsUrl "/services/data/vXX.X/query/<locator>-<offset>". At most
 * EMU_MAX_LOCATORS are kept (oldest dropped first, as Salesforce expires old
 * cursors); the last page frees its locator.
 */
#define _GNU_SOURCE /* strcasestr */
#include "emu_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define EMU_MAX_LOCATORS 100

void emu_rest_locators_clear(emu_t *emu)
{
    pthread_mutex_lock(&emu->lock);
    json_object_clear(emu->locators);
    json_array_clear(emu->locator_order);
    pthread_mutex_unlock(&emu->lock);
}

static int emu_batch_size(const emu_req_t *req, int dflt)
{
    const char *opt = req->query_options ? strcasestr(req->query_options, "batchSize=") : NULL;
    if (!opt)
        return dflt;
    int n = atoi(opt + 10);
    if (n < 200)
        n = 200;
    if (n > 2000)
        n = 2000;
    return n;
}

/* Builds one page of rows [offset, offset+batch); keeps the rest under a locator. */
static json_t *emu_query_page(emu_t *emu, const char *version, const char *locator, json_t *rows,
                              size_t total, size_t offset, int batch)
{
    size_t n = json_array_size(rows);
    json_t *records = json_array();
    for (size_t i = offset; i < n && i < offset + (size_t)batch; i++)
        json_array_append(records, json_array_get(rows, i));
    size_t next = offset + (size_t)batch;
    json_t *page = json_pack("{s:I,s:b}", "totalSize", (json_int_t)total, "done", next >= n);
    if (next < n) {
        char loc[19];
        pthread_mutex_lock(&emu->lock);
        if (!locator) {
            emu_id_make("01g", ++emu->locator_seq, loc);
            json_object_set_new(emu->locators, loc,
                                json_pack("{s:O,s:I,s:i}", "rows", rows, "total", (json_int_t)total,
                                          "batch", batch));
            json_array_append_new(emu->locator_order, json_string(loc));
            while (json_array_size(emu->locator_order) > EMU_MAX_LOCATORS) {
                json_object_del(emu->locators,
                                json_string_value(json_array_get(emu->locator_order, 0)));
                json_array_remove(emu->locator_order, 0);
            }
            locator = loc;
        }
        pthread_mutex_unlock(&emu->lock);
        json_object_set_new(
            page, "nextRecordsUrl",
            json_sprintf("/services/data/v%s/query/%s-%zu", version, locator, next));
    } else if (locator) {
        pthread_mutex_lock(&emu->lock);
        json_object_del(emu->locators, locator);
        for (size_t i = 0; i < json_array_size(emu->locator_order); i++)
            if (!strcmp(json_string_value(json_array_get(emu->locator_order, i)), locator)) {
                json_array_remove(emu->locator_order, i);
                break;
            }
        pthread_mutex_unlock(&emu->lock);
    }
    json_object_set_new(page, "records", records);
    return page;
}

static void emu_query_next_page(emu_t *emu, const emu_req_t *req, const char *version,
                                const char *rest, emu_resp_t *resp)
{
    char loc[64];
    snprintf(loc, sizeof(loc), "%s", rest);
    char *dash = strchr(loc, '-');
    char *end = NULL;
    long offset = dash ? strtol(dash + 1, &end, 10) : -1;
    if (dash)
        *dash = '\0';
    json_t *rows = NULL;
    json_int_t total = 0;
    int batch = 2000;
    pthread_mutex_lock(&emu->lock);
    json_t *entry = json_object_get(emu->locators, loc);
    if (entry && offset >= 0 && end && *end == '\0') {
        rows = json_incref(json_object_get(entry, "rows"));
        total = json_integer_value(json_object_get(entry, "total"));
        batch = (int)json_integer_value(json_object_get(entry, "batch"));
    }
    pthread_mutex_unlock(&emu->lock);
    if (!rows || (size_t)offset > json_array_size(rows)) {
        emu_resp_error(resp, 400, "INVALID_QUERY_LOCATOR", NULL, "invalid query locator");
        json_decref(rows);
        return;
    }
    batch = emu_batch_size(req, batch);
    emu_resp_json(resp, 200,
                  emu_query_page(emu, version, loc, rows, (size_t)total, (size_t)offset, batch));
    json_decref(rows);
}

#ifdef EMU_HAVE_SOQL
typedef struct emu_query_src {
    emu_t *emu;
    json_t *const *rows;
    size_t n, i;
} emu_query_src_t;

static const json_t *emu_query_schema_cb(void *ctx, const char *name)
{
    const emu_sobject_t *so = emu_schema_find(((emu_t *)ctx)->schema, name);
    return so ? so->def : NULL;
}

static const json_t *emu_query_next(void *ctx)
{
    emu_query_src_t *src = ctx;
    return src->i < src->n ? src->rows[src->i++] : NULL;
}

static const json_t *emu_query_by_id(void *ctx, const char *id)
{
    emu_query_src_t *src = ctx;
    char id18[19];
    if (emu_id_normalize(id, id18) != 0)
        return NULL;
    return emu_store_get(src->emu->store, id18);
}
#endif

void emu_rest_query(emu_t *emu, const emu_req_t *req, const char *version, const char *rest,
                    bool all, emu_resp_t *resp)
{
    if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD")) {
        emu_resp_error(resp, 405, "METHOD_NOT_ALLOWED", NULL,
                       "HTTP Method '%s' not allowed. Allowed are HEAD,GET", req->method);
        return;
    }
    if (*rest)
        return emu_query_next_page(emu, req, version, rest, resp);
    size_t qcap = strlen(req->query) + 1;
    char *text = malloc(qcap);
    if (!text)
        return emu_resp_error(resp, 500, "UNKNOWN_EXCEPTION", NULL, "out of memory");
    if (!emu_query_param(req->query, "q", text, qcap) || !*text) {
        free(text);
        emu_resp_error(resp, 400, "MALFORMED_QUERY", NULL, "A query string has to be specified");
        return;
    }
#ifdef EMU_HAVE_SOQL
    char code[64] = "", msg[2048] = "";
    emu_soql_schema_t schema = {.sobject = emu_query_schema_cb, .ctx = emu};
    emu_soql_t *q = emu_soql_prepare(text, &schema, code, sizeof(code), msg, sizeof(msg));
    free(text);
    if (!q) {
        emu_resp_error(resp, 400, code[0] ? code : "MALFORMED_QUERY", NULL, "%s", msg);
        return;
    }
    const emu_sobject_t *so = emu_schema_find(emu->schema, emu_soql_from(q));
    if (!so || !so->queryable) {
        emu_soql_destroy(q);
        emu_resp_error(resp, 400, "INVALID_TYPE", NULL, "sObject type '%s' is not supported.",
                       so ? so->name : "?");
        return;
    }
    size_t total = 0;
    emu_store_rdlock(emu->store);
    emu_query_src_t src = {.emu = emu};
    src.rows = emu_store_rows(emu->store, so, &src.n);
    emu_soql_source_t source = {.next = emu_query_next, .by_id = emu_query_by_id, .ctx = &src};
    json_t *rows =
        emu_soql_execute(q, &source, all, version, &total, code, sizeof(code), msg, sizeof(msg));
    emu_store_unlock(emu->store);
    emu_soql_destroy(q);
    if (!rows) {
        emu_resp_error(resp, 400, code[0] ? code : "UNKNOWN_EXCEPTION", NULL, "%s", msg);
        return;
    }
    if (json_array_size(rows) > total)
        total = json_array_size(rows);
    emu_resp_json(resp, 200,
                  emu_query_page(emu, version, NULL, rows, total, 0, emu_batch_size(req, 2000)));
    json_decref(rows);
#else
    free(text);
    emu_resp_error(resp, 501, "NOT_IMPLEMENTED", NULL,
                   "sfemu was built without its SOQL module (emu_soql.h)");
#endif
}
