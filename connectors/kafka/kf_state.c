/*
 * kf_state.c - a key -> value map kept in a compacted topic (the source's
 * replay ids). Start-up reads the topic to its end; every write updates the
 * in-memory map and goes to Kafka through the idempotent producer, keyed by
 * the key so the writes of one key keep their order.
 *
 * The map is open addressing with linear probing and backward-shift
 * deletion, sized once for max_keys (never grows past its bound).
 * Owned by one thread (the one that polls it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kf_int.h"
#include "sfb.h"

#define KF_STATE_MAX_KEY 1024

typedef struct kf_state_slot {
    char *key; /* NULL: empty slot */
    void *value;
    size_t value_len;
    uint64_t hash;
} kf_state_slot_t;

struct kf_state {
    kf_client_t *client;
    kf_state_conf_t conf;
    char *topic;
    kf_producer_t *producer;
    kf_state_slot_t *slots;
    size_t slot_cnt; /* a power of two >= 2 * max_keys */
    size_t count;
    kf_err_t last_err; /* the first delivery failure since the last poll */
    char last_errstr[512];
};

static uint64_t kf_state_hash(const char *key)
{
    /* FNV-1a: keys are short and not attacker-chosen (org/channel names
     * from our own config). */
    uint64_t hash = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        hash = (hash ^ *p) * 1099511628211ULL;
    return hash;
}

static kf_state_slot_t *kf_state_find(const kf_state_t *state, const char *key, uint64_t hash)
{
    size_t mask = state->slot_cnt - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        kf_state_slot_t *slot = &state->slots[i];
        if (!slot->key || (slot->hash == hash && strcmp(slot->key, key) == 0))
            return slot;
    }
}

/* Sets key to a copy of value; KF_ERR_QUEUE_FULL at max_keys. */
static kf_err_t kf_state_map_set(kf_state_t *state, const char *key, const void *value,
                                 size_t value_len)
{
    uint64_t hash = kf_state_hash(key);
    kf_state_slot_t *slot = kf_state_find(state, key, hash);
    void *copy = malloc(value_len ? value_len : 1);
    if (!copy)
        return KF_ERR_NOMEM;
    if (value_len)
        memcpy(copy, value, value_len);
    if (!slot->key) {
        if (state->count == state->conf.max_keys) {
            free(copy);
            return KF_ERR_QUEUE_FULL;
        }
        slot->key = strdup(key);
        if (!slot->key) {
            free(copy);
            return KF_ERR_NOMEM;
        }
        slot->hash = hash;
        state->count++;
    }
    free(slot->value);
    slot->value = copy;
    slot->value_len = value_len;
    return KF_OK;
}

static void kf_state_map_delete(kf_state_t *state, const char *key)
{
    size_t mask = state->slot_cnt - 1;
    kf_state_slot_t *slot = kf_state_find(state, key, kf_state_hash(key));
    if (!slot->key)
        return;
    free(slot->key);
    free(slot->value);
    memset(slot, 0, sizeof(*slot));
    state->count--;
    /* Backward shift: move later members of the probe run into the hole
     * when the hole lies between their home slot and where they are. */
    size_t hole = (size_t)(slot - state->slots);
    for (size_t i = (hole + 1) & mask; state->slots[i].key; i = (i + 1) & mask) {
        size_t home = state->slots[i].hash & mask;
        bool movable = hole <= i ? (home <= hole || home > i) : (home <= hole && home > i);
        if (movable) {
            state->slots[hole] = state->slots[i];
            memset(&state->slots[i], 0, sizeof(state->slots[i]));
            hole = i;
        }
    }
}

static int64_t kf_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static kf_err_t kf_state_check_key(const char *key, char *errstr, size_t errstr_size)
{
    if (!key || !*key || strlen(key) > KF_STATE_MAX_KEY)
        return kf_set_err(errstr, errstr_size, KF_ERR_ARG, "state key empty or longer than %d",
                          KF_STATE_MAX_KEY);
    return KF_OK;
}

static void kf_state_dr(void *opaque, void *msg_opaque, kf_err_t err, const char *errstr,
                        const char *topic, int32_t partition, int64_t offset)
{
    kf_state_t *state = opaque;
    char *key = msg_opaque;
    if (err) {
        SFB_ERROR("kafka", "state write of %s to %s failed: %s", key, topic, errstr);
        if (!state->last_err) {
            state->last_err = err;
            snprintf(state->last_errstr, sizeof(state->last_errstr), "state write of %s: %s", key,
                     errstr);
        }
    }
    if (state->conf.cb)
        state->conf.cb(state->conf.opaque, key, err, errstr);
    free(key);
}

