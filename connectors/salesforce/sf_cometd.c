/*
 * sf_cometd.c - the Streaming API client: Bayeux over long-polling HTTP
 * (salesforce-wire.md §4), with Salesforce's replay extension.
 *
 * One client is one Bayeux session of one org. It has its own curl handle
 * (not the org's pool) because the session lives in a sticky cookie that
 * must be replayed on every request, and because a long poll holds the
 * connection for up to 110 s. The polling thread owns everything here;
 * only `cancelled` is touched by other threads.
 *
 * What "no gap" needs from this layer: the replay id of every channel moves
 * only when event_cb has returned for an event, and every session rebuild
 * (unknown client, 401, a batch that does not parse, a transport failure
 * the server did not survive) subscribes from there.
 */
#include "sf_int.h"
#include "sfb.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_MAX_BYTES    (16u * 1024 * 1024)
#define DEFAULT_MAX_MESSAGES 10000
#define DEFAULT_TIMEOUT_MS   110000L /* Salesforce's connect hold, until advice says */
#define POLL_MARGIN_MAX_MS   30000L  /* on top of the hold before we call it dead */
#define POLL_MARGIN_MIN_MS   5000L
#define DISCONNECT_MS        2000L

typedef struct {
    char *channel;
    int64_t replay_id; /* last delivered, or the start value */
} cometd_chan_t;

struct sf_cometd_s {
    sf_org_t *org;
    sf_cometd_conf_t conf;
    cometd_chan_t *chans;
    size_t chan_cnt;
    CURL *curl;
    char *client_id; /* NULL: no session */
    char *instance_url;
    char *token;
    uint64_t token_gen;
    long advice_timeout_ms;
    long advice_interval_ms;
    unsigned msg_seq;
    int auth_failures; /* consecutive 401s */
    const char *failed_channel;
    atomic_bool cancelled;
    sf_cometd_stats_t stats;
};

long sf_backoff_full_jitter(unsigned attempt, long base_ms, long cap_ms)
{
    long ceiling = base_ms;
    for (unsigned i = 0; i < attempt && ceiling < cap_ms; i++)
        ceiling *= 2;
    if (ceiling > cap_ms)
        ceiling = cap_ms;
    if (ceiling <= 0)
        return 0;
    /* Jitter only spreads reconnect storms; rand_r quality is plenty. */
    static _Thread_local unsigned seed;
    if (!seed)
        seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)&seed;
    return (long)((unsigned long)rand_r(&seed) % (unsigned long)(ceiling + 1));
}

static cometd_chan_t *chan_find(const sf_cometd_t *c, const char *channel)
{
    for (size_t i = 0; channel && i < c->chan_cnt; i++)
        if (strcmp(c->chans[i].channel, channel) == 0)
            return &c->chans[i];
    return NULL;
}

sf_cometd_t *sf_cometd_create(sf_org_t *org, const sf_cometd_sub_t *subs, size_t sub_cnt,
                              const sf_cometd_conf_t *conf, char *errstr, size_t errstr_size)
{
    sf_cometd_t *c = NULL;
    if (!org || !conf || !conf->event_cb || (sub_cnt && !subs)) {
        snprintf(errstr, errstr_size, "sf_cometd_create: missing org, conf or event_cb");
        goto fail;
    }
    c = calloc(1, sizeof(*c));
    if (!c)
        goto oom;
    c->org = org;
    c->conf = *conf;
    if (!c->conf.max_bytes)
        c->conf.max_bytes = DEFAULT_MAX_BYTES;
    if (!c->conf.max_messages)
        c->conf.max_messages = DEFAULT_MAX_MESSAGES;
    c->advice_timeout_ms = DEFAULT_TIMEOUT_MS;
    c->chans = calloc(sub_cnt ? sub_cnt : 1, sizeof(*c->chans));
    if (!c->chans)
        goto oom;
    for (size_t i = 0; i < sub_cnt; i++) {
        if (!subs[i].channel || subs[i].channel[0] != '/' || subs[i].replay_id < -2) {
            snprintf(errstr, errstr_size, "sf_cometd_create: bad subscription %zu", i);
            goto fail;
        }
        if (!(c->chans[i].channel = strdup(subs[i].channel)))
            goto oom;
        c->chans[i].replay_id = subs[i].replay_id;
        c->chan_cnt++;
    }
    if (!(c->curl = curl_easy_init()))
        goto oom;
    return c;
oom:
    snprintf(errstr, errstr_size, "out of memory");
fail:
    sf_cometd_destroy(c);
    return NULL;
}

