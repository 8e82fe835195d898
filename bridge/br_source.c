/*
 * br_source.c - Salesforce Streaming API events to Kafka (br_source.h).
 *
 * One thread per owned org, running one CometD client for all of that org's
 * channels. Not one per channel: Salesforce counts concurrent CometD clients
 * per org (20 on developer orgs, 1,000-2,000 in production, wire.md §4.5)
 * and one long poll carries every channel's events, so a thread per channel
 * would spend the scarce resource for nothing.
 *
 * The org thread owns everything below (cometd client, producer, state
 * handle, windows); the main thread only starts it, sets `stop`, cancels the
 * long poll and joins. `mu` guards the cometd pointer for that cancel.
 *
 * No gap: an event's replay id becomes the channel's stored position only
 * when Kafka has acknowledged every message of it and of every event before
 * it (an ordered window per channel, like the sink's tracker: delivery
 * reports arrive in any order across partitions). A failed delivery stops
 * the window there; the channel is then resubscribed from the last position
 * that was acknowledged, so what follows arrives again (duplicates, never a
 * gap). Duplicates carry the same org, channel and replay_id.
 */
#include "br_source.h"

#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "br_org.h"
#include "sf.h"
#include "sfb.h"

#define WINDOW_CAP        65536  /* events per channel received but not yet acknowledged */
#define PRODUCER_MAX_MSGS 100000 /* bound on the source producer's queue */
#define STATE_EVERY_MS    200    /* how often a moving position is written */
#define FLUSH_MS          30000
#define PREPARE_MS        5000 /* wait for an events topic's metadata at start-up */
#define BACKOFF_BASE_MS   500
#define BACKOFF_CAP_MS    30000
#define REPLAY_NONE       INT64_MIN

struct src_org;

typedef struct src_entry {
    struct src_chan *chan;
    int64_t replay_id;
    uint32_t pending; /* messages not yet acknowledged */
    bool bad;         /* a message of it was not delivered */
} src_entry_t;

typedef struct src_chan {
    struct src_org *org;
    const br_config_source_t *conf;
    char key[384]; /* state key "org|channel" */
    src_entry_t *ring;
    size_t head, count;
    int64_t start;       /* replay value of the first subscription */
    int64_t last_seen;   /* highest replay id taken in (duplicates below are skipped) */
    int64_t committable; /* every event up to here is in Kafka (REPLAY_NONE: none yet) */
    int64_t written;     /* what the state topic holds */
    bool failed;         /* a delivery failed: resubscribe from committable */
    bool disabled;       /* on_invalid_replay = fail hit it */
    uint64_t n_events, n_messages, n_duplicates, n_gaps, n_failed;
} src_chan_t;

typedef struct src_org {
    br_source_t *source;
    const br_config_org_t *conf;
    src_chan_t *chans;
    size_t chan_cnt;
    pthread_t thread;
    bool running; /* main thread */
    atomic_bool stop;
    pthread_mutex_t mu;
    sf_cometd_t *cometd; /* guarded by mu for sf_cometd_cancel */
    /* Org thread only: */
    sf_org_t *sf;
    kf_producer_t *producer;
    kf_state_t *state;
    int64_t last_state_ms;
    bool fatal;
} src_org_t;

