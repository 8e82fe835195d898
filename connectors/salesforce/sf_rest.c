/*
 * sf_rest.c - REST calls: the authenticated request (with the one built-in
 * retry after 401 INVALID_SESSION_ID), versions, resources, identity,
 * limits, describe (cached), records, sObject Collections, composite.
 */
#include "sf_int.h"
#include "sfb.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Salesforce API names: letters, digits, underscores (custom ones end in __c). */
static bool api_name_ok(const char *s)
{
    if (!s || !*s || strlen(s) > 120)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return false;
    return true;
}

static int bad_arg(sf_error_t **errp, const char *what, const char *value)
{
    sf_set_err(errp, sf_error_new(SF_ERR_INVALID, 0, NULL, "invalid %s \"%.80s\"", what,
                                  value ? value : "(null)"));
    return -1;
}

/*
 * Authenticated request. `path` is absolute ("http...") or starts with "/".
 * Succeeds for statuses < 400 (so 300 and 304 are the caller's business).
 */
int sf_rest_call(sf_org_t *org, const char *method, const char *path, const json_t *body,
                 const char *if_modified_since, int batch_size, sf_http_resp_t *resp,
                 sf_error_t **errp)
{
    char *body_txt = NULL;
    memset(resp, 0, sizeof(*resp));
    if (body) {
        body_txt = json_dumps(body, JSON_COMPACT);
        if (!body_txt) {
            sf_set_err(errp, sf_error_new(SF_ERR_INVALID, 0, NULL, "request body is not JSON"));
            return -1;
        }
    }
    int ret = sf_rest_call_text(org, method, path, body_txt, body_txt ? strlen(body_txt) : 0,
                                if_modified_since, batch_size, resp, errp);
    free(body_txt);
    return ret;
}

int sf_rest_call_text(sf_org_t *org, const char *method, const char *path, const char *body_txt,
                      size_t body_len, const char *if_modified_since, int batch_size,
                      sf_http_resp_t *resp, sf_error_t **errp)
{
    int ret = -1;
    memset(resp, 0, sizeof(*resp));
    for (int attempt = 0; attempt < 2; attempt++) {
        char *token = NULL, *inst = NULL, *url = NULL;
        uint64_t gen = 0;
        if (sf_auth_get(org, &token, &inst, &gen, errp) != 0)
            goto done;
        size_t n = strlen(inst) + strlen(path) + 2;
        url = malloc(n);
        if (!url) {
            sf_secret_free(token);
            free(inst);
            sf_set_err(errp, sf_error_new(SF_ERR_INTERNAL, 0, NULL, "out of memory"));
            goto done;
        }
        if (strncmp(path, "http", 4) == 0)
            snprintf(url, n, "%s", path);
        else
            snprintf(url, n, "%s%s", inst, path);
        sf_http_req_t req = {.method = method,
                             .url = url,
                             .content_type = body_txt ? "application/json" : NULL,
                             .body = body_txt,
                             .body_len = body_txt ? body_len : 0,
                             .bearer = token,
                             .if_modified_since = if_modified_since,
                             .batch_size = batch_size};
        int rc = sf_http_do(org, &req, resp, errp);
        sf_secret_free(token);
        free(inst);
        free(url);
        if (rc != 0)
            goto done;
        if (resp->status < 400) {
            ret = 0;
            goto done;
        }
        sf_error_t *err = sf_error_from_response(resp->status, resp->body, resp->len);
        if (resp->status == 401 && attempt == 0) {
            /* The one retry the library does itself: the session ended under us. */
            sf_error_destroy(err);
            sf_http_resp_clear(resp);
            sf_auth_drop(org, gen);
            continue;
        }
        if (err && sf_error_retry_class(err) != SF_RETRY_FINAL)
            SFB_DEBUG(org->scope, "%s %s: %s", method, path, err->message);
        sf_set_err(errp, err);
        sf_http_resp_clear(resp);
        goto done;
    }
done:
    return ret;
}

