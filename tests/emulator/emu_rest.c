/*
 * emu_rest.c - REST resources: the versions list, the resource map of a
 * version, describeGlobal, sObject basic info and describe, and the record
 * resources (create, read, update, delete, upsert and read by external id,
 * platform-event publish).
 */
#define _XOPEN_SOURCE 700 /* strptime */
#include "emu_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void emu_rest_versions(emu_t *emu, emu_resp_t *resp)
{
    static const char *const season[] = {"Winter", "Spring", "Summer"};
    json_t *list = json_array();
    for (int v = EMU_API_MIN_VERSION; v <= EMU_API_MAX_VERSION; v++) {
        /* v20.0 was Winter '11; three releases a year since. */
        int k = v - 20;
        char label[32], url[64], version[16];
        snprintf(label, sizeof(label), "%s '%02d", season[k % 3], 11 + k / 3);
        snprintf(url, sizeof(url), "/services/data/v%d.0", v);
        snprintf(version, sizeof(version), "%d.0", v);
        json_array_append_new(
            list, json_pack("{s:s,s:s,s:s}", "label", label, "url", url, "version", version));
    }
    emu_resp_json(resp, 200, list);
}

void emu_rest_resources(emu_t *emu, const char *version, const emu_session_info_t *sess,
                        emu_resp_t *resp)
{
    static const char *const names[] = {"sobjects", "query", "queryAll", "composite", "limits"};
    json_t *map = json_object();
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        json_object_set_new(map, names[i],
                            json_sprintf("/services/data/v%s/%s", version, names[i]));
    json_object_set_new(map, "identity",
                        json_sprintf("%s/id/%s/%s", emu->base_url,
                                     sess->org_id[0] ? sess->org_id : emu->org_id, sess->user_id));
    emu_resp_json(resp, 200, map);
}

/* If-Modified-Since "EEE, dd MMM yyyy HH:mm:ss z" -> time_t, 0 if absent/bad. */
static time_t emu_parse_http_date(const char *s)
{
    if (!s)
        return 0;
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = strptime(s, "%a, %d %b %Y %H:%M:%S", &tm);
    if (!end)
        return 0;
    return timegm(&tm);
}

static time_t emu_parse_iso(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm))
        return 0;
    return timegm(&tm);
}

static bool emu_not_modified(emu_t *emu, const emu_req_t *req, emu_resp_t *resp)
{
    time_t ims = emu_parse_http_date(req->if_modified_since);
    resp->last_modified = emu->schema->mtime;
    if (ims && ims >= emu->schema->mtime) {
        resp->status = 304;
        return true;
    }
    return false;
}

static void emu_rest_save_errors(emu_resp_t *resp, const json_t *errors)
{
    const char *code = json_string_value(json_object_get(json_array_get(errors, 0), "statusCode"));
    emu_resp_json(resp, emu_dml_status(code), emu_dml_top_errors(errors));
}

/* Parses the request body as a JSON object, or answers JSON_PARSER_ERROR. */
static json_t *emu_rest_body(const emu_req_t *req, emu_resp_t *resp)
{
    if (req->body_len == 0) {
        emu_resp_error(resp, 400, "JSON_PARSER_ERROR", NULL,
                       "The HTTP entity body is required, but this request has no entity body.");
        return NULL;
    }
    json_error_t jerr;
    json_t *body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!body) {
        emu_resp_error(resp, 400, "JSON_PARSER_ERROR", NULL, "%s at [line:%d, column:%d]",
                       jerr.text, jerr.line, jerr.column);
        return NULL;
    }
    if (!json_is_object(body)) {
        emu_resp_error(resp, 400, "JSON_PARSER_ERROR", NULL,
                       "Cannot deserialize instance of SObject from %s value or request may be "
                       "missing a required field at [line:1, column:1]",
                       json_is_array(body) ? "START_ARRAY" : "VALUE_STRING");
        json_decref(body);
        return NULL;
    }
    return body;
}