struct br_source {
    const br_config_t *config;
    kf_client_t *client;
    src_org_t *orgs;
    size_t org_cnt;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------- window */

static void chan_advance(src_chan_t *chan)
{
    while (chan->count > 0) {
        src_entry_t *e = &chan->ring[chan->head];
        if (e->pending > 0 || e->bad)
            break;
        chan->committable = e->replay_id;
        chan->head = (chan->head + 1) % WINDOW_CAP;
        chan->count--;
    }
}

static void on_delivery(void *opaque, void *msg_opaque, kf_err_t err, const char *errstr,
                        const char *topic, int32_t partition, int64_t offset)
{
    (void)opaque, (void)partition, (void)offset;
    src_entry_t *e = msg_opaque;
    if (e->pending > 0)
        e->pending--;
    if (err != KF_OK) {
        src_chan_t *chan = e->chan;
        if (!e->bad)
            chan->n_failed++;
        e->bad = true;
        chan->failed = true;
        SFB_WARN(chan->org->conf->name,
                 "event %" PRId64 " of %s not delivered to %s (%s): resubscribing after %" PRId64,
                 e->replay_id, chan->conf->channel, topic ? topic : "?", errstr, chan->committable);
    }
}

/* Writes positions that moved (throttled unless `force`). */
static void org_store_positions(src_org_t *org, bool force)
{
    int64_t now = now_ms();
    if (!force && now - org->last_state_ms < STATE_EVERY_MS)
        return;
    org->last_state_ms = now;
    for (size_t i = 0; i < org->chan_cnt; i++) {
        src_chan_t *chan = &org->chans[i];
        if (chan->committable == REPLAY_NONE || chan->committable == chan->written)
            continue;
        char value[32], errstr[256];
        int n = snprintf(value, sizeof(value), "%" PRId64, chan->committable);
        if (kf_state_put(org->state, chan->key, value, (size_t)n, errstr, sizeof(errstr)) !=
            KF_OK) {
            SFB_WARN(org->conf->name, "state %s: %s (retried)", chan->key, errstr);
            continue;
        }
        chan->written = chan->committable;
    }
    char errstr[256];
    kf_state_poll(org->state, 0, errstr, sizeof(errstr));
}

/* Serves delivery reports and moves positions: between polls and, through
 * the CometD idle hook, while a long poll waits. */
static void org_service(src_org_t *org, int timeout_ms)
{
    char errstr[256];
    if (kf_producer_poll(org->producer, timeout_ms, NULL, errstr, sizeof(errstr)) == KF_ERR_FATAL &&
        !org->fatal) {
        org->fatal = true;
        SFB_ERROR(org->conf->name, "source producer failed: %s", errstr);
        atomic_store(&org->stop, true);
    }
    for (size_t i = 0; i < org->chan_cnt; i++)
        chan_advance(&org->chans[i]);
    org_store_positions(org, false);
}

static void on_idle(void *opaque)
{
    org_service(opaque, 0);
}

/* ---------------------------------------------------------------- events */

static src_chan_t *chan_find(src_org_t *org, const char *channel)
{
    for (size_t i = 0; i < org->chan_cnt; i++)
        if (strcmp(org->chans[i].conf->channel, channel) == 0)
            return &org->chans[i];
    return NULL;
}

static void iso_now(char *buf, size_t size)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, size - n, ".%03dZ", (int)(ts.tv_nsec / 1000000) % 1000);
}

/* Kafka keys of an event (schemas/event.v1): change events one message per
 * record id, platform events EventUuid, PushTopic sobject.Id, generic none.
 * Fills up to `max` borrowed strings; returns how many (0 = one unkeyed). */
static size_t event_keys(const char *channel, const json_t *data, const char **keys, size_t max)
{
    if (strncmp(channel, "/data/", 6) == 0) {
        const json_t *hdr = json_object_get(json_object_get(data, "payload"), "ChangeEventHeader");
        const json_t *ids = json_object_get(hdr, "recordIds");
        size_t n = 0, i;
        const json_t *id;
        json_array_foreach(ids, i, id)
        {
            if (json_is_string(id) && n < max)
                keys[n++] = json_string_value(id);
        }
        return n;
    }
    const json_t *v = NULL;
    if (strncmp(channel, "/event/", 7) == 0)
        v = json_object_get(json_object_get(data, "event"), "EventUuid");
    else if (strncmp(channel, "/topic/", 7) == 0)
        v = json_object_get(json_object_get(data, "sobject"), "Id");
    if (json_is_string(v) && max > 0) {
        keys[0] = json_string_value(v);
        return 1;
    }
    return 0;
}

#define MAX_KEYS 1000 /* recordIds in one change event (Salesforce batches up to a few hundred) */