static void session_drop(sf_cometd_t *c)
{
    free(c->client_id);
    c->client_id = NULL;
    c->advice_interval_ms = 0;
    if (c->curl)
        curl_easy_setopt(c->curl, CURLOPT_COOKIELIST, "ALL"); /* the old session's cookie */
}

void sf_cometd_reset(sf_cometd_t *c)
{
    if (c)
        session_drop(c);
}

void sf_cometd_cancel(sf_cometd_t *c)
{
    if (c)
        atomic_store(&c->cancelled, true);
}

long sf_cometd_delay_ms(const sf_cometd_t *c)
{
    return c->advice_interval_ms;
}

const char *sf_cometd_failed_channel(const sf_cometd_t *c)
{
    return c->failed_channel;
}

int sf_cometd_set_replay(sf_cometd_t *c, const char *channel, int64_t replay_id)
{
    cometd_chan_t *ch = chan_find(c, channel);
    if (!ch || replay_id < -2)
        return -1;
    ch->replay_id = replay_id;
    return 0;
}

int64_t sf_cometd_replay(const sf_cometd_t *c, const char *channel)
{
    cometd_chan_t *ch = chan_find(c, channel);
    return ch ? ch->replay_id : SF_REPLAY_LATEST;
}

void sf_cometd_stats(const sf_cometd_t *c, sf_cometd_stats_t *stats)
{
    *stats = c->stats;
}

/* ---- HTTP -------------------------------------------------------------- */

typedef struct {
    sf_cometd_t *c;
    char *body;
    size_t len, cap;
    bool too_large;
} xfer_t;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userp)
{
    xfer_t *x = userp;
    size_t n = size * nmemb;
    if (x->len + n > x->c->conf.max_bytes) {
        x->too_large = true;
        return 0;
    }
    if (x->len + n + 1 > x->cap) {
        size_t cap = x->cap ? x->cap : 8192;
        while (cap < x->len + n + 1)
            cap *= 2;
        char *b = realloc(x->body, cap);
        if (!b)
            return 0;
        x->body = b;
        x->cap = cap;
    }
    memcpy(x->body + x->len, ptr, n);
    x->len += n;
    x->body[x->len] = '\0';
    return n;
}

/* curl calls this at least once a second: the caller's idle hook (Kafka
 * delivery reports) runs here, and a cancel aborts the transfer. */
static int on_progress(void *userp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    sf_cometd_t *c = userp;
    if (c->conf.idle_cb)
        c->conf.idle_cb(c->conf.opaque);
    return atomic_load(&c->cancelled) ? 1 : 0;
}

/* Makes sure we hold a token and know the instance URL. */
static int token_ensure(sf_cometd_t *c, sf_error_t **errp)
{
    if (c->token)
        return 0;
    free(c->instance_url);
    c->instance_url = NULL;
    return sf_auth_get(c->org, &c->token, &c->instance_url, &c->token_gen, errp);
}

static void token_forget(sf_cometd_t *c)
{
    if (c->token)
        sf_auth_drop(c->org, c->token_gen);
    sf_secret_free(c->token);
    c->token = NULL;
}

/*
 * POSTs a JSON array of messages; on HTTP 200 parses the answer into
 * *batchp. A 401 is returned as SF_ERR_AUTH with http_status 401 so the
 * caller can refresh; other statuses are SF_ERR_HTTP.
 */