static void emu_rest_create(emu_t *emu, const emu_req_t *req, const emu_session_info_t *sess,
                            const emu_sobject_t *so, const char *version, emu_resp_t *resp)
{
    json_t *body = emu_rest_body(req, resp);
    if (!body)
        return;
    json_t *errors = json_array();
    char id[19];
    emu_dml_ctx_t ctx = {.emu = emu, .sess = sess, .txn = req->txn};
    emu_store_wrlock(emu->store);
    int rc = emu_dml_create(&ctx, so, body, id, errors);
    emu_store_unlock(emu->store);
    if (rc != 0) {
        emu_rest_save_errors(resp, errors);
    } else {
        emu_resp_json(resp, 201, json_pack("{s:s,s:b,s:[]}", "id", id, "success", 1, "errors"));
        char loc[256];
        snprintf(loc, sizeof(loc), "/services/data/v%s/sobjects/%s/%s", version, so->name, id);
        resp->location = strdup(loc);
    }
    json_decref(errors);
    json_decref(body);
}

static void emu_rest_basic_info(emu_t *emu, const emu_sobject_t *so, const char *version,
                                emu_resp_t *resp)
{
    json_t *info = json_deep_copy(so->global_entry);
    json_object_set_new(info, "urls", emu_schema_urls(so, version, false));
    json_t *recent = json_array();
    emu_store_rdlock(emu->store);
    size_t n;
    json_t *const *rows = emu_store_rows(emu->store, so, &n);
    for (size_t i = n; i-- > 0 && json_array_size(recent) < 25;) {
        if (json_is_true(json_object_get(rows[i], "IsDeleted")) || so->is_event)
            continue;
        const char *id = json_string_value(json_object_get(rows[i], "Id"));
        json_t *item = json_pack(
            "{s:{s:s,s:o},s:s}", "attributes", "type", so->name, "url",
            json_sprintf("/services/data/v%s/sobjects/%s/%s", version, so->name, id), "Id", id);
        json_t *name = json_object_get(rows[i], "Name");
        if (name)
            json_object_set(item, "Name", name);
        json_array_append_new(recent, item);
    }
    emu_store_unlock(emu->store);
    emu_resp_json(resp, 200, json_pack("{s:o,s:o}", "objectDescribe", info, "recentItems", recent));
}

static void emu_rest_get_record(emu_t *emu, const emu_req_t *req, const emu_sobject_t *so,
                                json_t *rec, const char *version, emu_resp_t *resp)
{
    char fields[4096] = "", bad[256] = "";
    emu_query_param(req->query, "fields", fields, sizeof(fields));
    json_t *view = emu_record_view(so, rec, version, fields, bad, sizeof(bad));
    if (!view) {
        emu_resp_error(resp, 400, "INVALID_FIELD", NULL,
                       "No such column '%s' on entity '%s'. If you are attempting to use a custom "
                       "field, be sure to append the '__c' after the custom field name. Please "
                       "reference your WSDL or the describe call for the appropriate names.",
                       bad, so->name);
        return;
    }
    resp->last_modified =
        emu_parse_iso(json_string_value(json_object_get(rec, "LastModifiedDate")));
    emu_resp_json(resp, 200, view);
}

