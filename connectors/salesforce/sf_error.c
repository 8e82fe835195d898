/* sf_error.c - typed errors, parsing of Salesforce error bodies, the one classifier. */
#include "sf_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

char *sf_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

int64_t sf_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

sf_error_t *sf_error_new(sf_error_kind_t kind, long status, const char *code, const char *fmt, ...)
{
    sf_error_t *err = calloc(1, sizeof(*err));
    char buf[1024];
    va_list ap;
    if (!err)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    err->kind = kind;
    err->http_status = status;
    err->code = sf_strdup(code);
    err->message = strdup(buf);
    return err;
}

void sf_set_err(sf_error_t **errp, sf_error_t *err)
{
    if (errp && !*errp)
        *errp = err;
    else
        sf_error_destroy(err);
}

void sf_error_destroy(sf_error_t *err)
{
    if (!err)
        return;
    for (size_t i = 0; i < err->item_cnt; i++) {
        free(err->items[i].code);
        free(err->items[i].message);
        for (size_t f = 0; f < err->items[i].field_cnt; f++)
            free(err->items[i].fields[f]);
        free(err->items[i].fields);
    }
    free(err->items);
    free(err->code);
    free(err->message);
    free(err);
}

const char *sf_error_kind_name(sf_error_kind_t kind)
{
    switch (kind) {
    case SF_ERR_NONE:
        return "none";
    case SF_ERR_TRANSPORT:
        return "transport";
    case SF_ERR_HTTP:
        return "http";
    case SF_ERR_SALESFORCE:
        return "salesforce";
    case SF_ERR_AUTH:
        return "auth";
    case SF_ERR_LIMIT:
        return "limit";
    case SF_ERR_PARSE:
        return "parse";
    case SF_ERR_TOO_LARGE:
        return "too_large";
    case SF_ERR_INVALID:
        return "invalid";
    case SF_ERR_STORE:
        return "store";
    case SF_ERR_INTERNAL:
        return "internal";
    case SF_ERR_REPLAY_INVALID:
        return "replay_invalid";
    }
    return "unknown";
}

const char *sf_retry_class_name(sf_retry_class_t rc)
{
    switch (rc) {
    case SF_RETRY_NONE:
        return "none";
    case SF_RETRY:
        return "retry";
    case SF_RETRY_REFRESH_AUTH:
        return "refresh_auth";
    case SF_RETRY_PAUSE_ORG:
        return "pause_org";
    case SF_RETRY_FINAL:
        return "final";
    }
    return "unknown";
}

/* Codes that say "the record is fine, the moment was not". */
static bool code_is_transient(const char *code)
{
    static const char *const transient[] = {
        "UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "PROCESSING_HALTED",  "QUERY_TIMEOUT",
    };
    if (!code)
        return false;
    for (size_t i = 0; i < sizeof(transient) / sizeof(transient[0]); i++)
        if (strcmp(code, transient[i]) == 0)
            return true;
    return false;
}

sf_retry_class_t sf_error_retry_class(const sf_error_t *err)
{
    if (!err || err->kind == SF_ERR_NONE)
        return SF_RETRY_NONE;
    switch (err->kind) {
    case SF_ERR_TRANSPORT:
        return SF_RETRY;
    case SF_ERR_LIMIT:
        return SF_RETRY_PAUSE_ORG;
    case SF_ERR_AUTH:
        return err->auth_final ? SF_RETRY_PAUSE_ORG : SF_RETRY;
    case SF_ERR_HTTP:
    case SF_ERR_SALESFORCE:
        break;
    default:
        return SF_RETRY_FINAL;
    }
    if (err->code && strcmp(err->code, "REQUEST_LIMIT_EXCEEDED") == 0)
        return SF_RETRY_PAUSE_ORG;
    if (err->http_status == 401 || (err->code && strcmp(err->code, "INVALID_SESSION_ID") == 0))
        return SF_RETRY_REFRESH_AUTH;
    if (err->http_status == 408 || err->http_status == 429 || err->http_status >= 500)
        return SF_RETRY;
    /* Every item must be transient: one field error makes the whole thing final. */
    if (err->item_cnt > 0) {
        for (size_t i = 0; i < err->item_cnt; i++)
            if (!code_is_transient(err->items[i].code))
                return SF_RETRY_FINAL;
        return SF_RETRY;
    }
    return code_is_transient(err->code) ? SF_RETRY : SF_RETRY_FINAL;
}