static int post(sf_cometd_t *c, json_t *msgs, long timeout_ms, sf_bayeux_batch_t **batchp,
                sf_error_t **errp)
{
    char *payload = NULL, url[1024], hbuf[4096];
    struct curl_slist *hdrs = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";
    xfer_t x = {.c = c};
    int ret = -1;
    long status = 0;

    *batchp = NULL;
    if (atomic_load(&c->cancelled)) {
        sf_set_err(errp, sf_error_new(SF_ERR_TRANSPORT, 0, NULL, "cancelled"));
        goto done;
    }
    if (token_ensure(c, errp) != 0)
        goto done;
    payload = json_dumps(msgs, JSON_COMPACT);
    if (!payload) {
        sf_set_err(errp, sf_error_new(SF_ERR_INTERNAL, 0, NULL, "out of memory"));
        goto done;
    }
    snprintf(url, sizeof(url), "%s/cometd/%s", c->instance_url, c->org->api_version);
    snprintf(hbuf, sizeof(hbuf), "Authorization: Bearer %s", c->token);
    hdrs = curl_slist_append(hdrs, hbuf);
    explicit_bzero(hbuf, sizeof(hbuf));
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    hdrs = curl_slist_append(hdrs, "Expect:");
    if (!hdrs) {
        sf_set_err(errp, sf_error_new(SF_ERR_INTERNAL, 0, NULL, "out of memory"));
        goto done;
    }
    CURL *curl = c->curl;
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(curl, CURLOPT_COOKIEFILE, ""); /* the engine: the sticky session cookie */
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "gzip");
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, c->org->connect_timeout_ms);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, c->org->tls_verify ? 1L : 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, c->org->tls_verify ? 2L : 0L);
    if (c->org->ca_file)
        curl_easy_setopt(curl, CURLOPT_CAINFO, c->org->ca_file);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, c);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");

    CURLcode rc = curl_easy_perform(curl);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, NULL);
    if (rc != CURLE_OK) {
        if (x.too_large)
            sf_set_err(errp, sf_error_new(SF_ERR_TOO_LARGE, 0, NULL,
                                          "Bayeux response over the limit of %zu bytes",
                                          c->conf.max_bytes));
        else
            sf_set_err(errp, sf_error_new(SF_ERR_TRANSPORT, 0, NULL, "%s",
                                          rc == CURLE_ABORTED_BY_CALLBACK ? "cancelled"
                                          : errbuf[0]                     ? errbuf
                                                      : curl_easy_strerror(rc)));
        goto done;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (status == 401) {
        sf_set_err(errp, sf_error_new(SF_ERR_AUTH, 401, "INVALID_SESSION_ID",
                                      "Streaming API answered 401"));
        goto done;
    }
    if (status != 200) {
        /* Bayeux error bodies ("400 Invalid connection type") are short text: keep a bit. */
        sf_set_err(errp, sf_error_new(SF_ERR_HTTP, status, NULL,
                                      "Streaming API answered HTTP %ld: %.200s", status,
                                      x.body ? x.body : ""));
        goto done;
    }
    if (sf_bayeux_parse(x.body, x.len, c->conf.max_bytes, c->conf.max_messages, batchp, errp) != 0)
        goto done;
    ret = 0;
done:
    curl_slist_free_all(hdrs);
    if (payload) {
        explicit_bzero(payload, strlen(payload));
        free(payload);
    }
    free(x.body);
    return ret;
}

static json_t *meta_msg(sf_cometd_t *c, const char *channel)
{
    char id[24];
    snprintf(id, sizeof(id), "%u", ++c->msg_seq);
    json_t *m = json_pack("{s:s, s:s}", "channel", channel, "id", id);
    if (m && c->client_id)
        json_object_set_new(m, "clientId", json_string(c->client_id));
    return m;
}

/* Events go to the caller in order; a channel we never subscribed to is
 * the server's error, counted and skipped. */
static void deliver_events(sf_cometd_t *c, const sf_bayeux_batch_t *batch)
{
    if (batch->rejected) {
        c->stats.rejected += batch->rejected;
        SFB_WARN(c->org->scope, "cometd: %zu malformed message(s) ignored; first: %s",
                 batch->rejected, batch->reject_reason);
    }
    for (size_t i = 0; i < batch->msg_cnt; i++) {
        const sf_bayeux_msg_t *m = &batch->msgs[i];
        if (m->kind != SF_BAYEUX_EVENT)
            continue;
        cometd_chan_t *ch = chan_find(c, m->channel);
        if (!ch) {
            c->stats.rejected++;
            SFB_WARN(c->org->scope, "cometd: event on unsubscribed channel %.255s ignored",
                     m->channel);
            continue;
        }
        c->conf.event_cb(c->conf.opaque, ch->channel, m->replay_id, m->data);
        ch->replay_id = m->replay_id;
        c->stats.events++;
    }
}

