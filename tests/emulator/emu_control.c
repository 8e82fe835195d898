/*
 * emu_control.c - the control API for tests, under /__sfemu/ (no auth, JSON
 * in and out). Every endpoint is also reachable from the command line
 * through emu_control_apply().
 *
 *   GET    /__sfemu/                 this list
 *   POST   /__sfemu/reset            records back to the loaded data, counters, locators,
 *                                    faults and API usage cleared (sessions are kept)
 *   POST   /__sfemu/records          {"Account":[{..},..],..} inserts records (Id, CreatedDate and
 *                                    other system fields may be given) -> {"Account":["001..",..]};
 *                                    all or nothing: 400 {"error"} and nothing loaded on a bad one
 *   GET    /__sfemu/counters         {"api_calls":{"total","by_resource",..},"records":{"X":{..}}}
 *   POST   /__sfemu/counters/reset   zeroes the API call counters and usage
 *   GET    /__sfemu/faults           current faults
 *   POST   /__sfemu/faults           sets faults (see emu_faults.c), merged per kind
 *   DELETE /__sfemu/faults           clears every fault
 *   POST   /__sfemu/sessions/expire  every access token becomes invalid now
 *   POST   /__sfemu/token-ttl        {"seconds":N} lifetime of tokens issued from now on
 *   GET    /__sfemu/limits           {"daily_api_requests":max,"used":n}
 *   POST   /__sfemu/limits           {"daily_api_requests":max,"used":n} (either key)
 *   POST   /__sfemu/undelete         {"ids":["001.."]} restores deleted records (as Apex's
 *                                    undelete: a CDC UNDELETE event each) -> {"undeleted":[..]}
 * Streaming API (STREAMING.md):
 *   POST   /__sfemu/events/publish   {"channel":"/event/X__e","count":N} or {"channel",
 *                                    "payloads":[{..},..]} -> {"replay_ids":[first,last]}
 *   GET    /__sfemu/events?channel=X {"channel","first_replay_id","last_replay_id","count"}
 *   POST   /__sfemu/events/expire    {"channel"?, "through_replay_id"?}: those events leave
 *                                    retention now (omitted = every channel / every event)
 *   POST   /__sfemu/events/retention {"hours":H} or {"seconds":S}
 *   POST   /__sfemu/cometd/drop      every CometD client forgotten (403::Unknown client)
 *   POST   /__sfemu/bus/restart      clients forgotten, held connects answered now; events kept
 *   POST   /__sfemu/cometd/delay     {"ms":N,"next":K} the next K connect replies leave N ms late
 *   POST   /__sfemu/cometd/timeouts  {"timeout_ms":N,"expiry_ms":M} (either key)
 *   POST   /__sfemu/cdc              {"entities":"all"|"none"|["Account",..]} CDC entity selection
 */
#include "emu_cometd.h"
#include "emu_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char emu_control_help[] =
    "GET /__sfemu/ | POST /__sfemu/reset | POST /__sfemu/records | GET /__sfemu/counters | "
    "POST /__sfemu/counters/reset | GET,POST,DELETE /__sfemu/faults | "
    "POST /__sfemu/sessions/expire | POST /__sfemu/token-ttl | GET,POST /__sfemu/limits | "
    "POST /__sfemu/undelete | POST /__sfemu/events/publish | GET /__sfemu/events?channel=X | "
    "POST /__sfemu/events/expire | POST /__sfemu/events/retention | POST /__sfemu/cometd/drop | "
    "POST /__sfemu/bus/restart | POST /__sfemu/cometd/delay | POST /__sfemu/cometd/timeouts | "
    "POST /__sfemu/cdc";

int emu_control_load_records(emu_t *emu, const json_t *records, json_t **ids, char *err,
                             size_t err_size)
{
    if (!json_is_object(records)) {
        snprintf(err, err_size, "records: an object {\"SObject\": [records]} expected");
        return -1;
    }
    int rc = 0;
    json_t *out = json_object();
    json_t *errors = json_array();
    /* All or nothing: a bad record undoes the ones loaded before it. */
    emu_txn_t *txn = emu_txn_create();
    emu_dml_ctx_t ctx = {.emu = emu, .trusted = true, .txn = txn};
    const char *name;
    json_t *list;
    emu_store_wrlock(emu->store);
    json_object_foreach((json_t *)records, name, list)
    {
        const emu_sobject_t *so = emu_schema_find(emu->schema, name);
        if (!so || !json_is_array(list)) {
            snprintf(err, err_size, "records: unknown sobject %s or not an array", name);
            rc = -1;
            break;
        }
        json_t *created = json_array();
        json_object_set_new(out, so->name, created);
        size_t i;
        json_t *rec;
        json_array_foreach(list, i, rec)
        {
            char id[19];
            if (emu_dml_create(&ctx, so, rec, id, errors) != 0) {
                char *text = json_dumps(errors, JSON_COMPACT);
                snprintf(err, err_size, "records: %s[%zu]: %s", so->name, i, text ? text : "");
                free(text);
                rc = -1;
                break;
            }
            json_array_append_new(created, json_string(id));
        }
        if (rc != 0)
            break;
    }
    if (rc != 0)
        emu_txn_rollback(txn, emu->store);
    emu_store_unlock(emu->store);
    emu_txn_destroy(txn);
    json_decref(errors);
    if (ids && rc == 0)
        *ids = json_incref(out);
    json_decref(out);
    return rc;
}

