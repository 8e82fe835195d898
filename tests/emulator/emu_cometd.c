/*
 * emu_cometd.c - the Bayeux endpoint /cometd/XX.X as Salesforce serves it:
 * long-polling only, the replay extension, Salesforce's error strings
 * (salesforce-wire.md 4.3, the cometd_* fixtures) and client expiry.
 *
 * A request is a JSON array of Bayeux messages. Handshake, subscribe,
 * unsubscribe and disconnect are answered in order; a /meta/connect is
 * answered last, after holding the request until an event arrives for one of
 * the client's subscriptions or the advice timeout passes. Its reply and the
 * events share one JSON array, built by concatenating the serialized events
 * kept by the bus.
 *
 * Client state (emu_client_t) is guarded by the bus lock. A client dropped
 * while one of its connects is held stays allocated, marked dropped, until
 * that connect leaves (in_connect counts them).
 */
#define _GNU_SOURCE
#include "emu_cometd.h"
#include "sfb.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

typedef struct emu_sub {
    emu_bus_chan_t *chan;
    uint64_t cursor; /* replay id of the last event delivered (or skipped by -1) */
} emu_sub_t;

typedef struct emu_client {
    char id[32];
    emu_sub_t subs[EMU_COMETD_MAX_SUBS];
    size_t nsubs;
    bool advised;        /* the first connect reply carries the advice */
    bool dropped;        /* forgotten; freed when in_connect reaches 0 */
    bool restart_answer; /* a held connect of a dropped client answers successfully */
    int in_connect;
    uint64_t connect_gen; /* a newer connect of the same client ends the older one */
    int64_t last_seen;    /* monotonic ms of the last reply: expiry counts from it */
    struct emu_client *next;
} emu_client_t;

struct emu_cometd {
    emu_bus_t *bus; /* its lock guards everything below */
    emu_client_t *clients;
    size_t nclients; /* live (not dropped) */
    int timeout_ms, expiry_ms;
    int delay_ms, delay_next;
    bool shutdown;
    uint64_t seq;
};

emu_cometd_t *emu_cometd_create(emu_bus_t *bus, int timeout_ms, int expiry_ms)
{
    emu_cometd_t *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->bus = bus;
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : EMU_COMETD_DEFAULT_TIMEOUT_MS;
    c->expiry_ms = expiry_ms > 0 ? expiry_ms : EMU_COMETD_DEFAULT_EXPIRY_MS;
    return c;
}

void emu_cometd_destroy(emu_cometd_t *c)
{
    if (!c)
        return;
    for (emu_client_t *cl = c->clients, *next; cl; cl = next) {
        next = cl->next;
        free(cl);
    }
    free(c);
}

void emu_cometd_set_timeouts(emu_cometd_t *c, int timeout_ms, int expiry_ms)
{
    emu_bus_lock(c->bus);
    if (timeout_ms > 0)
        c->timeout_ms = timeout_ms;
    if (expiry_ms > 0)
        c->expiry_ms = expiry_ms;
    emu_bus_unlock(c->bus);
}

/* Unlinks and frees the clients that are gone: dropped, or silent past the
 * expiry, with no connect held. Caller holds the bus lock. */
static void emu_cometd_sweep(emu_cometd_t *c)
{
    int64_t now = emu_bus_now_ms();
    for (emu_client_t **pp = &c->clients; *pp;) {
        emu_client_t *cl = *pp;
        bool expired = !cl->dropped && cl->in_connect == 0 && now - cl->last_seen > c->expiry_ms;
        if (expired) {
            SFB_DEBUG("emu", "cometd client %s expired", cl->id);
            c->nclients--;
        }
        if ((cl->dropped || expired) && cl->in_connect == 0) {
            *pp = cl->next;
            free(cl);
            continue;
        }
        pp = &cl->next;
    }
}

static emu_client_t *emu_cometd_find(emu_cometd_t *c, const char *id)
{
    if (!id)
        return NULL;
    emu_cometd_sweep(c);
    for (emu_client_t *cl = c->clients; cl; cl = cl->next)
        if (!cl->dropped && !strcmp(cl->id, id))
            return cl;
    return NULL;
}

static void emu_cometd_forget(emu_cometd_t *c, emu_client_t *cl, bool answer_ok)
{
    if (cl->dropped)
        return;
    cl->dropped = true;
    cl->restart_answer = answer_ok;
    c->nclients--;
    emu_cometd_sweep(c);
    emu_bus_broadcast_locked(c->bus);
}