/* Applies one message of the topic to the map (load time). */
static kf_err_t kf_state_apply(kf_state_t *state, const rd_kafka_message_t *rkm, char *errstr,
                               size_t errstr_size)
{
    char key[KF_STATE_MAX_KEY + 1];
    if (!rkm->key || rkm->key_len == 0 || rkm->key_len > KF_STATE_MAX_KEY ||
        memchr(rkm->key, '\0', rkm->key_len)) {
        SFB_WARN("kafka", "state topic %s: ignoring a message without a usable key at [%d] %lld",
                 state->topic, (int)rkm->partition, (long long)rkm->offset);
        return KF_OK;
    }
    memcpy(key, rkm->key, rkm->key_len);
    key[rkm->key_len] = '\0';
    if (!rkm->payload) {
        kf_state_map_delete(state, key);
        return KF_OK;
    }
    if (rkm->len > state->conf.max_value)
        return kf_set_err(errstr, errstr_size, KF_ERR_ARG,
                          "state topic %s: value of %s is %zu bytes, over the %zu limit",
                          state->topic, key, rkm->len, state->conf.max_value);
    kf_err_t err = kf_state_map_set(state, key, rkm->payload, rkm->len);
    if (err)
        return kf_set_err(errstr, errstr_size, err, "state topic %s: %s (at most %zu keys)",
                          state->topic, kf_err_name(err), state->conf.max_keys);
    return KF_OK;
}

/* Reads every partition of the topic from its beginning to the high
 * watermark taken at the start (later writes are ours). */
static kf_err_t kf_state_load(kf_state_t *state, char *errstr, size_t errstr_size)
{
    static const kf_property_t fixed[] = {
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"enable.partition.eof", "true"},
    };
    kf_err_t err = KF_OK;
    char rd_errstr[512];
    char group[300];
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    rd_kafka_topic_partition_list_t *list = NULL;
    const rd_kafka_metadata_t *md = NULL;
    int64_t *high = NULL;
    bool *done_parts = NULL;
    int part_cnt = 0, remaining = 0;
    int64_t loaded = 0;
    int64_t deadline = kf_now_ms() + state->conf.timeout_ms;

    if ((err = kf_conf_build(state->client, RD_KAFKA_CONSUMER, false, NULL, 0, fixed,
                             sizeof(fixed) / sizeof(fixed[0]), &conf, errstr, errstr_size)))
        goto done;
    /* rd_kafka_assign needs a group handle; the group is never joined (no
     * subscribe) and nothing is committed. */
    snprintf(group, sizeof(group), "%s.state-reader", state->client->client_id);
    if (rd_kafka_conf_set(conf, "group.id", group, rd_errstr, sizeof(rd_errstr)) !=
        RD_KAFKA_CONF_OK) {
        err = kf_set_err(errstr, errstr_size, KF_ERR_CONFIG, "%s", rd_errstr);
        goto done;
    }
    if (!(rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, rd_errstr, sizeof(rd_errstr)))) {
        err = kf_set_err(errstr, errstr_size, KF_ERR_CONFIG, "state reader: %s", rd_errstr);
        goto done;
    }
    conf = NULL;
    rd_kafka_poll_set_consumer(rk);

    /* A topic just created may take a moment to appear in metadata. */
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, state->topic, NULL);
    for (;;) {
        rd_kafka_resp_err_t rerr = rd_kafka_metadata(rk, 0, rkt, &md, 2000);
        if (!rerr && md->topic_cnt == 1 && !md->topics[0].err && md->topics[0].partition_cnt > 0) {
            part_cnt = md->topics[0].partition_cnt;
            break;
        }
        if (!rerr)
            rerr = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
        if (md) {
            rd_kafka_metadata_destroy(md);
            md = NULL;
        }
        if (kf_now_ms() >= deadline) {
            rd_kafka_topic_destroy(rkt);
            err = kf_set_err(errstr, errstr_size, KF_ERR_TIMED_OUT, "state topic %s: %s",
                             state->topic, rd_kafka_err2str(rerr));
            goto done;
        }
        rd_kafka_poll(rk, 100);
    }
    rd_kafka_topic_destroy(rkt);

    high = calloc((size_t)part_cnt, sizeof(*high));
    done_parts = calloc((size_t)part_cnt, sizeof(*done_parts));
    list = rd_kafka_topic_partition_list_new(part_cnt);
    if (!high || !done_parts || !list) {
        err = kf_set_err(errstr, errstr_size, KF_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int p = 0; p < part_cnt; p++) {
        int64_t low = 0;
        rd_kafka_resp_err_t rerr;
        /* Right after the topic is created its leaders may not be known yet:
         * those answers are transient, so ask again until the timeout. */
        for (int tries = 0;; tries++) {
            rerr = rd_kafka_query_watermark_offsets(rk, state->topic, p, &low, &high[p],
                                                    state->conf.timeout_ms);
            bool transient = rerr == RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION ||
                             rerr == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE ||
                             rerr == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                             rerr == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION;
            if (!transient || tries * 100 >= state->conf.timeout_ms)
                break;
            rd_kafka_poll(rk, 100);
        }
        if (rerr) {
            err = kf_set_err(errstr, errstr_size, kf_err_from_rd(rerr),
                             "state topic %s [%d] watermarks: %s", state->topic, p,
                             rd_kafka_err2str(rerr));
            goto done;
        }
        if (high[p] <= low) {
            done_parts[p] = true;
            continue;
        }
        remaining++;
        rd_kafka_topic_partition_list_add(list, state->topic, p)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    }
    if (remaining > 0) {
        rd_kafka_resp_err_t rerr = rd_kafka_assign(rk, list);
        if (rerr) {
            err = kf_set_err(errstr, errstr_size, kf_err_from_rd(rerr), "state topic %s: %s",
                             state->topic, rd_kafka_err2str(rerr));
            goto done;
        }
    }
    while (remaining > 0) {
        int64_t now = kf_now_ms();
        if (now >= deadline) {
            err = kf_set_err(errstr, errstr_size, KF_ERR_TIMED_OUT,
                             "state topic %s: read %lld messages, %d partition(s) not at "
                             "their end",
                             state->topic, (long long)loaded, remaining);
            goto done;
        }
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(rk, (int)(deadline - now));
        if (!rkm)
            continue;
        int32_t p = rkm->partition;
        bool at_end = false;
        if (rkm->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            at_end = true;
        } else if (rkm->err) {
            SFB_WARN("kafka", "state topic %s: %s", state->topic, rd_kafka_message_errstr(rkm));
        } else {
            err = kf_state_apply(state, rkm, errstr, errstr_size);
            loaded++;
            /* Compaction leaves holes in offsets, so "at the end" is
             * "reached the watermark", not "read high - low messages". */
            at_end = rkm->offset + 1 >= high[p];
        }
        rd_kafka_message_destroy(rkm);
        if (err)
            goto done;
        if (at_end && p >= 0 && p < part_cnt && !done_parts[p]) {
            done_parts[p] = true;
            remaining--;
        }
    }
    SFB_INFO("kafka", "state topic %s: %lld message(s) read, %zu key(s)", state->topic,
             (long long)loaded, state->count);
done:
    if (md)
        rd_kafka_metadata_destroy(md);
    if (list)
        rd_kafka_topic_partition_list_destroy(list);
    free(high);
    free(done_parts);
    if (rk) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    if (conf)
        rd_kafka_conf_destroy(conf);
    return err;
}