/* Parses a JSON body; *out NULL for an empty body. */
static int parse_body(const sf_http_resp_t *resp, json_t **out, sf_error_t **errp)
{
    json_error_t jerr;
    *out = NULL;
    if (resp->len == 0)
        return 0;
    *out = json_loadb(resp->body, resp->len, JSON_REJECT_DUPLICATES, &jerr);
    if (!*out) {
        sf_set_err(errp,
                   sf_error_new(SF_ERR_PARSE, resp->status, NULL,
                                "response is not JSON (%s at byte %d)", jerr.text, jerr.position));
        return -1;
    }
    return 0;
}

int sf_request(sf_org_t *org, const char *method, const char *path, const json_t *body,
               long *status, json_t **out, sf_error_t **errp)
{
    char *body_txt = NULL;
    if (out)
        *out = NULL;
    if (body && !(body_txt = json_dumps(body, JSON_COMPACT))) {
        sf_set_err(errp, sf_error_new(SF_ERR_INVALID, 0, NULL, "request body is not JSON"));
        return -1;
    }
    int ret = sf_request_text(org, method, path, body_txt, body_txt ? strlen(body_txt) : 0, status,
                              out, errp);
    free(body_txt);
    return ret;
}

int sf_request_text(sf_org_t *org, const char *method, const char *path, const char *body,
                    size_t body_len, long *status, json_t **out, sf_error_t **errp)
{
    sf_http_resp_t resp;
    int ret = -1;
    if (out)
        *out = NULL;
    if (!path || (path[0] != '/' && strncmp(path, "http", 4) != 0))
        return bad_arg(errp, "path", path);
    if (sf_rest_call_text(org, method, path, body, body_len, NULL, 0, &resp, errp) != 0)
        return -1;
    if (status)
        *status = resp.status;
    if (out)
        ret = parse_body(&resp, out, errp);
    else
        ret = 0;
    sf_http_resp_clear(&resp);
    return ret;
}

/* GET returning a JSON value of the expected type. */
static int get_json(sf_org_t *org, const char *path, json_type type, json_t **out,
                    sf_error_t **errp)
{
    long status = 0;
    *out = NULL;
    if (sf_request(org, "GET", path, NULL, &status, out, errp) != 0)
        return -1;
    if (!*out || json_typeof(*out) != type) {
        json_decref(*out);
        *out = NULL;
        sf_set_err(errp,
                   sf_error_new(SF_ERR_PARSE, status, NULL, "GET %s: unexpected answer", path));
        return -1;
    }
    return 0;
}

int sf_versions(sf_org_t *org, json_t **out, sf_error_t **errp)
{
    return get_json(org, "/services/data/", JSON_ARRAY, out, errp);
}

int sf_resources(sf_org_t *org, json_t **out, sf_error_t **errp)
{
    char path[256];
    snprintf(path, sizeof(path), "/services/data/v%s/", org->api_version);
    return get_json(org, path, JSON_OBJECT, out, errp);
}

int sf_limits(sf_org_t *org, json_t **out, sf_error_t **errp)
{
    char path[256];
    snprintf(path, sizeof(path), "/services/data/v%s/limits/", org->api_version);
    return get_json(org, path, JSON_OBJECT, out, errp);
}

int sf_identity(sf_org_t *org, json_t **out, sf_error_t **errp)
{
    char *id = NULL;
    int ret;
    *out = NULL;
    if (sf_org_login(org, errp) != 0)
        return -1;
    id = sf_auth_id_url(org);
    if (!id || strncmp(id, "http", 4) != 0) {
        free(id);
        sf_set_err(errp, sf_error_new(SF_ERR_PARSE, 0, NULL,
                                      "the token response had no identity URL (id)"));
        return -1;
    }
    ret = get_json(org, id, JSON_OBJECT, out, errp);
    free(id);
    return ret;
}