static const sf_bayeux_msg_t *find_meta(const sf_bayeux_batch_t *batch, sf_bayeux_kind_t kind,
                                        const char *subscription)
{
    for (size_t i = 0; i < batch->msg_cnt; i++) {
        const sf_bayeux_msg_t *m = &batch->msgs[i];
        if (m->kind == kind &&
            (!subscription || (m->subscription && strcmp(m->subscription, subscription) == 0)))
            return m;
    }
    return NULL;
}

static void take_advice(sf_cometd_t *c, const sf_bayeux_msg_t *m)
{
    if (m->advice_timeout_ms >= 0)
        c->advice_timeout_ms = m->advice_timeout_ms;
    if (m->advice_interval_ms >= 0)
        c->advice_interval_ms = m->advice_interval_ms;
}

/* A 401 (HTTP or Bayeux "401::..."): drop the token and the session; the
 * second in a row is the caller's problem. */
static int on_auth_failure(sf_cometd_t *c, const char *what, sf_error_t **errp)
{
    token_forget(c);
    session_drop(c);
    c->stats.auth_refreshes++;
    if (++c->auth_failures >= 2) {
        sf_set_err(errp, sf_error_new(SF_ERR_AUTH, 401, "INVALID_SESSION_ID",
                                      "Streaming API refused a fresh token: %s", what));
        return -1;
    }
    SFB_INFO(c->org->scope, "cometd: %s: new token, new session", what);
    return 0;
}

static bool error_is_auth(const char *error)
{
    return error && strncmp(error, "401::", 5) == 0;
}

static int handshake(sf_cometd_t *c, sf_error_t **errp)
{
    sf_bayeux_batch_t *batch = NULL;
    sf_error_t *err = NULL;
    json_t *msgs = json_array();
    json_t *m = meta_msg(c, "/meta/handshake");
    int ret = -1;

    if (!msgs || !m) {
        sf_set_err(errp, sf_error_new(SF_ERR_INTERNAL, 0, NULL, "out of memory"));
        goto done;
    }
    json_object_set_new(m, "version", json_string("1.0"));
    json_object_set_new(m, "minimumVersion", json_string("1.0"));
    json_object_set_new(m, "supportedConnectionTypes", json_pack("[s]", "long-polling"));
    json_object_set_new(m, "ext", json_pack("{s:b}", "replay", 1));
    json_array_append_new(msgs, m);
    m = NULL;
    c->stats.handshakes++;
    if (post(c, msgs, c->org->timeout_ms, &batch, &err) != 0) {
        if (err->kind == SF_ERR_AUTH && err->http_status == 401) {
            ret = on_auth_failure(c, "handshake answered 401", errp);
            if (ret == 0)
                ret = 1; /* no session yet */
            goto done;
        }
        sf_set_err(errp, err);
        err = NULL;
        goto done;
    }
    deliver_events(c, batch);
    const sf_bayeux_msg_t *reply = find_meta(batch, SF_BAYEUX_HANDSHAKE, NULL);
    if (!reply) {
        sf_set_err(errp, sf_error_new(SF_ERR_PARSE, 0, NULL, "handshake answer has no reply"));
        goto done;
    }
    if (!reply->successful) {
        if (error_is_auth(reply->failure_reason) || error_is_auth(reply->error)) {
            ret = on_auth_failure(c, "handshake denied (401)", errp);
            if (ret == 0)
                ret = 1;
            goto done;
        }
        sf_set_err(errp,
                   sf_error_new(SF_ERR_SALESFORCE, 0, NULL, "handshake refused: %.300s%s%.300s",
                                reply->error, reply->failure_reason ? " / " : "",
                                reply->failure_reason ? reply->failure_reason : ""));
        goto done;
    }
    if (!reply->client_id || !*reply->client_id) {
        sf_set_err(errp, sf_error_new(SF_ERR_PARSE, 0, NULL, "handshake reply without clientId"));
        goto done;
    }
    free(c->client_id);
    if (!(c->client_id = strdup(reply->client_id))) {
        sf_set_err(errp, sf_error_new(SF_ERR_INTERNAL, 0, NULL, "out of memory"));
        goto done;
    }
    take_advice(c, reply);
    ret = 0;
done:
    sf_error_destroy(err);
    json_decref(m);
    json_decref(msgs);
    sf_bayeux_batch_destroy(batch);
    return ret;
}

