/*
 * emu_collections.c - sObject Collections (/composite/sobjects): create,
 * update, upsert and delete of up to 200 records in one call, and retrieve.
 *
 * The whole call runs under the store's write lock with an undo journal, so
 * allOrNone rolls back atomically: the failing records keep their own
 * errors, the others report ALL_OR_NONE_OPERATION_ROLLED_BACK. Field-name
 * and JSON type errors are request-level in Salesforce (it deserializes the
 * whole body first): they roll back everything and answer 400.
 */
#include "emu_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { EMU_COLL_CREATE, EMU_COLL_UPDATE, EMU_COLL_UPSERT, EMU_COLL_DELETE };

static const char emu_rolled_back[] =
    "Record rolled back because not all records were valid and the request was using AllOrNone "
    "header";

static bool emu_request_level(const json_t *errors)
{
    const char *code = json_string_value(json_object_get(json_array_get(errors, 0), "statusCode"));
    return code && (!strcmp(code, "INVALID_FIELD") || !strcmp(code, "JSON_PARSER_ERROR"));
}

/* Runs the records of one call; items[] gets one result each. */
static void emu_coll_run(emu_t *emu, const emu_session_info_t *sess, emu_txn_t *outer, int op,
                         const emu_sobject_t *upsert_so, const emu_field_t *upsert_f,
                         const json_t *items, bool all_or_none, emu_resp_t *resp)
{
    size_t n = json_array_size(items);
    emu_txn_t *txn = outer ? outer : emu_txn_create();
    emu_dml_ctx_t ctx = {.emu = emu, .sess = sess, .txn = txn};
    json_t *results = json_array();
    json_t *request_error = NULL;
    bool any_failed = false;
    if (outer)
        all_or_none = true; /* the composite's allOrNone wins when set */
    emu_store_wrlock(emu->store);
    for (size_t i = 0; i < n; i++) {
        const json_t *item = json_array_get(items, i);
        json_t *errors = json_array();
        json_t *res = json_object();
        char id[19] = "";
        const char *given_id = NULL;
        int rc = -1;
        bool created = false;
        if (op == EMU_COLL_DELETE) {
            given_id = json_string_value(item);
            rc = emu_dml_delete(&ctx, given_id, errors);
            if (rc == 0)
                emu_id_normalize(given_id, id);
        } else {
            const json_t *attrs = json_object_get(item, "attributes");
            const char *type = json_string_value(json_object_get(attrs, "type"));
            const emu_sobject_t *so = upsert_so ? upsert_so : emu_schema_find(emu->schema, type);
            if (!json_is_object(item)) {
                emu_dml_error(errors, "JSON_PARSER_ERROR", NULL,
                              "Cannot deserialize instance of SObject from a non-object value");
            } else if (!so || (upsert_so && type && !emu_schema_find(emu->schema, type))) {
                emu_dml_error(errors, "INVALID_TYPE", NULL, "sObject type '%s' is not supported.",
                              type ? type : "");
            } else if (op == EMU_COLL_CREATE) {
                if (json_object_get(item, "id") || json_object_get(item, "Id"))
                    emu_dml_error(errors, "INVALID_FIELD_FOR_INSERT_UPDATE", "Id",
                                  "Record ID: cannot specify Id in an insert call");
                else
                    rc = emu_dml_create(&ctx, so, item, id, errors);
            } else if (op == EMU_COLL_UPDATE) {
                json_t *body = json_deep_copy(item);
                json_t *jid = json_object_get(body, "id");
                if (!jid)
                    jid = json_object_get(body, "Id");
                given_id = json_string_value(jid);
                char *keep = given_id ? strdup(given_id) : NULL;
                json_object_del(body, "id");
                if (!keep)
                    emu_dml_error(errors, "MISSING_ARGUMENT", "Id",
                                  "Id not specified in an update call");
                else
                    rc = emu_dml_update(&ctx, so, keep, body, errors);
                if (keep && emu_id_normalize(keep, id) != 0)
                    id[0] = '\0';
                free(keep);
                given_id = id[0] ? id : NULL;
                json_decref(body);
            } else {
                const json_t *v = json_object_get(item, upsert_f->name);
                char num[64];
                const char *value = json_string_value(v);
                if (json_is_number(v)) {
                    snprintf(num, sizeof(num), "%lld", (long long)json_number_value(v));
                    value = num;
                }
                json_t *matches = json_array();
                if (!value || !*value)
                    emu_dml_error(errors, "MISSING_ARGUMENT", upsert_f->name, "%s not specified",
                                  upsert_f->name);
                else
                    rc = emu_dml_upsert(&ctx, so, upsert_f, value, item, id, &created, errors,
                                        matches);
                if (rc != 0 && json_array_size(matches) > 1) {
                    json_array_clear(errors);
                    emu_dml_error(errors, "DUPLICATE_EXTERNAL_ID", upsert_f->name,
                                  "%s: more than one record found for external id field: %s",
                                  upsert_f->name, value);
                }
                json_decref(matches);
            }
        }
        if (rc == 0) {
            json_object_set_new(res, "id", json_string(id));
            json_object_set_new(res, "success", json_true());
            json_object_set_new(res, "errors", json_array());
            if (op == EMU_COLL_UPSERT)
                json_object_set_new(res, "created", json_boolean(created));
        } else {
            any_failed = true;
            if (!request_error && emu_request_level(errors))
                request_error = json_incref(errors);
            if (given_id) {
                char nid[19];
                if (emu_id_normalize(given_id, nid) == 0)
                    json_object_set_new(res, "id", json_string(nid));
            }
            json_object_set_new(res, "success", json_false());
            json_object_set(res, "errors", errors);
        }
        json_array_append_new(results, res);
        json_decref(errors);
    }
    bool rollback = request_error || (all_or_none && any_failed);
    if (rollback && !outer)
        emu_txn_rollback(txn, emu->store);
    /* Destroyed (= committed: its streaming events published) before the
     * unlock, so change events reach the bus in the order the calls
     * changed the records. */
    if (!outer)
        emu_txn_destroy(txn);
    emu_store_unlock(emu->store);
    if (request_error) {
        emu_resp_json(resp, 400, emu_dml_top_errors(request_error));
        json_decref(request_error);
        json_decref(results);
        return;
    }
    if (rollback) {
        size_t i;
        json_t *res;
        json_array_foreach(results, i, res)
        {
            if (!json_is_true(json_object_get(res, "success")))
                continue;
            if (op == EMU_COLL_CREATE ||
                (op == EMU_COLL_UPSERT && json_is_true(json_object_get(res, "created"))))
                json_object_del(res, "id");
            json_object_del(res, "created");
            json_object_set_new(res, "success", json_false());
            json_t *errs = json_array();
            emu_dml_error(errs, "ALL_OR_NONE_OPERATION_ROLLED_BACK", NULL, "%s", emu_rolled_back);
            json_object_set_new(res, "errors", errs);
        }
    }
    emu_resp_json(resp, 200, results);
}