/* Describe and describeGlobal share the cache; describeGlobal's key is "". */
static int describe_cached(sf_org_t *org, const char *key, const char *path, json_t **out,
                           sf_error_t **errp)
{
    sf_describe_entry_t *e;
    char *lm = NULL;
    sf_http_resp_t resp;
    json_t *fresh = NULL;
    int ret = -1;
    *out = NULL;

    pthread_mutex_lock(&org->describe_lock);
    for (e = org->describe_cache; e; e = e->next)
        if (strcmp(e->sobject, key) == 0)
            break;
    if (e)
        lm = sf_strdup(e->last_modified);
    pthread_mutex_unlock(&org->describe_lock);

    if (sf_rest_call(org, "GET", path, NULL, lm, 0, &resp, errp) != 0)
        goto done;
    if (resp.status == 304) {
        pthread_mutex_lock(&org->describe_lock);
        for (e = org->describe_cache; e; e = e->next)
            if (strcmp(e->sobject, key) == 0)
                break;
        if (e)
            *out = json_deep_copy(e->describe);
        pthread_mutex_unlock(&org->describe_lock);
        if (!*out)
            sf_set_err(errp, sf_error_new(SF_ERR_PARSE, 304, NULL,
                                          "304 Not Modified for a describe we do not hold"));
        else
            SFB_DEBUG(org->scope, "describe %s: not modified, from cache", key[0] ? key : "*");
        ret = *out ? 0 : -1;
        goto done;
    }
    if (parse_body(&resp, &fresh, errp) != 0)
        goto done;
    if (!json_is_object(fresh)) {
        sf_set_err(errp, sf_error_new(SF_ERR_PARSE, resp.status, NULL,
                                      "describe answer is not an object"));
        goto done;
    }
    *out = json_deep_copy(fresh);
    if (!*out)
        goto done;
    if (resp.last_modified) {
        pthread_mutex_lock(&org->describe_lock);
        for (e = org->describe_cache; e; e = e->next)
            if (strcmp(e->sobject, key) == 0)
                break;
        if (!e && (e = calloc(1, sizeof(*e))) != NULL) {
            e->sobject = strdup(key);
            e->next = org->describe_cache;
            org->describe_cache = e;
        }
        if (e) {
            free(e->last_modified);
            json_decref(e->describe);
            e->last_modified = resp.last_modified;
            resp.last_modified = NULL;
            e->describe = fresh;
            fresh = NULL;
        }
        pthread_mutex_unlock(&org->describe_lock);
    }
    ret = 0;
done:
    sf_http_resp_clear(&resp);
    json_decref(fresh);
    free(lm);
    return ret;
}

int sf_describe_global(sf_org_t *org, json_t **out, sf_error_t **errp)
{
    char path[256];
    snprintf(path, sizeof(path), "/services/data/v%s/sobjects/", org->api_version);
    return describe_cached(org, "", path, out, errp);
}

int sf_describe(sf_org_t *org, const char *sobject, json_t **out, sf_error_t **errp)
{
    char path[512];
    *out = NULL;
    if (!api_name_ok(sobject))
        return bad_arg(errp, "sobject", sobject);
    snprintf(path, sizeof(path), "/services/data/v%s/sobjects/%s/describe/", org->api_version,
             sobject);
    return describe_cached(org, sobject, path, out, errp);
}

/* ------------------------------------------------------------------ records */

int sf_record_create(sf_org_t *org, const char *sobject, const json_t *fields, char **id,
                     sf_error_t **errp)
{
    char path[512];
    json_t *res = NULL;
    long status = 0;
    int ret = -1;
    *id = NULL;
    if (!api_name_ok(sobject))
        return bad_arg(errp, "sobject", sobject);
    if (!json_is_object(fields))
        return bad_arg(errp, "fields", "(not an object)");
    snprintf(path, sizeof(path), "/services/data/v%s/sobjects/%s/", org->api_version, sobject);
    if (sf_request(org, "POST", path, fields, &status, &res, errp) != 0)
        return -1;
    const char *s = json_string_value(json_object_get(res, "id"));
    if (!s || !json_is_true(json_object_get(res, "success"))) {
        sf_set_err(errp, sf_error_new(SF_ERR_PARSE, status, NULL, "create answer has no id"));
        goto done;
    }
    *id = strdup(s);
    ret = *id ? 0 : -1;
done:
    json_decref(res);
    return ret;
}