void emu_cometd_drop_all(emu_cometd_t *c, bool restart)
{
    emu_bus_lock(c->bus);
    for (emu_client_t *cl = c->clients; cl; cl = cl->next)
        if (!cl->dropped) {
            cl->dropped = true;
            cl->restart_answer = restart;
        }
    c->nclients = 0;
    emu_cometd_sweep(c);
    emu_bus_broadcast_locked(c->bus);
    emu_bus_unlock(c->bus);
}

void emu_cometd_delay(emu_cometd_t *c, int ms, int next)
{
    emu_bus_lock(c->bus);
    c->delay_ms = ms > 0 ? ms : 0;
    c->delay_next = next > 0 ? next : 0;
    emu_bus_unlock(c->bus);
}

void emu_cometd_shutdown(emu_cometd_t *c)
{
    if (!c)
        return;
    emu_bus_lock(c->bus);
    c->shutdown = true;
    emu_bus_broadcast_locked(c->bus);
    emu_bus_unlock(c->bus);
}

size_t emu_cometd_clients(emu_cometd_t *c)
{
    emu_bus_lock(c->bus);
    emu_cometd_sweep(c);
    size_t n = c->nclients;
    emu_bus_unlock(c->bus);
    return n;
}

/* 27 lower-case base-36 characters, like Salesforce's client ids. */
static void emu_cometd_new_id(emu_cometd_t *c, char out[32])
{
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    unsigned char rnd[24];
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        memset(rnd, 0, sizeof(rnd));
    uint64_t seq = ++c->seq; /* unique even if the random bytes were not */
    for (int i = 0; i < 6; i++) {
        out[i] = digits[seq % 36];
        seq /= 36;
    }
    for (int i = 6; i < 27; i++)
        out[i] = digits[rnd[i - 6] % 36];
    out[27] = '\0';
}

/* ---- replies ---- */

static json_t *emu_reply(const json_t *msg, const char *channel)
{
    json_t *r = json_object();
    json_object_set_new(r, "channel", json_string(channel));
    json_t *id = json_object_get(msg, "id");
    if (id)
        json_object_set(r, "id", id);
    return r;
}

static json_t *emu_reply_error(const json_t *msg, const char *channel, const char *client_id,
                               const char *error)
{
    json_t *r = emu_reply(msg, channel);
    if (client_id)
        json_object_set_new(r, "clientId", json_string(client_id));
    json_object_set_new(r, "error", json_string(error));
    json_object_set_new(r, "successful", json_false());
    return r;
}

static json_t *emu_reply_unknown_client(const json_t *msg, const char *channel)
{
    json_t *r = emu_reply_error(msg, channel, NULL, "403::Unknown client");
    json_object_set_new(r, "advice",
                        json_pack("{s:i,s:s}", "interval", 0, "reconnect", "handshake"));
    return r;
}

static json_t *emu_reply_auth_invalid(const json_t *msg, const char *channel, const char *cid)
{
    json_t *r = emu_reply_error(msg, channel, cid, "401::Authentication invalid");
    json_object_set_new(r, "advice", json_pack("{s:s,s:i}", "reconnect", "none", "interval", 0));
    return r;
}