static json_t *emu_coll_body(const emu_req_t *req, emu_resp_t *resp, bool *all_or_none)
{
    json_error_t jerr;
    json_t *body = req->body_len ? json_loadb(req->body, req->body_len, 0, &jerr) : NULL;
    json_t *records = json_object_get(body, "records");
    if (!body) {
        emu_resp_error(resp, 400, "JSON_PARSER_ERROR", NULL, "%s",
                       req->body_len ? jerr.text
                                     : "The HTTP entity body is required, but this request has "
                                       "no entity body.");
        return NULL;
    }
    if (!json_is_array(records)) {
        json_decref(body);
        emu_resp_error(resp, 400, "JSON_PARSER_ERROR", NULL,
                       "Cannot deserialize the request: \"records\" must be an array");
        return NULL;
    }
    if (json_array_size(records) == 0) {
        json_decref(body);
        emu_resp_error(resp, 400, "REQUIRED_FIELD_MISSING", NULL, "At least 1 record is required.");
        return NULL;
    }
    if (json_array_size(records) > EMU_MAX_COLLECTION) {
        json_decref(body);
        emu_resp_error(resp, 400, "EXCEEDED_ID_LIMIT", NULL,
                       "record limit reached. cannot submit more than 200 records into this call");
        return NULL;
    }
    *all_or_none = json_is_true(json_object_get(body, "allOrNone"));
    return body;
}

static void emu_coll_retrieve(emu_t *emu, const emu_req_t *req, const emu_sobject_t *so,
                              const char *version, emu_resp_t *resp)
{
    char ids[8192] = "", fields[4096] = "";
    json_t *body = NULL;
    if (!strcmp(req->method, "POST")) {
        body = req->body_len ? json_loadb(req->body, req->body_len, 0, NULL) : NULL;
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(body, "ids"), i, v)
        {
            size_t l = strlen(ids);
            snprintf(ids + l, sizeof(ids) - l, "%s%s", l ? "," : "", json_string_value(v));
        }
        json_array_foreach(json_object_get(body, "fields"), i, v)
        {
            size_t l = strlen(fields);
            snprintf(fields + l, sizeof(fields) - l, "%s%s", l ? "," : "", json_string_value(v));
        }
        json_decref(body);
    } else {
        emu_query_param(req->query, "ids", ids, sizeof(ids));
        emu_query_param(req->query, "fields", fields, sizeof(fields));
    }
    if (!*ids) {
        emu_resp_error(resp, 400, "REQUIRED_FIELD_MISSING", NULL, "At least 1 Id is required.");
        return;
    }
    if (!*fields) {
        emu_resp_error(resp, 400, "REQUIRED_FIELD_MISSING", NULL, "At least 1 field is required.");
        return;
    }
    json_t *out = json_array();
    char *save = NULL;
    size_t count = 0;
    emu_store_rdlock(emu->store);
    for (char *t = strtok_r(ids, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char id[19], bad[256];
        if (++count > EMU_MAX_COLLECTION) {
            emu_store_unlock(emu->store);
            json_decref(out);
            emu_resp_error(resp, 400, "EXCEEDED_ID_LIMIT", NULL,
                           "record limit reached. cannot submit more than 200 records into this "
                           "call");
            return;
        }
        json_t *rec = emu_id_normalize(t, id) == 0 ? emu_store_get(emu->store, id) : NULL;
        if (!rec || json_is_true(json_object_get(rec, "IsDeleted")) ||
            emu_store_type_of(emu->store, rec) != so) {
            json_array_append_new(out, json_null());
            continue;
        }
        json_t *view = emu_record_view(so, rec, version, fields, bad, sizeof(bad));
        if (!view) {
            emu_store_unlock(emu->store);
            json_decref(out);
            emu_resp_error(resp, 400, "INVALID_FIELD", NULL,
                           "No such column '%s' on entity '%s'. If you are attempting to use a "
                           "custom field, be sure to append the '__c' after the custom field "
                           "name. Please reference your WSDL or the describe call for the "
                           "appropriate names.",
                           bad, so->name);
            return;
        }
        json_array_append_new(out, view);
    }
    emu_store_unlock(emu->store);
    emu_resp_json(resp, 200, out);
}

