/*
 * emu_composite.c - /composite (up to 25 subrequests run in order, with
 * @{referenceId.path} references and allOrNone), /composite/batch (up to 25
 * independent subrequests, haltOnError) and /composite/tree/{X} (nested
 * records created all-or-nothing).
 *
 * Subrequests go through emu_route_api() like top-level calls but are not
 * counted again: the composite call counts one. allOrNone is an undo journal
 * (emu_txn_t): the changes of earlier subrequests are visible to other
 * clients until the rollback, a weaker isolation than Salesforce's.
 */
#include "emu_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char emu_halted[] =
    "The transaction was rolled back since another operation in the same transaction failed.";

/* Follows "records[0].Id" inside a JSON value. Borrowed result or NULL. */
static json_t *emu_json_path(json_t *v, const char *path)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", path);
    char *p = buf;
    while (v && *p) {
        if (*p == '.') {
            p++;
            continue;
        }
        if (*p == '[') {
            long idx = strtol(p + 1, &p, 10);
            if (*p != ']')
                return NULL;
            p++;
            v = json_array_get(v, (size_t)idx);
            continue;
        }
        size_t n = strcspn(p, ".[");
        char key[256];
        snprintf(key, sizeof(key), "%.*s", (int)n, p);
        v = json_object_get(v, key);
        p += n;
    }
    return v;
}

/* Resolves "@{ref.path}" inside a string. Returns a new string JSON value, or
 * the referenced value itself when the string is exactly one reference;
 * NULL (with the reference in bad) when a reference cannot be resolved. */
static json_t *emu_resolve_string(const char *s, json_t *refs, char *bad, size_t bad_size)
{
    const char *start = strstr(s, "@{");
    if (!start)
        return json_string(s);
    char out[8192];
    size_t o = 0;
    const char *p = s;
    while ((start = strstr(p, "@{")) != NULL) {
        const char *end = strchr(start, '}');
        if (!end)
            break;
        char expr[512];
        snprintf(expr, sizeof(expr), "%.*s", (int)(end - start - 2), start + 2);
        size_t rn = strcspn(expr, ".[");
        char ref[256];
        snprintf(ref, sizeof(ref), "%.*s", (int)rn, expr);
        json_t *v = emu_json_path(json_object_get(refs, ref), expr + rn);
        if (!v || json_is_null(v) || json_is_object(v) || json_is_array(v)) {
            snprintf(bad, bad_size, "%s", expr);
            return NULL;
        }
        if (start == s && end[1] == '\0')
            return json_incref(v);
        o += (size_t)snprintf(out + o, o < sizeof(out) ? sizeof(out) - o : 0, "%.*s",
                              (int)(start - p), p);
        if (json_is_string(v))
            o += (size_t)snprintf(out + o, o < sizeof(out) ? sizeof(out) - o : 0, "%s",
                                  json_string_value(v));
        else {
            char *txt = json_dumps(v, JSON_ENCODE_ANY);
            o += (size_t)snprintf(out + o, o < sizeof(out) ? sizeof(out) - o : 0, "%s",
                                  txt ? txt : "");
            free(txt);
        }
        p = end + 1;
    }
    snprintf(out + (o < sizeof(out) ? o : sizeof(out) - 1), o < sizeof(out) ? sizeof(out) - o : 1,
             "%s", p);
    return json_string(out);
}

static json_t *emu_resolve(const json_t *v, json_t *refs, char *bad, size_t bad_size)
{
    if (json_is_string(v))
        return emu_resolve_string(json_string_value(v), refs, bad, bad_size);
    if (json_is_object(v)) {
        json_t *out = json_object();
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x)
        {
            json_t *r = emu_resolve(x, refs, bad, bad_size);
            if (!r) {
                json_decref(out);
                return NULL;
            }
            json_object_set_new(out, k, r);
        }
        return out;
    }
    if (json_is_array(v)) {
        json_t *out = json_array();
        size_t i;
        json_t *x;
        json_array_foreach((json_t *)v, i, x)
        {
            json_t *r = emu_resolve(x, refs, bad, bad_size);
            if (!r) {
                json_decref(out);
                return NULL;
            }
            json_array_append_new(out, r);
        }
        return out;
    }
    return json_deep_copy(v);
}