static void emu_control_reset(emu_t *emu)
{
    char err[256];
    emu_rest_locators_clear(emu);
    emu_faults_clear(emu->faults);
    emu_limits_reset(emu);
    /* Users first (CreatedById points at them), then the data file's records. */
    emu_store_wrlock(emu->store);
    emu_store_clear(emu->store);
    emu_server_load_users(emu);
    emu_store_unlock(emu->store);
    if (emu->initial_records)
        emu_control_load_records(emu, emu->initial_records, NULL, err, sizeof(err));
}

static json_t *emu_control_counters(emu_t *emu)
{
    json_t *records = json_object();
    emu_store_rdlock(emu->store);
    for (size_t i = 0; i < emu->schema->nsobjects; i++) {
        size_t deleted = 0;
        size_t total = emu_store_count(emu->store, &emu->schema->sobjects[i], &deleted);
        json_object_set_new(records, emu->schema->sobjects[i].name,
                            json_pack("{s:I,s:I,s:I}", "total", (json_int_t)total, "live",
                                      (json_int_t)(total - deleted), "deleted",
                                      (json_int_t)deleted));
    }
    emu_store_unlock(emu->store);
    return json_pack("{s:o,s:o}", "api_calls", emu_limits_counters(emu), "records", records);
}

static json_t *emu_control_limits(emu_t *emu)
{
    pthread_mutex_lock(&emu->lock);
    json_t *out = json_pack("{s:I,s:I}", "daily_api_requests", (json_int_t)emu->api_limit, "used",
                            (json_int_t)emu->api_used);
    pthread_mutex_unlock(&emu->lock);
    return out;
}

