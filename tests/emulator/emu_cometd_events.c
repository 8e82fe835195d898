/*
 * emu_cometd_events.c - what puts events on sfemu's bus:
 *
 * - platform events: every record of an X__e object created through the API
 *   (REST, collections, composite) goes to /event/X__e as
 *   {"schema","payload":{CreatedDate,CreatedById,fields},"event":{EventUuid,replayId}};
 * - Change Data Capture: every create, update, delete and undelete of a
 *   record goes to /data/ChangeEvents and /data/<Object>ChangeEvent
 *   (/data/<Name>__ChangeEvent for custom objects), one event per record,
 *   with a full ChangeEventHeader;
 * - PushTopic: each live PushTopic record whose query (SELECT ... FROM X
 *   [WHERE ...], run by emu_soql) matches the changed record gets
 *   {"event":{"type","createdDate","replayId"},"sobject":{selected fields}}
 *   on /topic/<Name>;
 * - the control API's bulk publish.
 *
 * Events of a change made inside a transaction (allOrNone collections,
 * composite) wait for it: they are queued on the emu_txn and published when
 * it is destroyed after committing, or dropped by a rollback.
 */
#define _GNU_SOURCE
#include "emu_cometd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

/* Events of one transaction, waiting for its outcome. */
typedef struct emu_pending {
    emu_bus_t *bus;
    json_t *items; /* [[channel, data, with_created_date], ...] */
    char txn_key[37];
    int seq;
    uint64_t commit_number;
} emu_pending_t;

static void emu_uuid4(char out[37])
{
    unsigned char b[16];
    if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
        memset(b, 0x5a, sizeof(b));
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

/* A stable 22-character schema id per event type (Salesforce's look alike). */
static void emu_schema_id(const char *name, char out[23])
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint64_t h = 1469598103934665603ULL, g = 1099511628211ULL;
    for (const char *p = name; *p; p++) {
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
        g = (g ^ (unsigned char)*p) * 14695981039346656037ULL;
    }
    for (int i = 0; i < 22; i++) {
        uint64_t *v = i < 11 ? &h : &g;
        out[i] = b64[*v & 63];
        *v = (*v >> 6) | (*v << 58);
    }
    out[22] = '\0';
}

static void emu_pending_publish(emu_pending_t *p)
{
    size_t i;
    json_t *it, *last = NULL;
    char *dt = NULL, *et = NULL;
    json_array_foreach(p->items, i, it)
    {
        json_t *data = json_array_get(it, 1);
        if (data != last) { /* one serialization for the channels sharing an event */
            free(dt);
            free(et);
            last = data;
            if (emu_bus_serialize(data, &dt, &et) != 0)
                continue;
        }
        if (dt)
            emu_bus_publish_text(p->bus, json_string_value(json_array_get(it, 0)), dt, et,
                                 json_is_true(json_array_get(it, 2)));
    }
    free(dt);
    free(et);
    json_array_clear(p->items);
}

static void emu_pending_done(void *arg, bool commit)
{
    emu_pending_t *p = arg;
    if (commit)
        emu_pending_publish(p);
    json_decref(p->items);
    free(p);
}

/* The queue for this change: the transaction's, or a new one published by
 * the caller at once (*now = true). */
static emu_pending_t *emu_pending_for(emu_dml_ctx_t *ctx, bool *now)
{
    emu_pending_t *p = ctx->txn ? emu_txn_deferred(ctx->txn, emu_pending_done) : NULL;
    *now = !ctx->txn;
    if (p)
        return p;
    p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->bus = ctx->emu->bus;
    p->items = json_array();
    emu_uuid4(p->txn_key);
    pthread_mutex_lock(&ctx->emu->lock);
    p->commit_number = ++ctx->emu->cdc_commit_number;
    pthread_mutex_unlock(&ctx->emu->lock);
    if (ctx->txn)
        emu_txn_defer(ctx->txn, emu_pending_done, p);
    return p;
}

static void emu_pending_add(emu_pending_t *p, const char *channel, json_t *data, bool created_date)
{
    json_array_append_new(p->items, json_pack("[s,o,b]", channel, data, created_date));
}