static bool id_ok(const char *id)
{
    return api_name_ok(id) && (strlen(id) == 15 || strlen(id) == 18);
}

int sf_record_get(sf_org_t *org, const char *sobject, const char *id, const char *field_list,
                  json_t **out, sf_error_t **errp)
{
    char path[1024];
    *out = NULL;
    if (!api_name_ok(sobject))
        return bad_arg(errp, "sobject", sobject);
    if (!id_ok(id))
        return bad_arg(errp, "record id", id);
    int n = snprintf(path, sizeof(path), "/services/data/v%s/sobjects/%s/%s", org->api_version,
                     sobject, id);
    if (field_list) {
        char *enc = sf_urlencode(field_list);
        if (!enc || (size_t)n + strlen(enc) + 9 >= sizeof(path)) {
            free(enc);
            return bad_arg(errp, "field list", field_list);
        }
        snprintf(path + n, sizeof(path) - (size_t)n, "?fields=%s", enc);
        free(enc);
    }
    return get_json(org, path, JSON_OBJECT, out, errp);
}

int sf_record_update(sf_org_t *org, const char *sobject, const char *id, const json_t *fields,
                     sf_error_t **errp)
{
    char path[512];
    if (!api_name_ok(sobject))
        return bad_arg(errp, "sobject", sobject);
    if (!id_ok(id))
        return bad_arg(errp, "record id", id);
    if (!json_is_object(fields))
        return bad_arg(errp, "fields", "(not an object)");
    snprintf(path, sizeof(path), "/services/data/v%s/sobjects/%s/%s", org->api_version, sobject,
             id);
    return sf_request(org, "PATCH", path, fields, NULL, NULL, errp);
}

int sf_record_delete(sf_org_t *org, const char *sobject, const char *id, sf_error_t **errp)
{
    char path[512];
    if (!api_name_ok(sobject))
        return bad_arg(errp, "sobject", sobject);
    if (!id_ok(id))
        return bad_arg(errp, "record id", id);
    snprintf(path, sizeof(path), "/services/data/v%s/sobjects/%s/%s", org->api_version, sobject,
             id);
    return sf_request(org, "DELETE", path, NULL, NULL, NULL, errp);
}

int sf_record_upsert(sf_org_t *org, const char *sobject, const char *ext_field,
                     const char *ext_value, const json_t *fields, bool *created, char **id,
                     sf_error_t **errp)
{
    char path[1024];
    char *enc = NULL;
    sf_http_resp_t resp;
    json_t *res = NULL;
    int ret = -1;
    *created = false;
    *id = NULL;
    if (!api_name_ok(sobject))
        return bad_arg(errp, "sobject", sobject);
    if (!api_name_ok(ext_field))
        return bad_arg(errp, "external id field", ext_field);
    if (!ext_value || !*ext_value || strlen(ext_value) > 255)
        return bad_arg(errp, "external id value", ext_value);
    if (!json_is_object(fields))
        return bad_arg(errp, "fields", "(not an object)");
    enc = sf_urlencode(ext_value);
    if (!enc) {
        sf_set_err(errp, sf_error_new(SF_ERR_INTERNAL, 0, NULL, "out of memory"));
        return -1;
    }
    snprintf(path, sizeof(path), "/services/data/v%s/sobjects/%s/%s/%s", org->api_version, sobject,
             ext_field, enc);
    free(enc);
    if (sf_rest_call(org, "PATCH", path, fields, NULL, 0, &resp, errp) != 0)
        return -1;
    if (resp.status == 300) {
        sf_set_err(errp, sf_error_new(SF_ERR_SALESFORCE, 300, "MULTIPLE_CHOICES",
                                      "upsert %s.%s: the external id matches several records",
                                      sobject, ext_field));
        goto done;
    }
    if (resp.status == 204) {
        ret = 0; /* updated; Salesforce does not say which id */
        goto done;
    }
    if (parse_body(&resp, &res, errp) != 0)
        goto done;
    const char *s = json_string_value(json_object_get(res, "id"));
    if (!json_is_object(res) || !s) {
        sf_set_err(errp, sf_error_new(SF_ERR_PARSE, resp.status, NULL, "upsert answer has no id"));
        goto done;
    }
    json_t *c = json_object_get(res, "created");
    *created = c ? json_is_true(c) : resp.status == 201;
    *id = strdup(s);
    ret = *id ? 0 : -1;
done:
    json_decref(res);
    sf_http_resp_clear(&resp);
    return ret;
}