static json_t *emu_handshake(emu_cometd_t *c, const json_t *msg, bool valid)
{
    if (!valid) { /* cometd_handshake_denied fixture */
        json_t *r = emu_reply_error(msg, "/meta/handshake", NULL, "403::Handshake denied");
        json_object_set_new(
            r, "ext",
            json_pack("{s:{s:s}}", "sfdc", "failureReason", "401::Authentication invalid"));
        json_object_set_new(r, "advice", json_pack("{s:s}", "reconnect", "none"));
        return r;
    }
    json_t *types = json_object_get(msg, "supportedConnectionTypes");
    if (json_is_array(types)) {
        bool lp = false;
        size_t i;
        json_t *t;
        json_array_foreach(types, i, t) lp |=
            json_is_string(t) && !strcmp(json_string_value(t), "long-polling");
        if (!lp)
            return emu_reply_error(msg, "/meta/handshake", NULL,
                                   "400::Invalid connection type (only long-polling)");
    }
    char id[32];
    emu_bus_lock(c->bus);
    emu_cometd_sweep(c);
    emu_client_t *cl = c->nclients < EMU_COMETD_MAX_CLIENTS ? calloc(1, sizeof(*cl)) : NULL;
    if (cl) {
        emu_cometd_new_id(c, cl->id);
        cl->last_seen = emu_bus_now_ms();
        cl->next = c->clients;
        c->clients = cl;
        c->nclients++;
        memcpy(id, cl->id, sizeof(id));
    }
    emu_bus_unlock(c->bus);
    if (!cl)
        return emu_reply_error(msg, "/meta/handshake", NULL,
                               "403::Organization concurrent user limit exceeded");
    json_t *r = json_pack("{s:{s:b,s:b},s:s,s:s,s:[s],s:s}", "ext", "replay", 1, "payload.format",
                          1, "minimumVersion", "1.0", "clientId", id, "supportedConnectionTypes",
                          "long-polling", "channel", "/meta/handshake");
    json_t *mid = json_object_get(msg, "id");
    if (mid)
        json_object_set(r, "id", mid);
    json_object_set_new(r, "version", json_string("1.0"));
    json_object_set_new(r, "successful", json_true());
    return r;
}

/* Java's Map.toString of the replay map, as Salesforce quotes it in errors. */
static void emu_replay_map_text(const json_t *map, char *out, size_t out_size)
{
    size_t len = 0;
    len += (size_t)snprintf(out, out_size, "{");
    const char *k;
    json_t *v;
    bool first = true;
    json_object_foreach((json_t *)map, k, v)
    {
        char *vs = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        if (len < out_size)
            len += (size_t)snprintf(out + len, out_size - len, "%s%s=%s", first ? "" : ", ", k,
                                    vs ? vs : "null");
        free(vs);
        first = false;
    }
    if (len < out_size)
        snprintf(out + len, out_size - len, "}");
}

static json_t *emu_subscribe(emu_t *emu, const json_t *msg, bool valid, bool sub)
{
    emu_cometd_t *c = emu->cometd;
    const char *ch = sub ? "/meta/subscribe" : "/meta/unsubscribe";
    const char *cid = json_string_value(json_object_get(msg, "clientId"));
    const char *name = json_string_value(json_object_get(msg, "subscription"));
    char err[1536];
    json_t *r = NULL;
    if (!valid)
        return emu_reply_auth_invalid(msg, ch, cid);
    emu_bus_lock(c->bus);
    bool known = emu_cometd_find(c, cid) != NULL;
    emu_bus_unlock(c->bus);
    if (!known)
        return emu_reply_unknown_client(msg, ch);
    if (!name || !*name) {
        r = emu_reply_error(msg, ch, cid, "400::Channel name not specified");
        goto done;
    }
    if (name[0] != '/') {
        r = emu_reply_error(msg, ch, cid,
                            "400::Channel subscriptions must start with a leading '/'");
        goto done;
    }
    long long replay = -1;
    if (sub) {
        /* Outside the bus lock: this reads the store (PushTopics). */
        if (!emu_cometd_channel_exists(emu, name)) {
            snprintf(err, sizeof(err),
                     "400::The channel you requested to subscribe to doesn't exist {%s}", name);
            r = emu_reply_error(msg, ch, cid, err);
            goto done;
        }
        json_t *map = json_object_get(json_object_get(msg, "ext"), "replay");
        if (json_is_object(map)) {
            json_t *v = json_object_get(map, name);
            if (!v) {
                char text[1024];
                emu_replay_map_text(map, text, sizeof(text));
                snprintf(err, sizeof(err),
                         "400::The replayId for channel {%s} wasn't found using the provided "
                         "replay ID map {%s}. Ensure that the channel name you provided in the "
                         "replay map is valid and matches the channel name used for subscribing.",
                         name, text);
                r = emu_reply_error(msg, ch, cid, err);
                goto done;
            }
            if (json_is_integer(v))
                replay = (long long)json_integer_value(v);
            else if (json_is_real(v) && json_real_value(v) == (double)(long long)json_real_value(v))
                replay = (long long)json_real_value(v);
            else
                replay = -3; /* not a number: an invalid replay id */
        }
    }
    emu_bus_lock(c->bus);
    emu_client_t *cl = emu_cometd_find(c, cid);
    if (!cl) {
        emu_bus_unlock(c->bus);
        return emu_reply_unknown_client(msg, ch);
    }
    cl->last_seen = emu_bus_now_ms();
    size_t i = 0;
    for (; i < cl->nsubs; i++)
        if (!strcmp(emu_bus_chan_name(cl->subs[i].chan), name))
            break;
    if (!sub) {
        if (i < cl->nsubs)
            cl->subs[i] = cl->subs[--cl->nsubs];
        emu_bus_unlock(c->bus);
        goto ok;
    }
    emu_bus_chan_t *chan = emu_bus_chan_locked(c->bus, name, true);
    uint64_t first = 1, last = 0;
    if (chan)
        emu_bus_range_locked(c->bus, chan, &first, &last);
    uint64_t cursor;
    if (replay == -1)
        cursor = last;
    else if (replay == -2)
        cursor = first - 1;
    else if (replay >= 0 && (uint64_t)replay + 1 >= first && (uint64_t)replay <= last)
        cursor = (uint64_t)replay;
    else {
        emu_bus_unlock(c->bus);
        char shown[64];
        if (replay == -3)
            snprintf(shown, sizeof(shown), "%s", "?");
        else
            snprintf(shown, sizeof(shown), "%lld", replay);
        snprintf(err, sizeof(err),
                 "400::The replayId {%s} you provided was invalid.  Please provide a valid ID, -2 "
                 "to replay all events, or -1 to replay only new events.",
                 shown);
        r = emu_reply_error(msg, ch, cid, err);
        goto done;
    }
    if (!chan || (i == cl->nsubs && cl->nsubs == EMU_COMETD_MAX_SUBS)) {
        emu_bus_unlock(c->bus);
        r = emu_reply_error(msg, ch, cid, "403::Subscription limit exceeded");
        goto done;
    }
    if (i == cl->nsubs)
        cl->nsubs++;
    cl->subs[i] = (emu_sub_t){.chan = chan, .cursor = cursor};
    emu_bus_broadcast_locked(c->bus); /* a held connect may now have events (-2, an id) */
    emu_bus_unlock(c->bus);
ok:
    r = emu_reply(msg, ch);
    json_object_set_new(r, "clientId", json_string(cid));
    json_object_set_new(r, "subscription", json_string(name));
    json_object_set_new(r, "successful", json_true());
    return r;
done:
    if (r && name)
        json_object_set_new(r, "subscription", json_string(name));
    return r;
}