/* Appends one {"errorCode"|"statusCode","message","fields"} object. Returns -1 if not one. */
static int item_add(sf_error_t *err, const json_t *obj)
{
    const json_t *code = json_object_get(obj, "errorCode");
    const json_t *msg = json_object_get(obj, "message");
    const json_t *fields = json_object_get(obj, "fields");
    sf_error_item_t *items, *it;
    if (!json_is_string(code))
        code = json_object_get(obj, "statusCode");
    if (!json_is_object(obj) || !json_is_string(code) || (msg && !json_is_string(msg)))
        return -1;
    items = realloc(err->items, (err->item_cnt + 1) * sizeof(*items));
    if (!items)
        return -1;
    err->items = items;
    it = &items[err->item_cnt];
    memset(it, 0, sizeof(*it));
    it->code = strdup(json_string_value(code));
    it->message = strdup(msg ? json_string_value(msg) : "");
    err->item_cnt++;
    if (json_is_array(fields) && json_array_size(fields) > 0) {
        size_t n = json_array_size(fields);
        it->fields = calloc(n, sizeof(char *));
        for (size_t i = 0; it->fields && i < n; i++) {
            const char *f = json_string_value(json_array_get(fields, i));
            if (f)
                it->fields[it->field_cnt++] = strdup(f);
        }
    }
    return (it->code && it->message) ? 0 : -1;
}

/* Fills items from an array (or a single object) of error objects. */
static int items_from_json(sf_error_t *err, const json_t *root)
{
    if (json_is_object(root))
        return item_add(err, root);
    if (!json_is_array(root) || json_array_size(root) == 0)
        return -1;
    for (size_t i = 0; i < json_array_size(root); i++)
        if (item_add(err, json_array_get(root, i)) != 0)
            return -1;
    return 0;
}

static void item_summary(const sf_error_t *err, char *buf, size_t size)
{
    const sf_error_item_t *it = &err->items[0];
    size_t o = (size_t)snprintf(buf, size, "%s: %s", it->code, it->message);
    for (size_t f = 0; f < it->field_cnt && o < size; f++)
        o += (size_t)snprintf(buf + o, size - o, "%s%s", f == 0 ? " (fields: " : ", ",
                              it->fields[f]);
    if (it->field_cnt && o < size)
        snprintf(buf + o, size - o, ")");
    if (err->item_cnt > 1 && o < size) {
        o = strlen(buf);
        snprintf(buf + o, size - o, " and %zu more", err->item_cnt - 1);
    }
}

sf_error_t *sf_error_from_response(long http_status, const char *body, size_t len)
{
    sf_error_t *err = calloc(1, sizeof(*err));
    json_t *root = NULL;
    char msg[768];
    if (!err)
        return NULL;
    err->http_status = http_status;
    if (body && len > 0)
        root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);

    if (json_is_object(root) && json_is_string(json_object_get(root, "error"))) {
        /* OAuth: {"error":"invalid_grant","error_description":"..."} */
        const char *desc = json_string_value(json_object_get(root, "error_description"));
        err->kind = SF_ERR_AUTH;
        err->code = strdup(json_string_value(json_object_get(root, "error")));
        snprintf(msg, sizeof(msg), "%s: %s", err->code ? err->code : "?", desc ? desc : "");
    } else if (root && items_from_json(err, root) == 0) {
        err->code = strdup(err->items[0].code);
        err->kind = strcmp(err->items[0].code, "REQUEST_LIMIT_EXCEEDED") == 0 ? SF_ERR_LIMIT
                                                                              : SF_ERR_SALESFORCE;
        item_summary(err, msg, sizeof(msg));
    } else {
        /* Not a Salesforce error body: keep the status, drop half-parsed items. */
        for (size_t i = 0; i < err->item_cnt; i++) {
            free(err->items[i].code);
            free(err->items[i].message);
            for (size_t f = 0; f < err->items[i].field_cnt; f++)
                free(err->items[i].fields[f]);
            free(err->items[i].fields);
        }
        free(err->items);
        err->items = NULL;
        err->item_cnt = 0;
        err->kind = SF_ERR_HTTP;
        snprintf(msg, sizeof(msg), "HTTP %ld%s", http_status,
                 root ? " with an unexpected body" : (len ? " with a non-JSON body" : ""));
    }
    err->message = strdup(msg);
    json_decref(root);
    if (!err->message) {
        sf_error_destroy(err);
        return NULL;
    }
    return err;
}