/* ------------------------------------------------------------------ collections */

void sf_save_results_destroy(sf_save_result_t *results, size_t cnt)
{
    if (!results)
        return;
    for (size_t i = 0; i < cnt; i++) {
        free(results[i].id);
        sf_error_destroy(results[i].error);
    }
    free(results);
}

int sf_save_results_parse(const json_t *array, sf_save_result_t **results, size_t *cnt,
                          sf_error_t **errp)
{
    sf_save_result_t *res = NULL;
    size_t n;
    *results = NULL;
    *cnt = 0;
    if (!json_is_array(array))
        goto bad;
    n = json_array_size(array);
    res = calloc(n ? n : 1, sizeof(*res));
    if (!res) {
        sf_set_err(errp, sf_error_new(SF_ERR_INTERNAL, 0, NULL, "out of memory"));
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *r = json_array_get(array, i);
        const json_t *success = json_object_get(r, "success");
        const json_t *id = json_object_get(r, "id");
        const json_t *errors = json_object_get(r, "errors");
        if (!json_is_object(r) || !json_is_boolean(success) ||
            (id && !json_is_string(id) && !json_is_null(id)) || (errors && !json_is_array(errors)))
            goto bad;
        res[i].success = json_is_true(success);
        res[i].created = json_is_true(json_object_get(r, "created"));
        res[i].id = sf_strdup(json_string_value(id));
        *cnt = i + 1; /* from here on, the error path frees this record too */
        if (!res[i].success) {
            /* The per-record errors have the same shape as a REST error array. */
            char *txt = errors ? json_dumps(errors, JSON_COMPACT) : NULL;
            sf_error_t *err = txt && json_array_size(errors) > 0
                                  ? sf_error_from_response(0, txt, strlen(txt))
                                  : sf_error_new(SF_ERR_SALESFORCE, 0, "UNKNOWN_ERROR",
                                                 "record %zu failed without an error", i);
            free(txt);
            if (!err || err->kind == SF_ERR_HTTP) {
                sf_error_destroy(err);
                goto bad;
            }
            res[i].error = err;
        }
        *cnt = i + 1;
    }
    *results = res;
    *cnt = n;
    return 0;
bad:
    sf_save_results_destroy(res, *cnt);
    *cnt = 0;
    sf_set_err(errp, sf_error_new(SF_ERR_PARSE, 200, NULL, "unexpected SaveResult array"));
    return -1;
}

/* The answer of a collections call: one SaveResult per record. Takes `res`. */
static int collection_answer(json_t *res, long status, size_t expect, sf_save_result_t **results,
                             size_t *cnt, sf_error_t **errp)
{
    int ret = sf_save_results_parse(res, results, cnt, errp);
    json_decref(res);
    if (ret == 0 && *cnt != expect) {
        sf_set_err(errp, sf_error_new(SF_ERR_PARSE, status, NULL, "%zu results for %zu records",
                                      *cnt, expect));
        sf_save_results_destroy(*results, *cnt);
        *results = NULL;
        *cnt = 0;
        return -1;
    }
    return ret;
}