/* "/data/AccountChangeEvent" for Account, "/data/Widget__ChangeEvent" for Widget__c. */
static void emu_cdc_channel(const emu_sobject_t *so, char *out, size_t out_size)
{
    size_t n = strlen(so->name);
    if (n > 3 && !strcmp(so->name + n - 3, "__c"))
        snprintf(out, out_size, "/data/%.*s__ChangeEvent", (int)(n - 3), so->name);
    else
        snprintf(out, out_size, "/data/%sChangeEvent", so->name);
}

static bool emu_cdc_enabled(const emu_sobject_t *so)
{
    return !so->is_event && strcmp(so->name, "PushTopic") != 0;
}

/* Selected for change events now (entity selection, control API). */
static bool emu_cdc_selected(emu_t *emu, const emu_sobject_t *so)
{
    if (!emu_cdc_enabled(so) || !emu->cdc_off)
        return false;
    pthread_mutex_lock(&emu->lock);
    bool off = emu->cdc_off[so->index];
    pthread_mutex_unlock(&emu->lock);
    return !off;
}

int emu_cometd_set_cdc(emu_t *emu, const json_t *spec, char *err, size_t err_size)
{
    json_t *ent = json_object_get(spec, "entities");
    const char *word = json_string_value(ent);
    size_t n = emu->schema->nsobjects;
    bool *off = calloc(n ? n : 1, sizeof(bool));
    if (!off || !emu->cdc_off) {
        free(off);
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    if (word && (!strcmp(word, "all") || !strcmp(word, "none"))) {
        for (size_t i = 0; i < n; i++)
            off[i] = !strcmp(word, "none");
    } else if (json_is_array(ent)) {
        for (size_t i = 0; i < n; i++)
            off[i] = true;
        size_t i;
        json_t *v;
        json_array_foreach(ent, i, v)
        {
            const emu_sobject_t *so = emu_schema_find(emu->schema, json_string_value(v));
            if (!so || !emu_cdc_enabled(so)) {
                snprintf(err, err_size, "entities: %s is not an object with change events",
                         json_string_value(v) ? json_string_value(v) : "(not a string)");
                free(off);
                return -1;
            }
            off[so->index] = false;
        }
    } else {
        snprintf(err, err_size, "{\"entities\": \"all\" | \"none\" | [\"Account\", ...]} expected");
        free(off);
        return -1;
    }
    pthread_mutex_lock(&emu->lock);
    memcpy(emu->cdc_off, off, (n ? n : 1) * sizeof(bool));
    pthread_mutex_unlock(&emu->lock);
    free(off);
    return 0;
}

json_t *emu_cometd_get_cdc(emu_t *emu)
{
    json_t *list = json_array();
    bool all = true;
    pthread_mutex_lock(&emu->lock);
    for (size_t i = 0; i < emu->schema->nsobjects; i++) {
        const emu_sobject_t *so = &emu->schema->sobjects[i];
        if (!emu_cdc_enabled(so))
            continue;
        if (emu->cdc_off && emu->cdc_off[i])
            all = false;
        else
            json_array_append_new(list, json_string(so->name));
    }
    pthread_mutex_unlock(&emu->lock);
    if (all) {
        json_decref(list);
        return json_pack("{s:s}", "entities", "all");
    }
    return json_pack("{s:o}", "entities", list);
}

static const emu_sobject_t *emu_cdc_object(emu_t *emu, const char *channel)
{
    const char *p = channel + 6; /* after "/data/" */
    size_t n = strlen(p);
    char name[256];
    if (n > 13 && !strcmp(p + n - 13, "__ChangeEvent"))
        snprintf(name, sizeof(name), "%.*s__c", (int)(n - 13), p);
    else if (n > 11 && !strcmp(p + n - 11, "ChangeEvent"))
        snprintf(name, sizeof(name), "%.*s", (int)(n - 11), p);
    else
        return NULL;
    const emu_sobject_t *so = emu_schema_find(emu->schema, name);
    return so && emu_cdc_enabled(so) ? so : NULL;
}

static bool emu_pushtopic_exists(emu_t *emu, const char *name)
{
    const emu_sobject_t *pt = emu_schema_find(emu->schema, "PushTopic");
    bool found = false;
    if (!pt)
        return false;
    emu_store_rdlock(emu->store);
    size_t n;
    json_t *const *rows = emu_store_rows(emu->store, pt, &n);
    for (size_t i = 0; i < n && !found; i++) {
        const char *nm = json_string_value(json_object_get(rows[i], "Name"));
        found = nm && !strcmp(nm, name) && !json_is_true(json_object_get(rows[i], "IsDeleted"));
    }
    emu_store_unlock(emu->store);
    return found;
}

bool emu_cometd_channel_exists(emu_t *emu, const char *channel)
{
    if (!strncmp(channel, "/event/", 7)) {
        const emu_sobject_t *so = emu_schema_find(emu->schema, channel + 7);
        if (so && so->is_event)
            return true;
    } else if (!strcmp(channel, "/data/ChangeEvents")) {
        return true;
    } else if (!strncmp(channel, "/data/", 6)) {
        if (emu_cdc_object(emu, channel))
            return true;
    } else if (!strncmp(channel, "/topic/", 7)) {
        if (emu_pushtopic_exists(emu, channel + 7))
            return true;
    }
    /* A channel the control API published to (a generic /u/ channel, say). */
    emu_bus_lock(emu->bus);
    bool known = emu_bus_chan_locked(emu->bus, channel, false) != NULL;
    emu_bus_unlock(emu->bus);
    return known;
}

/* Stored datetimes end in +0000; streamed ones in Z (API 37.0+). */
static json_t *emu_stream_value(const emu_sobject_t *so, const char *name, json_t *v)
{
    const emu_field_t *f = emu_schema_field(so, name);
    const char *s = json_string_value(v);
    size_t n = s ? strlen(s) : 0;
    if (f && !strcmp(f->type, "datetime") && n > 5 && !strcmp(s + n - 5, "+0000"))
        return json_sprintf("%.*sZ", (int)(n - 5), s);
    return json_incref(v);
}

static bool emu_cdc_skipped_field(const char *name)
{
    return !strcmp(name, "Id") || !strcmp(name, "IsDeleted") || !strcmp(name, "SystemModstamp");
}

/* Every set field of the record (create and undelete events). */
static void emu_cdc_all_fields(const emu_sobject_t *so, const json_t *rec, json_t *payload)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)rec, k, v)
    {
        if (emu_cdc_skipped_field(k) || json_is_null(v))
            continue;
        json_object_set_new(payload, k, emu_stream_value(so, k, v));
    }
}