static void on_event(void *opaque, const char *channel, int64_t replay_id, const json_t *data)
{
    src_org_t *org = opaque;
    src_chan_t *chan = chan_find(org, channel);
    char *value = NULL;
    json_t *doc = NULL;
    const char **keys = NULL;

    if (!chan)
        return; /* the client only reports subscribed channels */
    if (chan->last_seen != REPLAY_NONE && replay_id <= chan->last_seen) {
        chan->n_duplicates++; /* already taken in this session (a replay after a rebuild) */
        return;
    }
    /* Back-pressure: wait for acknowledgements rather than grow. */
    while (chan->count >= WINDOW_CAP && !org->fatal)
        org_service(org, 10);

    char received_at[40];
    iso_now(received_at, sizeof(received_at));
    doc =
        json_pack("{s:s, s:s, s:I, s:s, s:O}", "org", org->conf->name, "channel", channel,
                  "replay_id", (json_int_t)replay_id, "received_at", received_at, "payload", data);
    value = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    keys = calloc(MAX_KEYS, sizeof(*keys));
    size_t key_cnt = keys ? event_keys(channel, data, keys, MAX_KEYS) : 0;
    size_t msg_cnt = key_cnt ? key_cnt : 1;

    src_entry_t *e = &chan->ring[(chan->head + chan->count) % WINDOW_CAP];
    *e = (src_entry_t){.chan = chan, .replay_id = replay_id, .pending = 0, .bad = false};
    chan->count++;
    chan->last_seen = replay_id;
    chan->n_events++;
    if (!value || !keys) {
        e->bad = true;
        chan->failed = true;
        SFB_ERROR(org->conf->name, "event %" PRId64 " of %s: out of memory", replay_id, channel);
        goto done;
    }
    char rid[32];
    int rid_len = snprintf(rid, sizeof(rid), "%" PRId64, replay_id);
    kf_header_t hdrs[3] = {
        {"sfbridge-org", org->conf->name, strlen(org->conf->name)},
        {"sfbridge-channel", channel, strlen(channel)},
        {"sfbridge-replay-id", rid, (size_t)rid_len},
    };
    for (size_t i = 0; i < msg_cnt; i++) {
        const char *key = key_cnt ? keys[i] : NULL;
        e->pending++;
        for (;;) {
            char errstr[256];
            kf_err_t kerr = kf_producer_produce(org->producer, chan->conf->topic, KF_PARTITION_ANY,
                                                key, key ? strlen(key) : 0, value, strlen(value),
                                                hdrs, 3, e, errstr, sizeof(errstr));
            if (kerr == KF_OK) {
                chan->n_messages++;
                break;
            }
            if (kerr == KF_ERR_QUEUE_FULL && !org->fatal) {
                org_service(org, 10);
                continue;
            }
            e->pending--;
            e->bad = true;
            chan->failed = true;
            chan->n_failed++;
            SFB_WARN(org->conf->name, "event %" PRId64 " of %s: produce failed: %s", replay_id,
                     channel, errstr);
            goto done;
        }
    }
done:
    free(keys);
    free(value);
    json_decref(doc);
}

/* ---------------------------------------------------------------- org thread */

static int64_t start_of(src_org_t *org, src_chan_t *chan)
{
    switch (chan->conf->replay) {
    case BR_REPLAY_LATEST:
        return SF_REPLAY_LATEST;
    case BR_REPLAY_EARLIEST:
        return SF_REPLAY_EARLIEST;
    case BR_REPLAY_STORED:
        break;
    }
    const void *v = NULL;
    size_t len = 0;
    if (kf_state_get(org->state, chan->key, &v, &len) == KF_OK && len > 0 && len < 32) {
        char buf[32];
        memcpy(buf, v, len);
        buf[len] = '\0';
        char *end = NULL;
        long long id = strtoll(buf, &end, 10);
        if (*end == '\0' && id >= 0) {
            chan->committable = chan->written = id;
            return id;
        }
        SFB_WARN(org->conf->name, "state %s holds '%.31s', not a replay id: starting earliest",
                 chan->key, buf);
    }
    /* Nothing stored: a first start takes every retained event, so nothing
     * published between configuring a channel and starting is missed. */
    return SF_REPLAY_EARLIEST;
}

/* (Re)creates the CometD client for the enabled channels, each from where
 * it must resume. */
static int org_cometd_build(src_org_t *org)
{
    sf_cometd_sub_t *subs = calloc(org->chan_cnt, sizeof(*subs));
    size_t n = 0;
    char errstr[256];
    if (!subs)
        return -1;
    for (size_t i = 0; i < org->chan_cnt; i++) {
        src_chan_t *chan = &org->chans[i];
        if (chan->disabled)
            continue;
        subs[n].channel = chan->conf->channel;
        subs[n].replay_id = chan->committable != REPLAY_NONE ? chan->committable : chan->start;
        n++;
    }
    sf_cometd_conf_t conf = {.event_cb = on_event, .idle_cb = on_idle, .opaque = org};
    sf_cometd_t *cometd =
        n ? sf_cometd_create(org->sf, subs, n, &conf, errstr, sizeof(errstr)) : NULL;
    free(subs);
    if (n && !cometd) {
        SFB_ERROR(org->conf->name, "source: %s", errstr);
        return -1;
    }
    pthread_mutex_lock(&org->mu);
    sf_cometd_t *old = org->cometd;
    org->cometd = cometd;
    if (atomic_load(&org->stop) && cometd)
        sf_cometd_cancel(cometd);
    pthread_mutex_unlock(&org->mu);
    sf_cometd_destroy(old);
    return 0;
}