/* Subscribes every channel in one request, each from its replay id. */
static int subscribe_all(sf_cometd_t *c, sf_error_t **errp)
{
    sf_bayeux_batch_t *batch = NULL;
    sf_error_t *err = NULL;
    json_t *msgs = json_array();
    int ret = -1;

    c->failed_channel = NULL;
    for (size_t i = 0; msgs && i < c->chan_cnt; i++) {
        json_t *m = meta_msg(c, "/meta/subscribe");
        if (!m)
            break;
        json_object_set_new(m, "subscription", json_string(c->chans[i].channel));
        json_t *map = json_object();
        json_object_set_new(map, c->chans[i].channel, json_integer(c->chans[i].replay_id));
        json_object_set_new(m, "ext", json_pack("{s:o}", "replay", map));
        json_array_append_new(msgs, m);
    }
    if (!msgs || json_array_size(msgs) != c->chan_cnt) {
        sf_set_err(errp, sf_error_new(SF_ERR_INTERNAL, 0, NULL, "out of memory"));
        goto done;
    }
    if (post(c, msgs, c->org->timeout_ms, &batch, &err) != 0) {
        if (err->kind == SF_ERR_AUTH && err->http_status == 401) {
            ret = on_auth_failure(c, "subscribe answered 401", errp);
            goto done;
        }
        session_drop(c);
        sf_set_err(errp, err);
        err = NULL;
        goto done;
    }
    deliver_events(c, batch);
    for (size_t i = 0; i < c->chan_cnt; i++) {
        const sf_bayeux_msg_t *r = find_meta(batch, SF_BAYEUX_SUBSCRIBE, c->chans[i].channel);
        /* Salesforce may leave `subscription` out of a failed reply. */
        if (!r)
            r = find_meta(batch, SF_BAYEUX_SUBSCRIBE, NULL);
        if (r && r->successful)
            continue;
        c->failed_channel = c->chans[i].channel;
        session_drop(c);
        if (r && sf_bayeux_error_is_invalid_replay(r->error)) {
            sf_set_err(errp, sf_error_new(SF_ERR_REPLAY_INVALID, 400, "INVALID_REPLAY_ID",
                                          "replay id %lld of %s was refused: %.300s",
                                          (long long)c->chans[i].replay_id, c->chans[i].channel,
                                          r->error));
        } else if (r && error_is_auth(r->error)) {
            ret = on_auth_failure(c, "subscribe refused (401)", errp);
            goto done;
        } else if (r && r->error && strncmp(r->error, "403::Unknown client", 19) == 0) {
            c->stats.rehandshakes++;
            ret = 0; /* session gone before we subscribed: the next poll starts over */
            goto done;
        } else {
            sf_set_err(errp,
                       sf_error_new(SF_ERR_SALESFORCE, 400, NULL, "subscribe to %s refused: %.300s",
                                    c->chans[i].channel, r ? r->error : "no reply"));
        }
        goto done;
    }
    ret = 0;
done:
    sf_error_destroy(err);
    json_decref(msgs);
    sf_bayeux_batch_destroy(batch);
    return ret;
}