static int collection_call(sf_org_t *org, const char *method, const char *path, const json_t *body,
                           size_t expect, sf_save_result_t **results, size_t *cnt,
                           sf_error_t **errp)
{
    json_t *res = NULL;
    long status = 0;
    if (sf_request(org, method, path, body, &status, &res, errp) != 0)
        return -1;
    return collection_answer(res, status, expect, results, cnt, errp);
}

int sf_collection_save_text(sf_org_t *org, const char *method, const char *path, const char *body,
                            size_t body_len, size_t record_cnt, sf_save_result_t **results,
                            size_t *cnt, sf_error_t **errp)
{
    json_t *res = NULL;
    long status = 0;
    *results = NULL;
    *cnt = 0;
    if (record_cnt == 0 || record_cnt > SF_COLLECTION_MAX) {
        sf_set_err(errp, sf_error_new(SF_ERR_INVALID, 0, NULL,
                                      "sObject Collections take 1 to %d records, not %zu",
                                      SF_COLLECTION_MAX, record_cnt));
        return -1;
    }
    if (sf_request_text(org, method, path, body, body_len, &status, &res, errp) != 0)
        return -1;
    return collection_answer(res, status, record_cnt, results, cnt, errp);
}

static int records_check(const json_t *records, sf_error_t **errp)
{
    size_t n = json_array_size(records);
    if (!json_is_array(records) || n == 0 || n > SF_COLLECTION_MAX) {
        sf_set_err(errp, sf_error_new(SF_ERR_INVALID, 0, NULL,
                                      "sObject Collections take 1 to %d records, not %zu",
                                      SF_COLLECTION_MAX, n));
        return -1;
    }
    return 0;
}

static int collection_save(sf_org_t *org, const char *method, const char *path,
                           const json_t *records, bool all_or_none, sf_save_result_t **results,
                           size_t *cnt, sf_error_t **errp)
{
    json_t *body;
    int ret;
    *results = NULL;
    *cnt = 0;
    if (records_check(records, errp) != 0)
        return -1;
    body = json_pack("{s:b, s:O}", "allOrNone", all_or_none, "records", records);
    if (!body) {
        sf_set_err(errp, sf_error_new(SF_ERR_INTERNAL, 0, NULL, "out of memory"));
        return -1;
    }
    ret = collection_call(org, method, path, body, json_array_size(records), results, cnt, errp);
    json_decref(body);
    return ret;
}

int sf_collection_create(sf_org_t *org, const json_t *records, bool all_or_none,
                         sf_save_result_t **results, size_t *cnt, sf_error_t **errp)
{
    char path[256];
    snprintf(path, sizeof(path), "/services/data/v%s/composite/sobjects", org->api_version);
    return collection_save(org, "POST", path, records, all_or_none, results, cnt, errp);
}

int sf_collection_update(sf_org_t *org, const json_t *records, bool all_or_none,
                         sf_save_result_t **results, size_t *cnt, sf_error_t **errp)
{
    char path[256];
    snprintf(path, sizeof(path), "/services/data/v%s/composite/sobjects", org->api_version);
    return collection_save(org, "PATCH", path, records, all_or_none, results, cnt, errp);
}

int sf_collection_upsert(sf_org_t *org, const char *sobject, const char *ext_field,
                         const json_t *records, bool all_or_none, sf_save_result_t **results,
                         size_t *cnt, sf_error_t **errp)
{
    char path[512];
    *results = NULL;
    *cnt = 0;
    if (!api_name_ok(sobject))
        return bad_arg(errp, "sobject", sobject);
    if (!api_name_ok(ext_field))
        return bad_arg(errp, "external id field", ext_field);
    snprintf(path, sizeof(path), "/services/data/v%s/composite/sobjects/%s/%s", org->api_version,
             sobject, ext_field);
    return collection_save(org, "PATCH", path, records, all_or_none, results, cnt, errp);
}