/* A delivery failed: wait for every report, drop the window past the last
 * acknowledged event and subscribe again from there. */
static void org_recover(src_org_t *org)
{
    char errstr[256];
    kf_producer_flush(org->producer, FLUSH_MS, errstr, sizeof(errstr));
    for (size_t i = 0; i < org->chan_cnt; i++) {
        src_chan_t *chan = &org->chans[i];
        chan_advance(chan);
        if (!chan->failed)
            continue;
        chan->failed = false;
        chan->count = 0;
        chan->last_seen = chan->committable;
    }
    org_cometd_build(org);
}

static void org_sleep(src_org_t *org, long ms)
{
    int64_t until = now_ms() + ms;
    while (!atomic_load(&org->stop)) {
        int64_t left = until - now_ms();
        if (left <= 0)
            break;
        org_service(org, left > 50 ? 50 : (int)left);
    }
}

/* SF_ERR_REPLAY_INVALID: apply on_invalid_replay. Never silent. */
static void org_invalid_replay(src_org_t *org, const sf_error_t *err)
{
    const char *name = sf_cometd_failed_channel(org->cometd);
    src_chan_t *chan = name ? chan_find(org, name) : NULL;
    if (!chan) {
        SFB_ERROR(org->conf->name, "source: %s", err->message);
        return;
    }
    int64_t refused = sf_cometd_replay(org->cometd, name);
    chan->n_gaps++;
    switch (chan->conf->on_invalid_replay) {
    case BR_ON_INVALID_EARLIEST:
    case BR_ON_INVALID_LATEST: {
        bool earliest = chan->conf->on_invalid_replay == BR_ON_INVALID_EARLIEST;
        SFB_WARN(org->conf->name,
                 "GAP: channel %s: replay id %" PRId64
                 " is no longer available; events after it that Salesforce no longer retains "
                 "are lost; resuming from %s (on_invalid_replay = %s)",
                 name, refused, earliest ? "the earliest retained event" : "new events only",
                 earliest ? "earliest" : "latest");
        sf_cometd_set_replay(org->cometd, name, earliest ? SF_REPLAY_EARLIEST : SF_REPLAY_LATEST);
        /* The ids restart lower or higher than what we saw: take what comes. */
        chan->last_seen = REPLAY_NONE;
        break;
    }
    case BR_ON_INVALID_FAIL:
        SFB_ERROR(org->conf->name,
                  "GAP: channel %s: replay id %" PRId64
                  " is no longer available; channel stopped (on_invalid_replay = fail); fix the "
                  "state or the policy and restart",
                  name, refused);
        chan->disabled = true;
        org_cometd_build(org);
        break;
    }
}