static json_t *emu_disconnect(emu_cometd_t *c, const json_t *msg, bool valid)
{
    const char *cid = json_string_value(json_object_get(msg, "clientId"));
    if (!valid)
        return emu_reply_auth_invalid(msg, "/meta/disconnect", cid);
    emu_bus_lock(c->bus);
    emu_client_t *cl = emu_cometd_find(c, cid);
    if (cl)
        emu_cometd_forget(c, cl, true); /* a held connect returns, successfully */
    emu_bus_unlock(c->bus);
    if (!cl)
        return emu_reply_unknown_client(msg, "/meta/disconnect");
    json_t *r = emu_reply(msg, "/meta/disconnect");
    json_object_set_new(r, "clientId", json_string(cid));
    json_object_set_new(r, "successful", json_true());
    return r;
}

static bool emu_cometd_pending(emu_cometd_t *c, emu_client_t *cl)
{
    for (size_t i = 0; i < cl->nsubs; i++) {
        uint64_t first, last;
        emu_bus_range_locked(c->bus, cl->subs[i].chan, &first, &last);
        if (last > cl->subs[i].cursor)
            return true;
    }
    return false;
}

/* Holds the connect, then answers it; events are appended to `events`. */
static json_t *emu_connect(emu_t *emu, const json_t *msg, bool valid, emu_buf_t *events)
{
    emu_cometd_t *c = emu->cometd;
    const char *cid = json_string_value(json_object_get(msg, "clientId"));
    const char *type = json_string_value(json_object_get(msg, "connectionType"));
    if (!valid) {
        /* The session is gone: so is the client (it must handshake again
         * once it has a new token). */
        emu_bus_lock(c->bus);
        emu_client_t *cl = emu_cometd_find(c, cid);
        if (cl)
            emu_cometd_forget(c, cl, false);
        emu_bus_unlock(c->bus);
        return emu_reply_auth_invalid(msg, "/meta/connect", cid);
    }
    if (type && strcmp(type, "long-polling") != 0) {
        char err[300];
        snprintf(err, sizeof(err), "400::Invalid connection type %.200s", type);
        return emu_reply_error(msg, "/meta/connect", cid, err);
    }
    emu_bus_lock(c->bus);
    emu_client_t *cl = emu_cometd_find(c, cid);
    if (!cl) {
        emu_bus_unlock(c->bus);
        return emu_reply_unknown_client(msg, "/meta/connect");
    }
    uint64_t gen = ++cl->connect_gen;
    cl->in_connect++;
    emu_bus_broadcast_locked(c->bus); /* an older held connect of this client ends */
    /* A client may ask for a shorter hold (CometD clients send advice
     * {"timeout":0} on their first connect to get the advice at once). */
    json_t *want = json_object_get(json_object_get(msg, "advice"), "timeout");
    int hold = c->timeout_ms;
    if (json_is_integer(want) && json_integer_value(want) >= 0 && json_integer_value(want) < hold)
        hold = (int)json_integer_value(want);
    int64_t deadline = emu_bus_now_ms() + hold;
    while (!c->shutdown && !cl->dropped && gen == cl->connect_gen && !emu_cometd_pending(c, cl) &&
           emu_bus_now_ms() < deadline)
        emu_bus_wait_locked(c->bus, deadline);
    bool unknown = cl->dropped && !cl->restart_answer;
    bool first = !cl->advised;
    if (!cl->dropped && gen == cl->connect_gen) {
        size_t n = 0;
        for (size_t i = 0; i < cl->nsubs && n < EMU_COMETD_MAX_BATCH; i++)
            n += emu_bus_collect_locked(c->bus, cl->subs[i].chan, &cl->subs[i].cursor,
                                        EMU_COMETD_MAX_BATCH - n, cl->id, events);
        cl->advised = true;
    }
    if (c->delay_next > 0 && !c->shutdown) {
        /* Injected: the reply (and the events taken above) leave late; the
         * client may have given up on it by then, as on a slow network. */
        c->delay_next--;
        int64_t until = emu_bus_now_ms() + c->delay_ms;
        while (!c->shutdown && emu_bus_now_ms() < until)
            emu_bus_wait_locked(c->bus, until);
    }
    int timeout = c->timeout_ms;
    cl->in_connect--;
    cl->last_seen = emu_bus_now_ms();
    emu_cometd_sweep(c); /* frees cl if it was dropped meanwhile */
    emu_bus_unlock(c->bus);
    if (unknown)
        return emu_reply_unknown_client(msg, "/meta/connect");
    json_t *r = json_object();
    json_object_set_new(r, "clientId", json_string(cid));
    if (first)
        json_object_set_new(
            r, "advice",
            json_pack("{s:i,s:i,s:s}", "interval", 0, "timeout", timeout, "reconnect", "retry"));
    json_object_set_new(r, "channel", json_string("/meta/connect"));
    json_t *mid = json_object_get(msg, "id");
    if (mid)
        json_object_set(r, "id", mid);
    json_object_set_new(r, "successful", json_true());
    return r;
}