static const char *const emu_change_names[] = {"CREATE", "UPDATE", "DELETE", "UNDELETE"};
static const char *const emu_topic_types[] = {"created", "updated", "deleted", "undeleted"};

static void emu_cdc_event(emu_dml_ctx_t *ctx, emu_pending_t *p, const emu_sobject_t *so,
                          const json_t *rec, const json_t *changes, emu_change_t type)
{
    const char *id = json_string_value(json_object_get(rec, "Id"));
    const char *user =
        ctx->sess && ctx->sess->user_id[0] ? ctx->sess->user_id : ctx->emu->default_user_id;
    json_t *payload = json_object();
    json_t *changed = json_array(), *nulled = json_array();
    if (type == EMU_CHANGE_CREATE || type == EMU_CHANGE_UNDELETE) {
        emu_cdc_all_fields(so, rec, payload);
    } else if (type == EMU_CHANGE_UPDATE) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)changes, k, v)
        {
            json_t *old = json_object_get(rec, k);
            bool same = old ? json_equal(old, v) : json_is_null(v);
            if (emu_cdc_skipped_field(k) || (same && strcmp(k, "LastModifiedDate") != 0))
                continue;
            json_array_append_new(changed, json_string(k));
            if (json_is_null(v))
                json_array_append_new(nulled, json_string(k));
            json_object_set_new(payload, k, emu_stream_value(so, k, v));
        }
    }
    json_t *header =
        json_pack("{s:s,s:[s],s:s,s:s,s:s,s:i,s:I,s:I,s:s,s:o,s:o,s:[]}", "entityName", so->name,
                  "recordIds", id ? id : "", "changeType", emu_change_names[type], "changeOrigin",
                  "com/salesforce/api/rest/62.0", "transactionKey", p->txn_key, "sequenceNumber",
                  ++p->seq, "commitTimestamp", (json_int_t)emu_bus_wall_ms(), "commitNumber",
                  (json_int_t)p->commit_number, "commitUser", user, "changedFields", changed,
                  "nulledFields", nulled, "diffFields");
    /* ChangeEventHeader first, as Salesforce sends it. */
    json_t *ordered = json_pack("{s:o}", "ChangeEventHeader", header);
    json_object_update(ordered, payload);
    json_decref(payload);
    char schema[23], channel[300];
    emu_cdc_channel(so, channel, sizeof(channel));
    emu_schema_id(channel, schema);
    json_t *data = json_pack("{s:s,s:o,s:{}}", "schema", schema, "payload", ordered, "event");
    emu_pending_add(p, channel, json_incref(data), false); /* shared: serialized once */
    emu_pending_add(p, "/data/ChangeEvents", data, false);
}

