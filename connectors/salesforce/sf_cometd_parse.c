/*
 * sf_cometd_parse.c - the Bayeux message parser of the Streaming API client.
 *
 * Everything here is outside input: every field is type-checked and bounded,
 * and a message that does not validate is left out and counted (with the
 * first reason) instead of being half-used. A body that is not JSON at all is
 * an error for the whole batch; the client then rebuilds its session from the
 * last delivered replay id, so nothing is skipped.
 */
#include "sf_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CHANNEL 255
/* Advice values above this are treated as this: a hostile server must not
 * park the client for hours. */
#define MAX_ADVICE_MS 600000L

static const struct {
    const char *name;
    sf_bayeux_kind_t kind;
} meta_channels[] = {
    {"/meta/handshake", SF_BAYEUX_HANDSHAKE},   {"/meta/connect", SF_BAYEUX_CONNECT},
    {"/meta/subscribe", SF_BAYEUX_SUBSCRIBE},   {"/meta/unsubscribe", SF_BAYEUX_UNSUBSCRIBE},
    {"/meta/disconnect", SF_BAYEUX_DISCONNECT},
};

static void reject(sf_bayeux_batch_t *batch, size_t idx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void reject(sf_bayeux_batch_t *batch, size_t idx, const char *fmt, ...)
{
    if (batch->rejected++ == 0) {
        char why[200];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, sizeof(why), fmt, ap);
        va_end(ap);
        snprintf(batch->reject_reason, sizeof(batch->reject_reason), "message %zu: %s", idx, why);
    }
}

/* An event channel: /event/, /data/, /topic/ or /u/ and a name of letters,
 * digits, '_' and '/' (event.v1's pattern). */
static bool event_channel_ok(const char *ch)
{
    static const char *const prefixes[] = {"/event/", "/data/", "/topic/", "/u/"};
    const char *name = NULL;
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]) && !name; i++)
        if (strncmp(ch, prefixes[i], strlen(prefixes[i])) == 0)
            name = ch + strlen(prefixes[i]);
    if (!name || !*name || *name == '/')
        return false;
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '/'))
            return false;
    }
    return true;
}

/* Optional string member: absent/null -> NULL (ok); another type -> -1. */
static int opt_string(const json_t *obj, const char *key, size_t max, const char **out)
{
    const json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || json_string_length(v) > max ||
        strlen(json_string_value(v)) != json_string_length(v))
        return -1;
    *out = json_string_value(v);
    return 0;
}

static int parse_advice(const json_t *obj, sf_bayeux_msg_t *m, const char **why)
{
    m->advice_interval_ms = -1;
    m->advice_timeout_ms = -1;
    const json_t *adv = json_object_get(obj, "advice");
    if (!adv || json_is_null(adv))
        return 0;
    if (!json_is_object(adv)) {
        *why = "advice is not an object";
        return -1;
    }
    if (opt_string(adv, "reconnect", 32, &m->advice_reconnect) != 0) {
        *why = "advice.reconnect is not a string";
        return -1;
    }
    if (m->advice_reconnect && strcmp(m->advice_reconnect, "retry") != 0 &&
        strcmp(m->advice_reconnect, "handshake") != 0 && strcmp(m->advice_reconnect, "none") != 0) {
        *why = "advice.reconnect is not retry, handshake or none";
        return -1;
    }
    const char *names[] = {"interval", "timeout"};
    long *dst[] = {&m->advice_interval_ms, &m->advice_timeout_ms};
    for (size_t i = 0; i < 2; i++) {
        const json_t *v = json_object_get(adv, names[i]);
        if (!v || json_is_null(v))
            continue;
        if (!json_is_integer(v) || json_integer_value(v) < 0) {
            *why = i == 0 ? "advice.interval is not a non-negative integer"
                          : "advice.timeout is not a non-negative integer";
            return -1;
        }
        json_int_t n = json_integer_value(v);
        *dst[i] = n > MAX_ADVICE_MS ? MAX_ADVICE_MS : (long)n;
    }
    return 0;
}

static int parse_event(const json_t *obj, sf_bayeux_msg_t *m, const char **why)
{
    const json_t *data = json_object_get(obj, "data");
    if (!json_is_object(data)) {
        *why = "event without a data object";
        return -1;
    }
    const json_t *ev = json_object_get(data, "event");
    const json_t *rid = json_is_object(ev) ? json_object_get(ev, "replayId") : NULL;
    if (!rid) {
        *why = "event without a replay id";
        return -1;
    }
    if (!json_is_integer(rid) || json_integer_value(rid) < 0) {
        *why = "event replay id is not a non-negative integer";
        return -1;
    }
    m->kind = SF_BAYEUX_EVENT;
    m->replay_id = (int64_t)json_integer_value(rid);
    m->data = data;
    return 0;
}