static void emu_cometd_text(emu_resp_t *resp, int status, const char *text)
{
    resp->status = status;
    resp->text = strdup(text);
    resp->content_type = "text/plain;charset=UTF-8";
}

static bool emu_cometd_session(emu_t *emu, const char *authorization)
{
#ifdef EMU_HAVE_OAUTH
    emu_session_t s;
    return emu->oauth && emu_oauth_check_bearer(emu->oauth, authorization, &s) == 0;
#else
    (void)emu;
    (void)authorization;
    return false;
#endif
}

void emu_cometd_handle(emu_t *emu, const emu_req_t *req, emu_resp_t *resp)
{
    json_t *msgs = NULL, *replies = NULL, *connect_msg = NULL;
    emu_buf_t events = {.max = 64u << 20};
    char *text = NULL;
    const char *p = req->path + 7; /* after "/cometd" */
    int major = 0, digits = 0;
    if (*p == '/')
        p++;
    while (isdigit((unsigned char)*p) && digits < 4)
        major = major * 10 + (*p++ - '0'), digits++;
    if (!digits || *p != '.' || !isdigit((unsigned char)p[1])) {
        emu_cometd_text(resp, 400,
                        "API version in the URI is mandatory. URI format: '/cometd/67.0'");
        goto done;
    }
    if (major < 37) {
        emu_cometd_text(resp, 400,
                        "Unsupported API version. Only API versions '37.0' and later are "
                        "supported.");
        goto done;
    }
    if (!emu->cometd) {
        emu_cometd_text(resp, 503, "sfemu's streaming API is not started");
        goto done;
    }
    if (strcmp(req->method, "POST") != 0) {
        emu_cometd_text(resp, 405, "Bayeux messages are POSTed (long-polling transport)");
        goto done;
    }
    if (req->body_len > EMU_COMETD_MAX_BODY) {
        emu_cometd_text(resp, 413, "Maximum Request Size Exceeded");
        goto done;
    }
    json_error_t jerr;
    msgs = json_loadb(req->body, req->body_len, 0, &jerr);
    if (json_is_object(msgs)) { /* Bayeux allows one message without the array */
        json_t *arr = json_pack("[O]", msgs);
        json_decref(msgs);
        msgs = arr;
    }
    size_t n = json_array_size(msgs);
    bool shaped = json_is_array(msgs) && n > 0 && n <= 100;
    for (size_t i = 0; shaped && i < n; i++)
        shaped = json_is_object(json_array_get(msgs, i)) &&
                 json_is_string(json_object_get(json_array_get(msgs, i), "channel"));
    if (!shaped) {
        emu_cometd_text(resp, 400,
                        "Malformed Bayeux message: a JSON array of 1 to 100 messages, "
                        "each with a channel, expected");
        goto done;
    }
    replies = json_array();
    if (!req->authorization || !*req->authorization) {
        for (size_t i = 0; i < n; i++) {
            json_t *m = json_array_get(msgs, i);
            json_t *r = emu_reply_error(m, json_string_value(json_object_get(m, "channel")), NULL,
                                        "401::Request requires authentication");
            json_object_set_new(r, "advice", json_pack("{s:s}", "reconnect", "none"));
            json_array_append_new(replies, r);
        }
        resp->status = 401;
        emu_resp_json(resp, 401, replies);
        replies = NULL;
        goto done;
    }
    bool valid = emu_cometd_session(emu, req->authorization);
    size_t connect_at = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_array_get(msgs, i);
        const char *ch = json_string_value(json_object_get(m, "channel"));
        json_t *r;
        if (!strcmp(ch, "/meta/handshake"))
            r = emu_handshake(emu->cometd, m, valid);
        else if (!strcmp(ch, "/meta/subscribe"))
            r = emu_subscribe(emu, m, valid, true);
        else if (!strcmp(ch, "/meta/unsubscribe"))
            r = emu_subscribe(emu, m, valid, false);
        else if (!strcmp(ch, "/meta/disconnect"))
            r = emu_disconnect(emu->cometd, m, valid);
        else if (!strcmp(ch, "/meta/connect") && !connect_msg) {
            connect_msg = m; /* held last, so the other messages are answered first */
            connect_at = json_array_size(replies);
            r = json_null();
        } else if (!strncmp(ch, "/meta/", 6))
            r = emu_reply_error(m, ch, NULL, "400::Unknown meta channel");
        else
            r = emu_reply_error(m, ch, json_string_value(json_object_get(m, "clientId")),
                                "403::Publish denied");
        json_array_append_new(replies, r);
    }
    if (connect_msg)
        json_array_set_new(replies, connect_at, emu_connect(emu, connect_msg, valid, &events));
    text = json_dumps(replies, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!text) {
        emu_cometd_text(resp, 500, "out of memory");
        goto done;
    }
    if (events.len > 0) {
        /* "[replies]" + ",ev1,ev2" -> "[replies,ev1,ev2]" */
        emu_buf_t all = {0};
        size_t tl = strlen(text);
        if (emu_buf_append(&all, text, tl - 1) != 0 ||
            emu_buf_append(&all, events.p, events.len) != 0 || emu_buf_append(&all, "]", 1) != 0) {
            emu_buf_free(&all);
            emu_cometd_text(resp, 500, "out of memory");
            goto done;
        }
        free(text);
        text = all.p;
    }
    resp->status = 200;
    resp->text = text;
    resp->content_type = EMU_JSON_CT;
    text = NULL;
done:
    free(text);
    emu_buf_free(&events);
    json_decref(msgs);
    json_decref(replies);
}