static void *org_thread(void *arg)
{
    src_org_t *org = arg;
    br_source_t *source = org->source;
    char errstr[512];
    unsigned attempt = 0;

    org->sf = br_org_create(source->config, org->conf, errstr, sizeof(errstr));
    if (!org->sf)
        goto fail;
    kf_state_conf_t sc = {.topic = source->config->state_topic, .partitions = 1};
    if (kf_state_create(source->client, &sc, &org->state, errstr, sizeof(errstr)) != KF_OK)
        goto fail;
    kf_producer_conf_t pc = {
        .delivery_cb = on_delivery, .opaque = org, .max_messages = PRODUCER_MAX_MSGS};
    if (kf_producer_create(source->client, &pc, &org->producer, errstr, sizeof(errstr)) != KF_OK)
        goto fail;
    /* Learn the events topics' metadata now rather than on the first event,
     * which would otherwise wait for it in librdkafka (kf_producer_prepare). */
    const char **topics = calloc(org->chan_cnt ? org->chan_cnt : 1, sizeof(*topics));
    if (topics) {
        char perr[1024];
        for (size_t i = 0; i < org->chan_cnt; i++)
            topics[i] = org->chans[i].conf->topic;
        if (kf_producer_prepare(org->producer, topics, org->chan_cnt, PREPARE_MS, perr,
                                sizeof(perr)) != KF_OK)
            SFB_WARN(org->conf->name, "source: %s (their first events wait until Kafka knows them)",
                     perr);
        free(topics);
    }
    for (size_t i = 0; i < org->chan_cnt; i++) {
        src_chan_t *chan = &org->chans[i];
        chan->committable = chan->written = chan->last_seen = REPLAY_NONE;
        chan->head = chan->count = 0;
        chan->failed = chan->disabled = false;
        chan->start = start_of(org, chan);
        SFB_INFO(org->conf->name, "source: %s -> %s from replay id %" PRId64 "%s",
                 chan->conf->channel, chan->conf->topic, chan->start,
                 chan->start == SF_REPLAY_EARLIEST ? " (earliest)"
                 : chan->start == SF_REPLAY_LATEST ? " (latest)"
                                                   : " (stored)");
    }
    /* Rewrite the stored positions now: librdkafka (2.0; confluentinc/librdkafka
     * PR #5032) sends a new producer's first message only about a second after it is produced,
     * and the state write would otherwise pay that after the events producer
     * paid its own, leaving a run's first ~2 s unrecorded (a crash then repeats
     * everything since the previous run's position). */
    for (size_t i = 0; i < org->chan_cnt; i++) {
        src_chan_t *chan = &org->chans[i];
        if (chan->written == REPLAY_NONE)
            continue;
        char value[32];
        int n = snprintf(value, sizeof(value), "%" PRId64, chan->written);
        if (kf_state_put(org->state, chan->key, value, (size_t)n, errstr, sizeof(errstr)) != KF_OK)
            SFB_WARN(org->conf->name, "state %s: %s", chan->key, errstr);
    }
    if (org_cometd_build(org) != 0)
        goto fail;

    while (!atomic_load(&org->stop)) {
        bool any_failed = false;
        for (size_t i = 0; i < org->chan_cnt; i++)
            any_failed |= org->chans[i].failed;
        if (any_failed)
            org_recover(org);
        if (!org->cometd) { /* every channel stopped by on_invalid_replay = fail */
            org_sleep(org, 1000);
            continue;
        }
        sf_error_t *err = NULL;
        if (sf_cometd_poll(org->cometd, &err) == 0) {
            attempt = 0;
            org_service(org, 0);
            long delay = sf_cometd_delay_ms(org->cometd);
            if (delay > 0)
                org_sleep(org, delay);
            continue;
        }
        if (atomic_load(&org->stop)) {
            sf_error_destroy(err);
            break;
        }
        if (err->kind == SF_ERR_REPLAY_INVALID) {
            org_invalid_replay(org, err);
        } else {
            long delay = sf_backoff_full_jitter(attempt, BACKOFF_BASE_MS, BACKOFF_CAP_MS);
            SFB_WARN(org->conf->name, "source: %s (%s); retrying in %ld ms", err->message,
                     sf_error_kind_name(err->kind), delay);
            if (attempt < 30)
                attempt++;
            org_sleep(org, delay);
        }
        sf_error_destroy(err);
    }
    goto stop;
fail:
    SFB_ERROR(org->conf->name, "source cannot start: %s", errstr);
stop:
    /* Deliver what was received, then store where each channel stands. */
    if (org->producer &&
        kf_producer_flush(org->producer, FLUSH_MS, errstr, sizeof(errstr)) != KF_OK)
        SFB_WARN(org->conf->name, "source flush: %s", errstr);
    for (size_t i = 0; i < org->chan_cnt; i++)
        chan_advance(&org->chans[i]);
    if (org->state) {
        org_store_positions(org, true);
        if (kf_state_flush(org->state, FLUSH_MS, errstr, sizeof(errstr)) != KF_OK)
            SFB_WARN(org->conf->name, "state flush: %s", errstr);
    }
    sf_cometd_stats_t st = {0};
    pthread_mutex_lock(&org->mu);
    sf_cometd_t *cometd = org->cometd;
    org->cometd = NULL;
    pthread_mutex_unlock(&org->mu);
    if (cometd)
        sf_cometd_stats(cometd, &st);
    sf_cometd_destroy(cometd);
    for (size_t i = 0; i < org->chan_cnt; i++) {
        src_chan_t *chan = &org->chans[i];
        SFB_INFO(org->conf->name,
                 "source: %s stopped at replay id %" PRId64 ": %" PRIu64 " events, %" PRIu64
                 " messages, %" PRIu64 " duplicates skipped, %" PRIu64 " gaps, %" PRIu64
                 " failed deliveries",
                 chan->conf->channel, chan->committable == REPLAY_NONE ? -1 : chan->committable,
                 chan->n_events, chan->n_messages, chan->n_duplicates, chan->n_gaps,
                 chan->n_failed);
    }
    SFB_INFO(org->conf->name,
             "source: cometd %" PRIu64 " handshakes, %" PRIu64 " rehandshakes, %" PRIu64
             " token refreshes, %" PRIu64 " malformed messages, %" PRIu64 " bad batches",
             st.handshakes, st.rehandshakes, st.auth_refreshes, st.rejected, st.bad_batches);
    kf_producer_destroy(org->producer);
    org->producer = NULL;
    kf_state_destroy(org->state);
    org->state = NULL;
    sf_org_destroy(org->sf);
    org->sf = NULL;
    return NULL;
}