static int parse_message(const json_t *obj, sf_bayeux_msg_t *m, const char **why)
{
    memset(m, 0, sizeof(*m));
    if (!json_is_object(obj)) {
        *why = "not an object";
        return -1;
    }
    if (opt_string(obj, "channel", MAX_CHANNEL, &m->channel) != 0 || !m->channel) {
        *why = "no channel string";
        return -1;
    }
    if (opt_string(obj, "clientId", 128, &m->client_id) != 0) {
        *why = "clientId is not a string";
        return -1;
    }
    if (strncmp(m->channel, "/meta/", 6) != 0) {
        if (!event_channel_ok(m->channel)) {
            *why = "unknown channel";
            return -1;
        }
        return parse_event(obj, m, why);
    }
    size_t k = 0;
    while (k < sizeof(meta_channels) / sizeof(meta_channels[0]) &&
           strcmp(meta_channels[k].name, m->channel) != 0)
        k++;
    if (k == sizeof(meta_channels) / sizeof(meta_channels[0])) {
        *why = "unknown meta channel";
        return -1;
    }
    m->kind = meta_channels[k].kind;
    const json_t *ok = json_object_get(obj, "successful");
    if (!json_is_boolean(ok)) {
        *why = "meta message without a boolean 'successful'";
        return -1;
    }
    m->successful = json_is_true(ok);
    if (opt_string(obj, "error", 1024, &m->error) != 0) {
        *why = "error is not a string";
        return -1;
    }
    if (opt_string(obj, "subscription", MAX_CHANNEL, &m->subscription) != 0) {
        *why = "subscription is not a string";
        return -1;
    }
    if (parse_advice(obj, m, why) != 0)
        return -1;
    const json_t *ext = json_object_get(obj, "ext");
    const json_t *sfdc = json_is_object(ext) ? json_object_get(ext, "sfdc") : NULL;
    if (json_is_object(sfdc) && opt_string(sfdc, "failureReason", 1024, &m->failure_reason) != 0) {
        *why = "ext.sfdc.failureReason is not a string";
        return -1;
    }
    if (!m->successful && !m->error)
        m->error = "(no error text)";
    return 0;
}

int sf_bayeux_parse(const char *body, size_t len, size_t max_bytes, size_t max_messages,
                    sf_bayeux_batch_t **batchp, sf_error_t **errp)
{
    sf_bayeux_batch_t *batch = NULL;
    json_error_t jerr;
    int ret = -1;

    *batchp = NULL;
    if (len > max_bytes) {
        sf_set_err(errp, sf_error_new(SF_ERR_TOO_LARGE, 0, NULL,
                                      "Bayeux response of %zu bytes is over the limit of %zu", len,
                                      max_bytes));
        goto done;
    }
    batch = calloc(1, sizeof(*batch));
    if (!batch) {
        sf_set_err(errp, sf_error_new(SF_ERR_INTERNAL, 0, NULL, "out of memory"));
        goto done;
    }
    batch->root = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (!batch->root) {
        sf_set_err(errp, sf_error_new(SF_ERR_PARSE, 0, NULL,
                                      "Bayeux response is not JSON (line %d: %.120s)", jerr.line,
                                      jerr.text));
        goto done;
    }
    size_t cnt = json_is_array(batch->root)    ? json_array_size(batch->root)
                 : json_is_object(batch->root) ? 1
                                               : 0;
    if (!json_is_array(batch->root) && !json_is_object(batch->root)) {
        sf_set_err(errp, sf_error_new(SF_ERR_PARSE, 0, NULL,
                                      "Bayeux response is neither an array nor an object"));
        goto done;
    }
    if (cnt > max_messages) {
        sf_set_err(errp, sf_error_new(SF_ERR_TOO_LARGE, 0, NULL,
                                      "Bayeux response holds %zu messages, over the limit of %zu",
                                      cnt, max_messages));
        goto done;
    }
    batch->msgs = calloc(cnt ? cnt : 1, sizeof(*batch->msgs));
    if (!batch->msgs) {
        sf_set_err(errp, sf_error_new(SF_ERR_INTERNAL, 0, NULL, "out of memory"));
        goto done;
    }
    for (size_t i = 0; i < cnt; i++) {
        const json_t *obj =
            json_is_array(batch->root) ? json_array_get(batch->root, i) : batch->root;
        const char *why = NULL;
        sf_bayeux_msg_t *m = &batch->msgs[batch->msg_cnt];
        if (parse_message(obj, m, &why) != 0) {
            const json_t *ch = json_is_object(obj) ? json_object_get(obj, "channel") : NULL;
            reject(batch, i, "%s (channel %.80s)", why,
                   json_is_string(ch) ? json_string_value(ch) : "?");
            continue;
        }
        batch->msg_cnt++;
    }
    *batchp = batch;
    batch = NULL;
    ret = 0;
done:
    sf_bayeux_batch_destroy(batch);
    return ret;
}

void sf_bayeux_batch_destroy(sf_bayeux_batch_t *batch)
{
    if (!batch)
        return;
    json_decref(batch->root);
    free(batch->msgs);
    free(batch);
}

bool sf_bayeux_error_is_invalid_replay(const char *error)
{
    return error && strncmp(error, "400::The replayId {", 19) == 0 &&
           strstr(error, "you provided was invalid") != NULL;
}