static long long emu_control_int(const json_t *body, const char *key, long long dflt)
{
    json_t *v = json_object_get(body, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : v ? -1 : dflt;
}

/* The streaming endpoints (events/..., cometd/..., bus/...). Returns 0 when
 * `what` is not one of them. */
static int emu_control_stream(emu_t *emu, const char *what, const json_t *body, json_t **out,
                              char *err, size_t err_size)
{
    if (!strcmp(what, "events/publish")) {
        uint64_t first = 0, last = 0;
        const char *channel = json_string_value(json_object_get(body, "channel"));
        json_t *payloads = json_object_get(body, "payloads");
        long long count = emu_control_int(body, "count", payloads ? 0 : 1);
        if (count < 0 || emu_cometd_publish(emu, channel, (size_t)count, payloads, &first, &last,
                                            err, err_size) != 0) {
            if (count < 0)
                snprintf(err, err_size, "\"count\": a positive integer expected");
            return 400;
        }
        *out = json_pack("{s:[I,I]}", "replay_ids", (json_int_t)first, (json_int_t)last);
        return 200;
    }
    if (!strcmp(what, "events/expire")) {
        const char *channel = json_string_value(json_object_get(body, "channel"));
        long long through = emu_control_int(body, "through_replay_id", 0);
        if (through < 0) {
            snprintf(err, err_size, "\"through_replay_id\": a positive integer expected");
            return 400;
        }
        size_t n = emu_bus_expire(emu->bus, channel, (uint64_t)through);
        *out = json_pack("{s:I}", "expired", (json_int_t)n);
        return 200;
    }
    if (!strcmp(what, "events/retention")) {
        long long hours = emu_control_int(body, "hours", 0);
        long long seconds = emu_control_int(body, "seconds", 0);
        if (hours < 0 || seconds < 0 || (hours == 0 && seconds == 0)) {
            snprintf(err, err_size, "{\"hours\": H} or {\"seconds\": S} (positive) expected");
            return 400;
        }
        int64_t ms = hours ? (int64_t)hours * 3600000 : (int64_t)seconds * 1000;
        emu_bus_set_retention_ms(emu->bus, ms);
        *out = json_pack("{s:I}", "retention_seconds", (json_int_t)(ms / 1000));
        return 200;
    }
    if (!strcmp(what, "cometd/drop") || !strcmp(what, "bus/restart")) {
        bool restart = !strcmp(what, "bus/restart");
        emu_cometd_drop_all(emu->cometd, restart);
        *out = json_pack("{s:b}", restart ? "restarted" : "dropped", 1);
        return 200;
    }
    if (!strcmp(what, "cometd/delay")) {
        long long ms = emu_control_int(body, "ms", -1), next = emu_control_int(body, "next", 1);
        if (ms < 0 || ms > 600000 || next < 0) {
            snprintf(err, err_size, "{\"ms\": 0..600000, \"next\": K >= 0} expected");
            return 400;
        }
        emu_cometd_delay(emu->cometd, (int)ms, (int)next);
        *out = json_pack("{s:I,s:I}", "ms", (json_int_t)ms, "next", (json_int_t)next);
        return 200;
    }
    if (!strcmp(what, "cdc")) {
        if (emu_cometd_set_cdc(emu, body, err, err_size) != 0)
            return 400;
        *out = emu_cometd_get_cdc(emu);
        return 200;
    }
    if (!strcmp(what, "cometd/timeouts")) {
        long long t = emu_control_int(body, "timeout_ms", 0),
                  e = emu_control_int(body, "expiry_ms", 0);
        if (t < 0 || e < 0 || t > 600000 || e > 3600000 || (t == 0 && e == 0)) {
            snprintf(err, err_size, "{\"timeout_ms\": N, \"expiry_ms\": M} (positive) expected");
            return 400;
        }
        emu_cometd_set_timeouts(emu->cometd, (int)t, (int)e);
        *out = json_pack("{s:I,s:I}", "timeout_ms", (json_int_t)t, "expiry_ms", (json_int_t)e);
        return 200;
    }
    return 0;
}

static int emu_control_undelete(emu_t *emu, const json_t *body, json_t **out, char *err,
                                size_t err_size)
{
    json_t *ids = json_object_get(body, "ids");
    if (!json_is_array(ids) || json_array_size(ids) == 0) {
        snprintf(err, err_size, "{\"ids\": [\"001...\", ...]} expected");
        return 400;
    }
    json_t *errors = json_array(), *done = json_array();
    emu_txn_t *txn = emu_txn_create(); /* all or nothing, like the loader */
    emu_dml_ctx_t ctx = {.emu = emu, .txn = txn};
    int status = 200;
    size_t i;
    json_t *id;
    emu_store_wrlock(emu->store);
    json_array_foreach(ids, i, id)
    {
        char id18[19];
        if (emu_dml_undelete(&ctx, json_string_value(id), id18, errors) != 0) {
            char *text = json_dumps(errors, JSON_COMPACT);
            snprintf(err, err_size, "undelete %s: %s",
                     json_string_value(id) ? json_string_value(id) : "?", text ? text : "");
            free(text);
            status = 400;
            break;
        }
        json_array_append_new(done, json_string(id18));
    }
    if (status != 200)
        emu_txn_rollback(txn, emu->store);
    emu_txn_destroy(txn); /* publishes the UNDELETE events, in order with other changes */
    emu_store_unlock(emu->store);
    json_decref(errors);
    if (status == 200)
        *out = json_pack("{s:o}", "undeleted", done);
    else
        json_decref(done);
    return status;
}

/* Runs one control action. Returns the HTTP status; *out gets the body. */
static int emu_control_do(emu_t *emu, const char *method, const char *what, const json_t *body,
                          json_t **out, char *err, size_t err_size)
{
    bool post = !strcmp(method, "POST") || !strcmp(method, "PUT");
    bool get = !strcmp(method, "GET");
    if (!strcmp(what, "") && get) {
        *out = json_pack("{s:s}", "endpoints", emu_control_help);
        return 200;
    }
    if (!strcmp(what, "reset") && post) {
        emu_control_reset(emu);
        *out = json_pack("{s:b}", "reset", 1);
        return 200;
    }
    if (!strcmp(what, "records") && post) {
        json_t *ids = NULL;
        if (emu_control_load_records(emu, body, &ids, err, err_size) != 0)
            return 400;
        *out = ids;
        return 201;
    }
    if (!strcmp(what, "counters") && get) {
        *out = emu_control_counters(emu);
        return 200;
    }
    if (!strcmp(what, "counters/reset") && post) {
        emu_limits_reset(emu);
        *out = emu_control_counters(emu);
        return 200;
    }
    if (!strcmp(what, "faults")) {
        if (!strcmp(method, "DELETE"))
            emu_faults_clear(emu->faults);
        else if (post && emu_faults_set(emu->faults, body, err, err_size) != 0)
            return 400;
        else if (!post && !get)
            goto bad_method;
        *out = emu_faults_get(emu->faults);
        return 200;
    }
    if (!strcmp(what, "sessions/expire") && post) {
#ifdef EMU_HAVE_OAUTH
        if (emu->oauth) /* before start there is no session to expire */
            emu_oauth_expire_all_sessions(emu->oauth);
        *out = json_pack("{s:b}", "expired", 1);
        return 200;
#else
        snprintf(err, err_size, "built without the OAuth module");
        return 501;
#endif
    }
    if (!strcmp(what, "token-ttl") && post) {
        json_t *s = json_object_get(body, "seconds");
        if (!json_is_integer(s) || json_integer_value(s) <= 0) {
            snprintf(err, err_size, "{\"seconds\": N} with N > 0 expected");
            return 400;
        }
#ifdef EMU_HAVE_OAUTH
        if (emu->oauth) /* before start, opt.token_ttl below is what counts */
            emu_oauth_set_token_ttl(emu->oauth, (int)json_integer_value(s));
#endif
        emu->opt.token_ttl = (int)json_integer_value(s);
        *out = json_pack("{s:I}", "seconds", json_integer_value(s));
        return 200;
    }
    if (!strcmp(what, "limits")) {
        if (post) {
            json_t *max = json_object_get(body, "daily_api_requests");
            json_t *used = json_object_get(body, "used");
            if ((max && (!json_is_integer(max) || json_integer_value(max) < 0)) ||
                (used && (!json_is_integer(used) || json_integer_value(used) < 0)) ||
                (!max && !used)) {
                snprintf(err, err_size,
                         "{\"daily_api_requests\": N, \"used\": M} (non-negative) expected");
                return 400;
            }
            pthread_mutex_lock(&emu->lock);
            if (max)
                emu->api_limit = (long)json_integer_value(max);
            if (used)
                emu->api_used = (long)json_integer_value(used);
            pthread_mutex_unlock(&emu->lock);
        } else if (!get) {
            goto bad_method;
        }
        *out = emu_control_limits(emu);
        return 200;
    }
    if (post && !strcmp(what, "undelete"))
        return emu_control_undelete(emu, body, out, err, err_size);
    if (post && emu->bus) {
        int status = emu_control_stream(emu, what, body, out, err, err_size);
        if (status)
            return status;
    }
    snprintf(err, err_size, "no control endpoint %s %s; see GET /__sfemu/", method, what);
    return 404;
bad_method:
    snprintf(err, err_size, "method %s not allowed on /__sfemu/%s", method, what);
    return 405;
}

void emu_control(emu_t *emu, const emu_req_t *req, const char *rest, emu_resp_t *resp)
{
    char what[128];
    snprintf(what, sizeof(what), "%s", rest);
    size_t n = strlen(what);
    while (n > 0 && what[n - 1] == '/')
        what[--n] = '\0';
    if (!strcmp(what, "events") && !strcmp(req->method, "GET") && emu->bus) {
        char channel[512];
        json_t *info = emu_query_param(req->query, "channel", channel, sizeof(channel))
                           ? emu_bus_info(emu->bus, channel)
                           : NULL;
        if (!info && emu_query_param(req->query, "channel", channel, sizeof(channel)) &&
            emu_cometd_channel_exists(emu, channel)) /* a channel nothing was published to */
            info = json_pack("{s:s,s:i,s:i,s:i}", "channel", channel, "first_replay_id", 1,
                             "last_replay_id", 0, "count", 0);
        emu_resp_json(resp, info ? 200 : 404,
                      info ? info : json_pack("{s:s}", "error", "?channel=X: no such channel"));
        return;
    }
    json_t *body = NULL;
    if (req->body_len > 0) {
        json_error_t jerr;
        body = json_loadb(req->body, req->body_len, 0, &jerr);
        if (!body) {
            emu_resp_json(resp, 400, json_pack("{s:s}", "error", jerr.text));
            return;
        }
    }
    json_t *out = NULL;
    char err[512] = "";
    int status = emu_control_do(emu, req->method, what, body, &out, err, sizeof(err));
    json_decref(body);
    emu_resp_json(resp, status, out ? out : json_pack("{s:s}", "error", err));
}

int emu_control_apply(emu_t *emu, const char *what, const char *json_body, char *err,
                      size_t err_size)
{
    json_t *body = NULL;
    if (json_body && *json_body) {
        json_error_t jerr;
        body = json_loads(json_body, 0, &jerr);
        if (!body) {
            snprintf(err, err_size, "%s: %s", what, jerr.text);
            return -1;
        }
    }
    json_t *out = NULL;
    int status = emu_control_do(emu, "POST", what, body, &out, err, err_size);
    json_decref(body);
    json_decref(out);
    return status < 300 ? 0 : -1;
}