typedef struct emu_one_src {
    emu_t *emu;
    const json_t *rec;
    bool done;
} emu_one_src_t;

static const json_t *emu_one_next(void *arg)
{
    emu_one_src_t *s = arg;
    if (s->done)
        return NULL;
    s->done = true;
    return s->rec;
}

static const json_t *emu_one_by_id(void *arg, const char *id)
{
    emu_one_src_t *s = arg;
    char id18[19];
    return emu_id_normalize(id, id18) == 0 ? emu_store_get(s->emu->store, id18) : NULL;
}

static const json_t *emu_one_schema(void *arg, const char *name)
{
    const emu_sobject_t *so = emu_schema_find(((emu_t *)arg)->schema, name);
    return so ? so->def : NULL;
}

/* PushTopics over `so` whose query matches `after` (the record as the change leaves it). */
static void emu_pushtopic_events(emu_dml_ctx_t *ctx, emu_pending_t *p, const emu_sobject_t *so,
                                 const json_t *after, emu_change_t type)
{
#ifdef EMU_HAVE_SOQL
    static const char *const notify[] = {"NotifyForOperationCreate", "NotifyForOperationUpdate",
                                         "NotifyForOperationDelete", "NotifyForOperationUndelete"};
    emu_t *emu = ctx->emu;
    const emu_sobject_t *pt = emu_schema_find(emu->schema, "PushTopic");
    if (!pt)
        return;
    size_t n;
    json_t *const *rows = emu_store_rows(emu->store, pt, &n);
    for (size_t i = 0; i < n; i++) {
        const json_t *t = rows[i];
        const char *name = json_string_value(json_object_get(t, "Name"));
        const char *query = json_string_value(json_object_get(t, "Query"));
        if (!name || !query || json_is_true(json_object_get(t, "IsDeleted")) ||
            json_is_false(json_object_get(t, "IsActive")) ||
            json_is_false(json_object_get(t, notify[type])))
            continue;
        char code[64], msg[512];
        emu_soql_schema_t schema = {.sobject = emu_one_schema, .ctx = emu};
        emu_soql_t *q = emu_soql_prepare(query, &schema, code, sizeof(code), msg, sizeof(msg));
        if (!q)
            continue; /* a PushTopic with a bad query never fires */
        if (strcasecmp(emu_soql_from(q), so->name) != 0 || emu_soql_is_count(q)) {
            emu_soql_destroy(q);
            continue;
        }
        emu_one_src_t one = {.emu = emu, .rec = after};
        emu_soql_source_t src = {.next = emu_one_next, .by_id = emu_one_by_id, .ctx = &one};
        size_t total = 0;
        json_t *out =
            emu_soql_execute(q, &src, true, "62.0", &total, code, sizeof(code), msg, sizeof(msg));
        emu_soql_destroy(q);
        json_t *row = json_array_get(out, 0);
        if (row) {
            json_t *sobject = json_object();
            const char *k;
            json_t *v;
            json_object_foreach(row, k, v)
            {
                if (strcmp(k, "attributes") != 0)
                    json_object_set_new(sobject, k, emu_stream_value(so, k, v));
            }
            char channel[300];
            snprintf(channel, sizeof(channel), "/topic/%s", name);
            emu_pending_add(p, channel,
                            json_pack("{s:{s:s},s:o}", "event", "type", emu_topic_types[type],
                                      "sobject", sobject),
                            true);
        }
        json_decref(out);
    }
#else
    (void)ctx;
    (void)p;
    (void)so;
    (void)after;
    (void)type;
#endif
}