void kf_state_destroy(kf_state_t *state)
{
    if (!state)
        return;
    /* Any write still queued is purged and reported here (frees its key). */
    kf_producer_destroy(state->producer);
    for (size_t i = 0; state->slots && i < state->slot_cnt; i++) {
        free(state->slots[i].key);
        free(state->slots[i].value);
    }
    free(state->slots);
    free(state->topic);
    free(state);
}

kf_err_t kf_state_create(kf_client_t *client, const kf_state_conf_t *conf, kf_state_t **statep,
                         char *errstr, size_t errstr_size)
{
    static const kf_property_t topic_configs[] = {{"cleanup.policy", "compact"}};
    kf_err_t err = KF_OK;
    kf_state_t *state = NULL;

    if (!client || !conf || !conf->topic || !*conf->topic || !statep || conf->partitions < 0 ||
        conf->timeout_ms < 0 || conf->max_keys > (1u << 24))
        return kf_set_err(errstr, errstr_size, KF_ERR_ARG, "bad state topic arguments");
    *statep = NULL;
    state = calloc(1, sizeof(*state));
    if (!state)
        return kf_set_err(errstr, errstr_size, KF_ERR_NOMEM, "out of memory");
    state->client = client;
    state->conf = *conf;
    if (!state->conf.partitions)
        state->conf.partitions = 1;
    if (!state->conf.max_keys)
        state->conf.max_keys = 65536;
    if (!state->conf.max_value)
        state->conf.max_value = 4096;
    if (!state->conf.timeout_ms)
        state->conf.timeout_ms = 30000;
    state->topic = strdup(conf->topic);
    state->conf.topic = state->topic;
    for (state->slot_cnt = 16; state->slot_cnt < 2 * state->conf.max_keys;)
        state->slot_cnt *= 2;
    state->slots = calloc(state->slot_cnt, sizeof(*state->slots));
    if (!state->topic || !state->slots) {
        err = kf_set_err(errstr, errstr_size, KF_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((err = kf_client_create_topic(client, state->topic, state->conf.partitions, topic_configs,
                                      1, state->conf.timeout_ms, errstr, errstr_size)))
        goto done;
    if ((err = kf_state_load(state, errstr, errstr_size)))
        goto done;
    kf_producer_conf_t pconf = {.delivery_cb = kf_state_dr, .opaque = state};
    if ((err = kf_producer_create(client, &pconf, &state->producer, errstr, errstr_size)))
        goto done;
    *statep = state;
    state = NULL;
done:
    kf_state_destroy(state);
    return err;
}

kf_err_t kf_state_get(const kf_state_t *state, const char *key, const void **valuep,
                      size_t *value_lenp)
{
    if (!state || !key || !valuep || !value_lenp)
        return KF_ERR_ARG;
    const kf_state_slot_t *slot = kf_state_find(state, key, kf_state_hash(key));
    if (!slot->key)
        return KF_ERR_ARG;
    *valuep = slot->value;
    *value_lenp = slot->value_len;
    return KF_OK;
}

/* Produces key -> value (NULL: tombstone); the map is changed by the caller
 * only once Kafka's queue took the write. */
static kf_err_t kf_state_write(kf_state_t *state, const char *key, const void *value,
                               size_t value_len, char *errstr, size_t errstr_size)
{
    char *key_copy = strdup(key);
    if (!key_copy)
        return kf_set_err(errstr, errstr_size, KF_ERR_NOMEM, "out of memory");
    kf_err_t err =
        kf_producer_produce(state->producer, state->topic, KF_PARTITION_ANY, key, strlen(key),
                            value, value_len, NULL, 0, key_copy, errstr, errstr_size);
    if (err)
        free(key_copy);
    return err;
}

kf_err_t kf_state_put(kf_state_t *state, const char *key, const void *value, size_t value_len,
                      char *errstr, size_t errstr_size)
{
    kf_err_t err;
    if (!state || !value)
        return kf_set_err(errstr, errstr_size, KF_ERR_ARG, "no state or no value");
    if ((err = kf_state_check_key(key, errstr, errstr_size)))
        return err;
    if (value_len > state->conf.max_value)
        return kf_set_err(errstr, errstr_size, KF_ERR_ARG, "state value of %zu bytes over %zu",
                          value_len, state->conf.max_value);
    /* Refuse a new key beyond the bound before writing it anywhere. */
    const kf_state_slot_t *slot = kf_state_find(state, key, kf_state_hash(key));
    if (!slot->key && state->count == state->conf.max_keys)
        return kf_set_err(errstr, errstr_size, KF_ERR_QUEUE_FULL, "state map full (%zu keys)",
                          state->conf.max_keys);
    if ((err = kf_state_write(state, key, value, value_len, errstr, errstr_size)))
        return err;
    if ((err = kf_state_map_set(state, key, value, value_len)))
        return kf_set_err(errstr, errstr_size, err, "state map: %s", kf_err_name(err));
    return KF_OK;
}

kf_err_t kf_state_delete(kf_state_t *state, const char *key, char *errstr, size_t errstr_size)
{
    kf_err_t err;
    if (!state)
        return kf_set_err(errstr, errstr_size, KF_ERR_ARG, "no state");
    if ((err = kf_state_check_key(key, errstr, errstr_size)))
        return err;
    if ((err = kf_state_write(state, key, NULL, 0, errstr, errstr_size)))
        return err;
    kf_state_map_delete(state, key);
    return KF_OK;
}

size_t kf_state_count(const kf_state_t *state)
{
    return state ? state->count : 0;
}

void kf_state_foreach(const kf_state_t *state,
                      void (*fn)(void *arg, const char *key, const void *value, size_t len),
                      void *arg)
{
    for (size_t i = 0; state && i < state->slot_cnt; i++)
        if (state->slots[i].key)
            fn(arg, state->slots[i].key, state->slots[i].value, state->slots[i].value_len);
}

/* Returns (and clears) the first delivery failure seen since the last call. */
static kf_err_t kf_state_take_err(kf_state_t *state, kf_err_t err, char *errstr, size_t errstr_size)
{
    if (err)
        return err;
    if (state->last_err) {
        err = kf_set_err(errstr, errstr_size, state->last_err, "%s", state->last_errstr);
        state->last_err = KF_OK;
    }
    return err;
}

kf_err_t kf_state_poll(kf_state_t *state, int timeout_ms, char *errstr, size_t errstr_size)
{
    if (!state)
        return kf_set_err(errstr, errstr_size, KF_ERR_ARG, "no state");
    kf_err_t err = kf_producer_poll(state->producer, timeout_ms, NULL, errstr, errstr_size);
    return kf_state_take_err(state, err, errstr, errstr_size);
}

kf_err_t kf_state_flush(kf_state_t *state, int timeout_ms, char *errstr, size_t errstr_size)
{
    if (!state)
        return kf_set_err(errstr, errstr_size, KF_ERR_ARG, "no state");
    kf_err_t err = kf_producer_flush(state->producer, timeout_ms, errstr, errstr_size);
    return kf_state_take_err(state, err, errstr, errstr_size);
}