/* /sobjects/{X}/{field}/{value}: read, upsert or delete by external id. */
static void emu_rest_by_extid(emu_t *emu, const emu_req_t *req, const emu_session_info_t *sess,
                              const emu_sobject_t *so, const char *field, const char *value,
                              const char *version, emu_resp_t *resp)
{
    const emu_field_t *f = emu_schema_field(so, field);
    if (!f || !(f->external_id || !strcmp(f->name, "Id"))) {
        emu_resp_error(resp, 404, "NOT_FOUND", NULL,
                       "Provided external ID field does not exist or is not accessible: %s", field);
        return;
    }
    const char *m = req->method;
    int major = atoi(version);
    if (!strcmp(m, "PATCH")) {
        json_t *body = emu_rest_body(req, resp);
        if (!body)
            return;
        json_t *errors = json_array(), *matches = json_array();
        char id[19] = "";
        bool created = false;
        emu_dml_ctx_t ctx = {.emu = emu, .sess = sess, .txn = req->txn};
        emu_store_wrlock(emu->store);
        int rc = emu_dml_upsert(&ctx, so, f, value, body, id, &created, errors, matches);
        emu_store_unlock(emu->store);
        if (rc != 0 && json_array_size(matches) > 1) {
            json_t *urls = json_array();
            size_t i;
            json_t *mid;
            json_array_foreach(matches, i, mid) json_array_append_new(
                urls, json_sprintf("/services/data/v%s/sobjects/%s/%s", version, so->name,
                                   json_string_value(mid)));
            emu_resp_json(resp, 300, urls);
        } else if (rc != 0) {
            emu_rest_save_errors(resp, errors);
        } else if (!created && major < 46) {
            resp->status = 204;
        } else {
            json_t *out = json_pack("{s:s,s:b,s:[]}", "id", id, "success", 1, "errors");
            if (major >= 46)
                json_object_set_new(out, "created", json_boolean(created));
            emu_resp_json(resp, created ? 201 : 200, out);
        }
        json_decref(errors);
        json_decref(matches);
        json_decref(body);
        return;
    }
    if (strcmp(m, "GET") && strcmp(m, "HEAD") && strcmp(m, "DELETE")) {
        emu_resp_error(resp, 405, "METHOD_NOT_ALLOWED", NULL,
                       "HTTP Method '%s' not allowed. Allowed are HEAD,GET,PATCH,DELETE", m);
        return;
    }
    json_t *hits[16];
    size_t n;
    if (!strcmp(m, "DELETE"))
        emu_store_wrlock(emu->store);
    else
        emu_store_rdlock(emu->store);
    if (!strcmp(f->name, "Id")) {
        char id[19];
        json_t *rec = emu_id_normalize(value, id) == 0 ? emu_store_get(emu->store, id) : NULL;
        n = rec && !json_is_true(json_object_get(rec, "IsDeleted")) &&
                    emu_store_type_of(emu->store, rec) == so
                ? 1
                : 0;
        hits[0] = rec;
    } else {
        n = emu_store_find(emu->store, so, f, value, hits, 16);
    }
    if (n == 0) {
        emu_resp_error(resp, 404, "NOT_FOUND", NULL, "The requested resource does not exist");
    } else if (n > 1) {
        json_t *urls = json_array();
        for (size_t i = 0; i < n && i < 16; i++)
            json_array_append_new(
                urls, json_sprintf("/services/data/v%s/sobjects/%s/%s", version, so->name,
                                   json_string_value(json_object_get(hits[i], "Id"))));
        emu_resp_json(resp, 300, urls);
    } else if (!strcmp(m, "DELETE")) {
        json_t *errors = json_array();
        emu_dml_ctx_t ctx = {.emu = emu, .sess = sess, .txn = req->txn};
        if (emu_dml_delete(&ctx, json_string_value(json_object_get(hits[0], "Id")), errors) != 0)
            emu_rest_save_errors(resp, errors);
        else
            resp->status = 204;
        json_decref(errors);
    } else {
        emu_rest_get_record(emu, req, so, hits[0], version, resp);
    }
    emu_store_unlock(emu->store);
}