void emu_collections(emu_t *emu, const emu_req_t *req, const emu_session_info_t *sess,
                     const char *version, const char *rest, emu_resp_t *resp)
{
    const char *m = req->method;
    if (*rest == '\0') {
        if (!strcmp(m, "DELETE")) {
            char ids[8192] = "", aon[16] = "";
            emu_query_param(req->query, "ids", ids, sizeof(ids));
            emu_query_param(req->query, "allOrNone", aon, sizeof(aon));
            if (!*ids) {
                emu_resp_error(resp, 400, "REQUIRED_FIELD_MISSING", NULL,
                               "At least 1 Id is required.");
                return;
            }
            json_t *list = json_array();
            char *save = NULL;
            for (char *t = strtok_r(ids, ",", &save); t; t = strtok_r(NULL, ",", &save))
                json_array_append_new(list, json_string(t));
            if (json_array_size(list) > EMU_MAX_COLLECTION) {
                json_decref(list);
                emu_resp_error(resp, 400, "EXCEEDED_ID_LIMIT", NULL,
                               "record limit reached. cannot submit more than 200 records into "
                               "this call");
                return;
            }
            emu_coll_run(emu, sess, req->txn, EMU_COLL_DELETE, NULL, NULL, list,
                         !strcasecmp(aon, "true"), resp);
            json_decref(list);
            return;
        }
        if (strcmp(m, "POST") && strcmp(m, "PATCH")) {
            emu_resp_error(resp, 405, "METHOD_NOT_ALLOWED", NULL,
                           "HTTP Method '%s' not allowed. Allowed are POST,PATCH,DELETE", m);
            return;
        }
        bool aon = false;
        json_t *body = emu_coll_body(req, resp, &aon);
        if (!body)
            return;
        emu_coll_run(emu, sess, req->txn, !strcmp(m, "POST") ? EMU_COLL_CREATE : EMU_COLL_UPDATE,
                     NULL, NULL, json_object_get(body, "records"), aon, resp);
        json_decref(body);
        return;
    }
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", rest);
    char *slash = strchr(buf, '/');
    if (slash)
        *slash++ = '\0';
    const emu_sobject_t *so = emu_schema_find(emu->schema, buf);
    if (!so) {
        emu_resp_error(resp, 404, "NOT_FOUND", NULL, "The requested resource does not exist");
        return;
    }
    if (!slash || !*slash) {
        if (!strcmp(m, "GET") || !strcmp(m, "POST"))
            return emu_coll_retrieve(emu, req, so, version, resp);
        emu_resp_error(resp, 405, "METHOD_NOT_ALLOWED", NULL,
                       "HTTP Method '%s' not allowed. Allowed are GET,POST", m);
        return;
    }
    const emu_field_t *f = emu_schema_field(so, slash);
    if (!f || strchr(slash, '/') || !(f->external_id || !strcmp(f->name, "Id"))) {
        emu_resp_error(resp, 404, "NOT_FOUND", NULL,
                       "Provided external ID field does not exist or is not accessible: %s", slash);
        return;
    }
    if (strcmp(m, "PATCH")) {
        emu_resp_error(resp, 405, "METHOD_NOT_ALLOWED", NULL,
                       "HTTP Method '%s' not allowed. Allowed are PATCH", m);
        return;
    }
    bool aon = false;
    json_t *body = emu_coll_body(req, resp, &aon);
    if (!body)
        return;
    emu_coll_run(emu, sess, req->txn, EMU_COLL_UPSERT, so, f, json_object_get(body, "records"), aon,
                 resp);
    json_decref(body);
}