/* Runs one subrequest given its full URL ("/services/data/v62.0/..."). */
static void emu_sub_run(emu_t *emu, const emu_session_info_t *sess, const char *method,
                        const char *url, const json_t *body, emu_txn_t *txn, emu_resp_t *resp)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s", url);
    char *q = strchr(path, '?');
    if (q)
        *q++ = '\0';
    emu_route_url_decode(path, false);
    char *text =
        body && !json_is_null(body) ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    emu_req_t sub = {.method = method,
                     .path = path,
                     .query = q ? q : "",
                     .body = text ? text : "",
                     .body_len = text ? strlen(text) : 0,
                     .txn = txn};
    resp->status = 200;
    int major = 0;
    const char *rest = NULL;
    if (!strncmp(path, "/services/data/v", 16)) {
        const char *p = path + 16;
        while (isdigit((unsigned char)*p))
            major = major * 10 + (*p++ - '0');
        if (!strncmp(p, ".0", 2) && (p[2] == '/' || p[2] == '\0'))
            rest = p[2] ? p + 3 : p + 2;
    }
    if (!rest || major < EMU_API_MIN_VERSION || major > EMU_API_MAX_VERSION) {
        emu_resp_error(resp, 404, "NOT_FOUND", NULL, "The requested resource does not exist");
    } else {
        char version[16];
        snprintf(version, sizeof(version), "%d.0", major);
        emu_route_api(emu, &sub, sess, version, rest, resp);
    }
    free(text);
}

static bool emu_sub_failed(const emu_resp_t *r)
{
    if (r->status >= 400)
        return true;
    /* A collections call fails inside a 200 when a record does. */
    if (json_is_array(r->json)) {
        size_t i;
        json_t *v;
        json_array_foreach(r->json, i,
                           v) if (json_is_false(json_object_get(v, "success"))) return true;
    }
    return false;
}

static json_t *emu_sub_headers(const emu_resp_t *r)
{
    json_t *h = json_object();
    if (r->location)
        json_object_set_new(h, "Location", json_string(r->location));
    return h;
}