static int connect_once(sf_cometd_t *c, sf_error_t **errp)
{
    sf_bayeux_batch_t *batch = NULL;
    sf_error_t *err = NULL;
    json_t *msgs = json_array();
    json_t *m = meta_msg(c, "/meta/connect");
    int ret = -1;

    if (!msgs || !m) {
        sf_set_err(errp, sf_error_new(SF_ERR_INTERNAL, 0, NULL, "out of memory"));
        goto done;
    }
    json_object_set_new(m, "connectionType", json_string("long-polling"));
    json_array_append_new(msgs, m);
    m = NULL;
    c->stats.connects++;
    /* A quarter of the hold on top of it (30 s on Salesforce's 110 s, at least 5 s):
     * a server that keeps a connect past that is gone or its answer is lost. */
    long margin = c->advice_timeout_ms / 4;
    margin = margin < POLL_MARGIN_MIN_MS   ? POLL_MARGIN_MIN_MS
             : margin > POLL_MARGIN_MAX_MS ? POLL_MARGIN_MAX_MS
                                           : margin;
    if (post(c, msgs, c->advice_timeout_ms + margin, &batch, &err) != 0) {
        if (err->kind == SF_ERR_AUTH && err->http_status == 401) {
            ret = on_auth_failure(c, "connect answered 401", errp);
            goto done;
        }
        if (err->kind == SF_ERR_PARSE || err->kind == SF_ERR_TOO_LARGE) {
            /* Events in it may be lost to us: rebuild the session from the last delivered id. */
            c->stats.bad_batches++;
            session_drop(c);
        } else if (err->kind == SF_ERR_TRANSPORT || err->kind == SF_ERR_HTTP) {
            /* A connect whose answer we never read (timeout, reset, proxy error) may have
             * carried events the server now counts as delivered to this client: the same
             * session would go on after them. A new one resubscribes from the last id we
             * delivered, so they come again (duplicates are dropped by replay id). */
            session_drop(c);
        }
        sf_set_err(errp, err);
        err = NULL;
        goto done;
    }
    c->auth_failures = 0;
    deliver_events(c, batch);
    const sf_bayeux_msg_t *reply = find_meta(batch, SF_BAYEUX_CONNECT, NULL);
    if (!reply) {
        /* Events without the connect reply: take them, ask again. */
        ret = 0;
        goto done;
    }
    take_advice(c, reply);
    if (reply->successful) {
        if (reply->advice_reconnect && strcmp(reply->advice_reconnect, "handshake") == 0) {
            c->stats.rehandshakes++;
            session_drop(c);
        }
        ret = 0;
        goto done;
    }
    if (error_is_auth(reply->error)) {
        ret = on_auth_failure(c, reply->error, errp);
        goto done;
    }
    if (reply->advice_reconnect && strcmp(reply->advice_reconnect, "none") == 0) {
        session_drop(c);
        sf_set_err(errp, sf_error_new(SF_ERR_SALESFORCE, 403, NULL,
                                      "connect refused, server says do not reconnect: %.300s",
                                      reply->error));
        goto done;
    }
    /* 403::Unknown client (session expired) or reconnect=handshake: start over. */
    SFB_INFO(c->org->scope,
             "cometd: %.200s: new handshake, resubscribing from the last "
             "delivered replay ids",
             reply->error);
    c->stats.rehandshakes++;
    session_drop(c);
    ret = 0;
done:
    sf_error_destroy(err);
    json_decref(m);
    json_decref(msgs);
    sf_bayeux_batch_destroy(batch);
    return ret;
}

int sf_cometd_poll(sf_cometd_t *c, sf_error_t **errp)
{
    if (c->client_id)
        return connect_once(c, errp);
    int rc = handshake(c, errp);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    if (subscribe_all(c, errp) != 0)
        return -1;
    if (c->client_id)
        SFB_INFO(c->org->scope, "cometd: session up, %zu channel(s) subscribed", c->chan_cnt);
    return 0;
}

void sf_cometd_destroy(sf_cometd_t *c)
{
    if (!c)
        return;
    if (c->client_id && c->curl) {
        /* Frees Salesforce's concurrent-client slot now rather than at expiry. */
        sf_bayeux_batch_t *batch = NULL;
        sf_error_t *err = NULL;
        json_t *msgs = json_array();
        json_t *m = meta_msg(c, "/meta/disconnect");
        atomic_store(&c->cancelled, false);
        c->conf.idle_cb = NULL;
        if (msgs && m && json_array_append_new(msgs, m) == 0) {
            m = NULL;
            post(c, msgs, DISCONNECT_MS, &batch, &err);
        }
        json_decref(m);
        json_decref(msgs);
        sf_error_destroy(err);
        sf_bayeux_batch_destroy(batch);
    }
    free(c->client_id);
    for (size_t i = 0; i < c->chan_cnt; i++)
        free(c->chans[i].channel);
    free(c->chans);
    if (c->curl)
        curl_easy_cleanup(c->curl);
    sf_secret_free(c->token);
    free(c->instance_url);
    free(c);
}