/* ---------------------------------------------------------------- public */

br_source_t *br_source_create(const br_config_t *config, kf_client_t *client, char *errstr,
                              size_t errstr_size)
{
    br_source_t *source = NULL;
    if (errstr_size)
        errstr[0] = '\0';
    if (!config || config->sources_count == 0)
        return NULL;
    source = calloc(1, sizeof(*source));
    if (!source)
        goto oom;
    source->config = config;
    source->client = client;
    source->orgs = calloc(config->orgs_count, sizeof(*source->orgs));
    if (!source->orgs)
        goto oom;
    for (size_t i = 0; i < config->orgs_count; i++) {
        src_org_t *org = &source->orgs[i];
        org->source = source;
        org->conf = &config->orgs[i];
        pthread_mutex_init(&org->mu, NULL);
        source->org_cnt++;
        for (size_t k = 0; k < config->sources_count; k++)
            org->chan_cnt += config->sources[k].org_index == i;
        if (!org->chan_cnt)
            continue;
        org->chans = calloc(org->chan_cnt, sizeof(*org->chans));
        if (!org->chans)
            goto oom;
        size_t n = 0;
        for (size_t k = 0; k < config->sources_count; k++) {
            if (config->sources[k].org_index != i)
                continue;
            src_chan_t *chan = &org->chans[n++];
            chan->org = org;
            chan->conf = &config->sources[k];
            snprintf(chan->key, sizeof(chan->key), "%s|%s", org->conf->name, chan->conf->channel);
            if (!(chan->ring = calloc(WINDOW_CAP, sizeof(*chan->ring))))
                goto oom;
        }
    }
    return source;
oom:
    snprintf(errstr, errstr_size, "out of memory");
    br_source_destroy(source);
    return NULL;
}

void br_source_set_owned(br_source_t *source, const char *org_name, bool owned)
{
    src_org_t *org = NULL;
    for (size_t i = 0; source && i < source->org_cnt; i++)
        if (strcmp(source->orgs[i].conf->name, org_name) == 0)
            org = &source->orgs[i];
    if (!org || !org->chan_cnt || owned == org->running)
        return;
    if (owned) {
        atomic_store(&org->stop, false);
        if (pthread_create(&org->thread, NULL, org_thread, org) != 0) {
            SFB_ERROR(org->conf->name, "source: cannot start a thread");
            return;
        }
        org->running = true;
        return;
    }
    SFB_INFO(org->conf->name, "source: stopping (ownership moved)");
    atomic_store(&org->stop, true);
    pthread_mutex_lock(&org->mu);
    if (org->cometd)
        sf_cometd_cancel(org->cometd);
    pthread_mutex_unlock(&org->mu);
    pthread_join(org->thread, NULL);
    org->running = false;
}

void br_source_destroy(br_source_t *source)
{
    if (!source)
        return;
    for (size_t i = 0; i < source->org_cnt; i++) {
        src_org_t *org = &source->orgs[i];
        br_source_set_owned(source, org->conf->name, false);
        for (size_t k = 0; org->chans && k < org->chan_cnt; k++)
            free(org->chans[k].ring);
        free(org->chans);
        pthread_mutex_destroy(&org->mu);
    }
    free(source->orgs);
    free(source);
}