static void emu_composite_main(emu_t *emu, const emu_req_t *req, const emu_session_info_t *sess,
                               emu_resp_t *resp)
{
    json_error_t jerr;
    json_t *body = json_loadb(req->body, req->body_len, 0, &jerr);
    json_t *subs = json_object_get(body, "compositeRequest");
    json_t *refs = json_object();
    json_t *out = json_array();
    emu_txn_t *txn = NULL;
    if (!body || !json_is_array(subs) || json_array_size(subs) == 0) {
        emu_resp_error(resp, 400, "JSON_PARSER_ERROR", NULL, "%s",
                       body ? "compositeRequest must be a non-empty array" : jerr.text);
        goto done;
    }
    if (json_array_size(subs) > EMU_MAX_COMPOSITE) {
        emu_resp_error(resp, 400, "LIMIT_EXCEEDED", NULL,
                       "Composite request size limit exceeded: at most %d subrequests",
                       EMU_MAX_COMPOSITE);
        goto done;
    }
    /* Structural checks come first: nothing runs if one subrequest is malformed. */
    size_t i;
    json_t *sub;
    json_array_foreach(subs, i, sub)
    {
        const char *ref = json_string_value(json_object_get(sub, "referenceId"));
        const char *method = json_string_value(json_object_get(sub, "method"));
        const char *url = json_string_value(json_object_get(sub, "url"));
        bool ref_ok = ref && *ref && isalpha((unsigned char)*ref);
        for (const char *p = ref; ref_ok && *p; p++)
            ref_ok = isalnum((unsigned char)*p) || *p == '_';
        if (!ref_ok || !method || !url) {
            emu_resp_error(resp, 400, "JSON_PARSER_ERROR", NULL,
                           "Subrequest %zu needs method, url and a referenceId made of letters, "
                           "digits and underscores starting with a letter",
                           i);
            goto done;
        }
        if (json_object_get(refs, ref)) {
            emu_resp_error(resp, 400, "JSON_PARSER_ERROR", NULL,
                           "Duplicate referenceId provided in the request: %s", ref);
            goto done;
        }
        json_object_set_new(refs, ref, json_null());
        json_t *h = json_object_get(sub, "httpHeaders");
        const char *k;
        json_t *hv;
        json_object_foreach(h, k, hv)
        {
            if (!strcasecmp(k, "Accept") || !strcasecmp(k, "Authorization") ||
                !strcasecmp(k, "Content-Type")) {
                emu_resp_error(resp, 400, "INVALID_HEADER_TYPE", NULL,
                               "Subrequest %s may not set the %s header", ref, k);
                goto done;
            }
        }
    }
    /* At most 5 of the 25 may be sObject Collections or query operations. */
    size_t heavy = 0;
    json_array_foreach(subs, i, sub)
    {
        const char *url = json_string_value(json_object_get(sub, "url"));
        if (strstr(url, "/composite/sobjects") || strstr(url, "/query"))
            heavy++;
    }
    if (heavy > 5) {
        emu_resp_error(resp, 400, "LIMIT_EXCEEDED", NULL,
                       "Composite request may contain at most 5 sObject Collections or query "
                       "operations, found %zu",
                       heavy);
        goto done;
    }
    json_object_clear(refs);
    bool all_or_none = json_is_true(json_object_get(body, "allOrNone"));
    if (all_or_none)
        txn = emu_txn_create();
    bool failed = false;
    json_array_foreach(subs, i, sub)
    {
        const char *ref = json_string_value(json_object_get(sub, "referenceId"));
        const char *method = json_string_value(json_object_get(sub, "method"));
        emu_resp_t r = {0};
        if (failed && all_or_none) {
            emu_resp_error(&r, 400, "PROCESSING_HALTED", NULL, "%s", emu_halted);
        } else {
            char bad[512] = "";
            json_t *url = emu_resolve(json_object_get(sub, "url"), refs, bad, sizeof(bad));
            json_t *sbody = json_object_get(sub, "body");
            json_t *rbody = sbody ? emu_resolve(sbody, refs, bad, sizeof(bad)) : NULL;
            if (!url || (sbody && !rbody)) {
                char refname[256];
                snprintf(refname, sizeof(refname), "%.*s", (int)strcspn(bad, ".["), bad);
                emu_resp_error(&r, 400, "PROCESSING_HALTED", NULL,
                               "Invalid reference specified. No value for %s found in %s. "
                               "Provided referenceId ('%s') doesn't exist or an error prevented "
                               "the referenced subrequest from completing successfully.",
                               bad, refname, refname);
            } else {
                emu_sub_run(emu, sess, method, json_string_value(url), rbody, txn, &r);
            }
            json_decref(url);
            json_decref(rbody);
            if (emu_sub_failed(&r))
                failed = true;
            else if (r.json)
                json_object_set(refs, ref, r.json);
        }
        json_array_append_new(out,
                              json_pack("{s:O,s:o,s:i,s:s}", "body", r.json ? r.json : json_null(),
                                        "httpHeaders", emu_sub_headers(&r), "httpStatusCode",
                                        r.status, "referenceId", ref));
        emu_resp_clear(&r);
    }
    if (all_or_none && failed) {
        emu_store_wrlock(emu->store);
        emu_txn_rollback(txn, emu->store);
        emu_store_unlock(emu->store);
        json_t *item;
        json_array_foreach(out, i, item)
        {
            json_int_t st = json_integer_value(json_object_get(item, "httpStatusCode"));
            if (st >= 400)
                continue;
            json_object_set_new(item, "httpStatusCode", json_integer(400));
            json_object_set_new(item, "httpHeaders", json_object());
            json_object_set_new(
                item, "body",
                json_pack("[{s:s,s:s}]", "errorCode", "PROCESSING_HALTED", "message", emu_halted));
        }
    }
    emu_resp_json(resp, 200, json_pack("{s:O}", "compositeResponse", out));
done:
    emu_txn_destroy(txn);
    json_decref(out);
    json_decref(refs);
    json_decref(body);
}