static void emu_rest_record(emu_t *emu, const emu_req_t *req, const emu_session_info_t *sess,
                            const emu_sobject_t *so, const char *id_in, const char *version,
                            emu_resp_t *resp)
{
    const char *m = req->method;
    char id[19];
    if (emu_id_normalize(id_in, id) != 0) {
        /* Salesforce reads a non-id here as an external-id field name. */
        emu_resp_error(resp, 404, "NOT_FOUND", NULL,
                       "Provided external ID field does not exist or is not accessible: %s", id_in);
        return;
    }
    if (!emu_id_has_prefix(id, so->key_prefix)) {
        emu_resp_error(resp, 400, "MALFORMED_ID", "Id", "%s ID: id value of incorrect type: %s",
                       so->name, id_in);
        return;
    }
    if (!strcmp(m, "GET") || !strcmp(m, "HEAD")) {
        emu_store_rdlock(emu->store);
        json_t *rec = emu_store_get(emu->store, id);
        if (!rec || json_is_true(json_object_get(rec, "IsDeleted")))
            emu_resp_error(resp, 404, "NOT_FOUND", NULL, "The requested resource does not exist");
        else
            emu_rest_get_record(emu, req, so, rec, version, resp);
        emu_store_unlock(emu->store);
        return;
    }
    if (strcmp(m, "PATCH") && strcmp(m, "DELETE")) {
        emu_resp_error(resp, 405, "METHOD_NOT_ALLOWED", NULL,
                       "HTTP Method '%s' not allowed. Allowed are HEAD,GET,PATCH,DELETE", m);
        return;
    }
    json_t *body = NULL;
    if (!strcmp(m, "PATCH") && !(body = emu_rest_body(req, resp)))
        return;
    json_t *errors = json_array();
    emu_dml_ctx_t ctx = {.emu = emu, .sess = sess, .txn = req->txn};
    emu_store_wrlock(emu->store);
    int rc = body ? emu_dml_update(&ctx, so, id, body, errors) : emu_dml_delete(&ctx, id, errors);
    emu_store_unlock(emu->store);
    if (rc != 0)
        emu_rest_save_errors(resp, errors);
    else
        resp->status = 204;
    json_decref(errors);
    json_decref(body);
}

void emu_rest_sobjects(emu_t *emu, const emu_req_t *req, const emu_session_info_t *sess,
                       const char *version, const char *rest, emu_resp_t *resp)
{
    const char *m = req->method;
    if (*rest == '\0') {
        if (strcmp(m, "GET") && strcmp(m, "HEAD")) {
            emu_resp_error(resp, 405, "METHOD_NOT_ALLOWED", NULL,
                           "HTTP Method '%s' not allowed. Allowed are HEAD,GET", m);
            return;
        }
        if (emu_not_modified(emu, req, resp))
            return;
        emu_resp_json(resp, 200, emu_schema_describe_global(emu->schema, version));
        return;
    }
    char buf[2048];
    snprintf(buf, sizeof(buf), "%s", rest);
    char *segs[4] = {0};
    int nseg = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, "/", &save); t && nseg < 4; t = strtok_r(NULL, "/", &save))
        segs[nseg++] = t;
    const emu_sobject_t *so = emu_schema_find(emu->schema, segs[0]);
    if (!so || nseg > 3) {
        emu_resp_error(resp, 404, "NOT_FOUND", NULL, "The requested resource does not exist");
        return;
    }
    if (nseg == 1) {
        if (!strcmp(m, "POST"))
            return emu_rest_create(emu, req, sess, so, version, resp);
        if (!strcmp(m, "GET") || !strcmp(m, "HEAD"))
            return emu_rest_basic_info(emu, so, version, resp);
        emu_resp_error(resp, 405, "METHOD_NOT_ALLOWED", NULL,
                       "HTTP Method '%s' not allowed. Allowed are HEAD,GET,POST", m);
        return;
    }
    if (nseg == 2 && !strcmp(segs[1], "describe")) {
        if (strcmp(m, "GET") && strcmp(m, "HEAD")) {
            emu_resp_error(resp, 405, "METHOD_NOT_ALLOWED", NULL,
                           "HTTP Method '%s' not allowed. Allowed are HEAD,GET", m);
            return;
        }
        if (emu_not_modified(emu, req, resp))
            return;
        emu_resp_json(resp, 200, emu_schema_describe(so, version));
        return;
    }
    if (so->is_event) {
        emu_resp_error(resp, 404, "NOT_FOUND", NULL, "The requested resource does not exist");
        return;
    }
    if (nseg == 3)
        return emu_rest_by_extid(emu, req, sess, so, segs[1], segs[2], version, resp);
    emu_rest_record(emu, req, sess, so, segs[1], version, resp);
}