int sf_collection_delete(sf_org_t *org, const char *const *ids, size_t id_cnt, bool all_or_none,
                         sf_save_result_t **results, size_t *cnt, sf_error_t **errp)
{
    char *path = NULL;
    size_t cap, o;
    int ret;
    *results = NULL;
    *cnt = 0;
    if (id_cnt == 0 || id_cnt > SF_COLLECTION_MAX) {
        sf_set_err(errp, sf_error_new(SF_ERR_INVALID, 0, NULL,
                                      "sObject Collections delete takes 1 to %d ids, not %zu",
                                      SF_COLLECTION_MAX, id_cnt));
        return -1;
    }
    cap = 128 + id_cnt * 19;
    path = malloc(cap);
    if (!path) {
        sf_set_err(errp, sf_error_new(SF_ERR_INTERNAL, 0, NULL, "out of memory"));
        return -1;
    }
    o = (size_t)snprintf(path, cap, "/services/data/v%s/composite/sobjects?allOrNone=%s&ids=",
                         org->api_version, all_or_none ? "true" : "false");
    for (size_t i = 0; i < id_cnt; i++) {
        if (!id_ok(ids[i])) {
            free(path);
            return bad_arg(errp, "record id", ids[i]);
        }
        o += (size_t)snprintf(path + o, cap - o, "%s%s", i ? "," : "", ids[i]);
    }
    ret = collection_call(org, "DELETE", path, NULL, id_cnt, results, cnt, errp);
    free(path);
    return ret;
}

/* The compositeResponse array of a composite answer (new reference in *out). */
static int composite_answer(const json_t *res, long status, size_t n, json_t **out,
                            sf_error_t **errp)
{
    json_t *arr = json_object_get(res, "compositeResponse");
    if (!json_is_array(arr) || json_array_size(arr) != n) {
        sf_set_err(errp, sf_error_new(SF_ERR_PARSE, status, NULL,
                                      "composite answer lacks one compositeResponse per "
                                      "subrequest"));
        return -1;
    }
    *out = json_incref(arr);
    return 0;
}

static int composite_count_check(size_t n, sf_error_t **errp)
{
    if (n == 0 || n > SF_COMPOSITE_MAX) {
        sf_set_err(errp, sf_error_new(SF_ERR_INVALID, 0, NULL,
                                      "composite takes 1 to %d subrequests, not %zu",
                                      SF_COMPOSITE_MAX, n));
        return -1;
    }
    return 0;
}

int sf_composite(sf_org_t *org, const json_t *subrequests, bool all_or_none, json_t **out,
                 sf_error_t **errp)
{
    char path[256];
    json_t *body = NULL, *res = NULL;
    long status = 0;
    int ret = -1;
    size_t n = json_array_size(subrequests);
    *out = NULL;
    if (composite_count_check(json_is_array(subrequests) ? n : 0, errp) != 0)
        return -1;
    snprintf(path, sizeof(path), "/services/data/v%s/composite", org->api_version);
    body = json_pack("{s:b, s:O}", "allOrNone", all_or_none, "compositeRequest", subrequests);
    if (!body) {
        sf_set_err(errp, sf_error_new(SF_ERR_INTERNAL, 0, NULL, "out of memory"));
        return -1;
    }
    if (sf_request(org, "POST", path, body, &status, &res, errp) == 0)
        ret = composite_answer(res, status, n, out, errp);
    json_decref(body);
    json_decref(res);
    return ret;
}

int sf_composite_text(sf_org_t *org, const char *body, size_t body_len, size_t subrequest_cnt,
                      json_t **out, sf_error_t **errp)
{
    char path[256];
    json_t *res = NULL;
    long status = 0;
    int ret = -1;
    *out = NULL;
    if (composite_count_check(subrequest_cnt, errp) != 0)
        return -1;
    snprintf(path, sizeof(path), "/services/data/v%s/composite", org->api_version);
    if (sf_request_text(org, "POST", path, body, body_len, &status, &res, errp) == 0)
        ret = composite_answer(res, status, subrequest_cnt, out, errp);
    json_decref(res);
    return ret;
}