static void emu_composite_batch(emu_t *emu, const emu_req_t *req, const emu_session_info_t *sess,
                                emu_resp_t *resp)
{
    json_error_t jerr;
    json_t *body = json_loadb(req->body, req->body_len, 0, &jerr);
    json_t *subs = json_object_get(body, "batchRequests");
    if (!body || !json_is_array(subs) || json_array_size(subs) == 0) {
        emu_resp_error(resp, 400, "JSON_PARSER_ERROR", NULL, "%s",
                       body ? "batchRequests must be a non-empty array" : jerr.text);
        json_decref(body);
        return;
    }
    if (json_array_size(subs) > EMU_MAX_COMPOSITE) {
        emu_resp_error(resp, 400, "LIMIT_EXCEEDED", NULL,
                       "Batch request size limit exceeded: at most %d subrequests",
                       EMU_MAX_COMPOSITE);
        json_decref(body);
        return;
    }
    bool halt = json_is_true(json_object_get(body, "haltOnError"));
    bool has_errors = false, halted = false;
    json_t *results = json_array();
    size_t i;
    json_t *sub;
    json_array_foreach(subs, i, sub)
    {
        emu_resp_t r = {0};
        const char *method = json_string_value(json_object_get(sub, "method"));
        const char *url = json_string_value(json_object_get(sub, "url"));
        if (halted) {
            emu_resp_error(&r, 412, "BATCH_PROCESSING_HALTED", NULL,
                           "Batch processing halted per request");
        } else if (!method || !url) {
            emu_resp_error(&r, 400, "INVALID_BATCH_REQUEST", NULL,
                           "Each batch request needs a method and a url");
        } else {
            char full[4096];
            snprintf(full, sizeof(full), "/services/data/%s", url[0] == '/' ? url + 1 : url);
            emu_sub_run(emu, sess, method, full, json_object_get(sub, "richInput"), NULL, &r);
        }
        if (r.status >= 400) {
            has_errors = true;
            if (halt)
                halted = true;
        }
        json_array_append_new(results, json_pack("{s:i,s:O}", "statusCode", r.status, "result",
                                                 r.json ? r.json : json_null()));
        emu_resp_clear(&r);
    }
    emu_resp_json(resp, 200, json_pack("{s:b,s:o}", "hasErrors", has_errors, "results", results));
    json_decref(body);
}

/* Finds the child object and its reference field behind a child relationship name. */
static const emu_sobject_t *emu_tree_child(emu_t *emu, const emu_sobject_t *parent, const char *rel,
                                           const emu_field_t **field)
{
    for (size_t k = 0; k < emu->schema->nsobjects; k++) {
        const emu_sobject_t *child = &emu->schema->sobjects[k];
        for (size_t j = 0; j < child->nfields; j++) {
            const emu_field_t *f = &child->fields[j];
            const char *crn = json_string_value(json_object_get(f->def, "childRelationshipName"));
            json_t *refs = json_object_get(f->def, "referenceTo");
            if (!crn || strcasecmp(crn, rel) != 0)
                continue;
            size_t r;
            json_t *ref;
            json_array_foreach(refs, r, ref) if (!strcmp(json_string_value(ref), parent->name))
            {
                *field = f;
                return child;
            }
        }
    }
    return NULL;
}

typedef struct emu_tree_item {
    const emu_sobject_t *so;
    json_t *rec;      /* fields only (owned) */
    json_t *children; /* [{"so_index", "field", "records"}] (owned) */
    char ref[128];
    int parent; /* index into the item list, -1 for top level */
    const emu_field_t *parent_field;
} emu_tree_item_t;

static int emu_tree_collect(emu_t *emu, const emu_sobject_t *so, json_t *records, int parent,
                            const emu_field_t *pf, int depth, emu_tree_item_t *items, size_t *n,
                            emu_resp_t *resp)
{
    size_t i;
    json_t *rec;
    if (depth > 5) {
        emu_resp_error(resp, 400, "INVALID_INPUT", NULL, "Nesting is limited to 5 levels");
        return -1;
    }
    json_array_foreach(records, i, rec)
    {
        if (*n >= EMU_MAX_COLLECTION) {
            emu_resp_error(resp, 400, "EXCEEDED_ID_LIMIT", NULL,
                           "record limit reached. cannot submit more than 200 records into this "
                           "call");
            return -1;
        }
        json_t *attrs = json_object_get(rec, "attributes");
        const char *type = json_string_value(json_object_get(attrs, "type"));
        const char *ref = json_string_value(json_object_get(attrs, "referenceId"));
        if (!type || !ref || strcasecmp(type, so->name) != 0) {
            emu_resp_error(resp, 400, "INVALID_INPUT", NULL,
                           "Each record needs attributes.type (%s) and attributes.referenceId",
                           so->name);
            return -1;
        }
        size_t me = (*n)++;
        items[me].so = so;
        items[me].rec = json_object();
        items[me].parent = parent;
        items[me].parent_field = pf;
        snprintf(items[me].ref, sizeof(items[me].ref), "%s", ref);
        const char *k;
        json_t *v;
        json_object_foreach(rec, k, v)
        {
            if (!strcmp(k, "attributes"))
                continue;
            if (json_is_object(v) && json_object_get(v, "records")) {
                const emu_field_t *cf = NULL;
                const emu_sobject_t *child = emu_tree_child(emu, so, k, &cf);
                if (!child) {
                    emu_resp_error(resp, 400, "INVALID_FIELD", NULL,
                                   "No such column '%s' on sobject of type %s", k, so->name);
                    return -1;
                }
                if (emu_tree_collect(emu, child, json_object_get(v, "records"), (int)me, cf,
                                     depth + 1, items, n, resp) != 0)
                    return -1;
                continue;
            }
            json_object_set(items[me].rec, k, v);
        }
    }
    return 0;
}