static void emu_platform_event(emu_dml_ctx_t *ctx, emu_pending_t *p, const emu_sobject_t *so,
                               const json_t *rec)
{
    json_t *payload = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)rec, k, v)
    {
        if (emu_cdc_skipped_field(k) || !strcmp(k, "ReplayId") || !strcmp(k, "EventUuid") ||
            json_is_null(v))
            continue;
        json_object_set_new(payload, k, emu_stream_value(so, k, v));
    }
    const char *uuid = json_string_value(json_object_get(rec, "EventUuid"));
    char fresh[37], channel[300], schema[23];
    if (!uuid) {
        emu_uuid4(fresh);
        uuid = fresh;
    }
    snprintf(channel, sizeof(channel), "/event/%s", so->name);
    emu_schema_id(channel, schema);
    (void)ctx;
    emu_pending_add(p, channel,
                    json_pack("{s:s,s:o,s:{s:s}}", "schema", schema, "payload", payload, "event",
                              "EventUuid", uuid),
                    false);
}

void emu_cometd_on_change(emu_dml_ctx_t *ctx, const emu_sobject_t *so, const json_t *rec,
                          const json_t *changes, emu_change_t type)
{
    if (ctx->trusted || !ctx->emu->bus)
        return;
    bool now = false;
    emu_pending_t *p = emu_pending_for(ctx, &now);
    if (!p)
        return;
    if (so->is_event) {
        if (type == EMU_CHANGE_CREATE)
            emu_platform_event(ctx, p, so, rec);
    } else if (emu_cdc_enabled(so)) {
        if (emu_cdc_selected(ctx->emu, so))
            emu_cdc_event(ctx, p, so, rec, changes, type);
        json_t *after = json_copy((json_t *)rec);
        if (changes)
            json_object_update(after, (json_t *)changes);
        if (type == EMU_CHANGE_DELETE || type == EMU_CHANGE_UNDELETE)
            json_object_set_new(after, "IsDeleted", json_boolean(type == EMU_CHANGE_DELETE));
        emu_pushtopic_events(ctx, p, so, after, type);
        json_decref(after);
    }
    if (now) {
        emu_pending_publish(p);
        emu_pending_done(p, false);
    }
}

int emu_cometd_publish(emu_t *emu, const char *channel, size_t count, const json_t *payloads,
                       uint64_t *first, uint64_t *last, char *err, size_t err_size)
{
    if (!channel || channel[0] != '/') {
        snprintf(err, err_size, "\"channel\": a channel name starting with '/' expected");
        return -1;
    }
    if (!emu_cometd_channel_exists(emu, channel)) {
        snprintf(err, err_size, "no channel %s (no such platform event, object or PushTopic)",
                 channel);
        return -1;
    }
    size_t n = payloads ? json_array_size(payloads) : count;
    if (n == 0 || n > 1000000 || (payloads && !json_is_array(payloads))) {
        snprintf(err, err_size,
                 "\"count\": 1..1000000 or \"payloads\": a non-empty array expected");
        return -1;
    }
    bool topic = !strncmp(channel, "/topic/", 7);
    bool event = !strncmp(channel, "/event/", 7);
    char schema[23], now[32];
    emu_schema_id(channel, schema);
    *first = *last = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *given = payloads ? json_array_get(payloads, i) : NULL;
        json_t *payload;
        if (given) {
            payload = json_incref(given);
        } else {
            pthread_mutex_lock(&emu->lock);
            uint64_t seq = ++emu->event_synthetic_seq;
            pthread_mutex_unlock(&emu->lock);
            payload = json_pack("{s:o}", topic ? "Name" : "Order_Number__c",
                                json_sprintf("E%llu", (unsigned long long)seq));
        }
        json_t *data;
        if (topic) {
            data = json_pack("{s:{s:s},s:o}", "event", "type", "created", "sobject", payload);
        } else if (event) {
            if (json_is_object(payload) && !json_object_get(payload, "CreatedDate")) {
                emu_bus_iso(emu_bus_wall_ms(), now);
                json_t *full =
                    json_pack("{s:s,s:s}", "CreatedDate", now, "CreatedById", emu->default_user_id);
                json_object_update(full, payload);
                json_decref(payload);
                payload = full;
            }
            char uuid[37];
            emu_uuid4(uuid);
            data = json_pack("{s:s,s:o,s:{s:s}}", "schema", schema, "payload", payload, "event",
                             "EventUuid", uuid);
        } else {
            data = json_pack("{s:s,s:o,s:{}}", "schema", schema, "payload", payload, "event");
        }
        uint64_t id = data ? emu_bus_publish(emu->bus, channel, data, topic) : 0;
        json_decref(data);
        if (!id) {
            snprintf(err, err_size, "publish failed after %zu events (out of memory)", i);
            return -1;
        }
        if (!*first)
            *first = id;
        *last = id;
    }
    return 0;
}