static void emu_composite_tree(emu_t *emu, const emu_req_t *req, const emu_session_info_t *sess,
                               const char *type, emu_resp_t *resp)
{
    const emu_sobject_t *so = emu_schema_find(emu->schema, type);
    if (!so) {
        emu_resp_error(resp, 404, "NOT_FOUND", NULL, "The requested resource does not exist");
        return;
    }
    json_error_t jerr;
    json_t *body = json_loadb(req->body, req->body_len, 0, &jerr);
    emu_tree_item_t *items = calloc(EMU_MAX_COLLECTION + 1, sizeof(*items));
    size_t n = 0;
    json_t *results = json_array();
    emu_txn_t *txn = emu_txn_create();
    if (!body || !json_is_array(json_object_get(body, "records"))) {
        emu_resp_error(resp, 400, "JSON_PARSER_ERROR", NULL, "%s",
                       body ? "records must be an array" : jerr.text);
        goto done;
    }
    if (emu_tree_collect(emu, so, json_object_get(body, "records"), -1, NULL, 1, items, &n, resp) !=
        0)
        goto done;
    /* Collected depth-first; parents always precede their children. */
    char(*ids)[19] = calloc(n ? n : 1, sizeof(*ids));
    bool failed = false;
    emu_dml_ctx_t ctx = {.emu = emu, .sess = sess, .txn = txn};
    emu_store_wrlock(emu->store);
    for (size_t i = 0; i < n; i++) {
        json_t *errors = json_array();
        if (items[i].parent >= 0)
            json_object_set_new(items[i].rec, items[i].parent_field->name,
                                json_string(ids[items[i].parent]));
        if (emu_dml_create(&ctx, items[i].so, items[i].rec, ids[i], errors) != 0) {
            failed = true;
            json_array_append_new(
                results, json_pack("{s:s,s:O}", "referenceId", items[i].ref, "errors", errors));
        }
        json_decref(errors);
        if (failed)
            break;
    }
    if (failed)
        emu_txn_rollback(txn, emu->store);
    emu_store_unlock(emu->store);
    if (!failed)
        for (size_t i = 0; i < n; i++)
            json_array_append_new(
                results, json_pack("{s:s,s:s}", "referenceId", items[i].ref, "id", ids[i]));
    free(ids);
    emu_resp_json(resp, failed ? 400 : 201,
                  json_pack("{s:b,s:O}", "hasErrors", failed, "results", results));
done:
    for (size_t i = 0; i < n; i++)
        json_decref(items[i].rec);
    free(items);
    emu_txn_destroy(txn);
    json_decref(results);
    json_decref(body);
}

void emu_composite(emu_t *emu, const emu_req_t *req, const emu_session_info_t *sess,
                   const char *version, const char *rest, emu_resp_t *resp)
{
    if (strcmp(req->method, "POST") != 0) {
        emu_resp_error(resp, 405, "METHOD_NOT_ALLOWED", NULL,
                       "HTTP Method '%s' not allowed. Allowed are POST", req->method);
        return;
    }
    if (*rest == '\0')
        return emu_composite_main(emu, req, sess, resp);
    if (!strcmp(rest, "batch"))
        return emu_composite_batch(emu, req, sess, resp);
    if (!strncmp(rest, "tree/", 5) && rest[5] && !strchr(rest + 5, '/'))
        return emu_composite_tree(emu, req, sess, rest + 5, resp);
    emu_resp_error(resp, 404, "NOT_FOUND", NULL, "The requested resource does not exist");
}
