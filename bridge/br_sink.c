/*
 * br_sink.c - the sink's Kafka side, on one thread: consume, parse, route,
 * batch, hand batches to the org workers, write results and dead letters,
 * commit what has all its results acknowledged. See br_sink.h.
 */
#include "br_sink.h"
#include "br_sink_int.h"
#include "br_source.h"
#include "br_org.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sfb.h"

/* How often acknowledged progress is committed (asynchronously). */
#define COMMIT_INTERVAL_MS 200
/* Longest wait in one consumer poll while work is out: bounds how late
 * delivery reports are served (a finished batch wakes the poll itself). */
#define POLL_MS_BUSY 2
#define POLL_MS_IDLE 50
/* Messages handled between two passes over the partitions. */
#define MESSAGES_PER_ROUND 256
/* How long start-up waits for the metadata of the result and dead-letter topics. */
#define PREPARE_TIMEOUT_MS 5000
/* Partition numbers above this are not supported (memory per partition). */
#define MAX_PARTITIONS 100000
/* Messages held while batchers are full, before a partition is paused: this
 * much in all, shared by the assigned partitions, with a floor per partition. */
#define PENDING_TOTAL_MESSAGES 20000
#define PENDING_TOTAL_BYTES    (8 * 1024 * 1024)
#define PENDING_MIN_MESSAGES   1000
#define PENDING_MIN_BYTES      (256 * 1024)
/* Commands parsed and not yet acknowledged (batched, in flight, or waiting
 * for their result's acknowledgement): this many in all, shared by the
 * assigned partitions, with a floor of two batches per partition. One
 * partition alone may use all of it: four composite calls of 1,000 records
 * in flight and the next 2,000 batched or waiting for acknowledgement.
 * Measured (tests/bench/sink_bench.sh): 10,000 gave no more throughput than
 * 6,000 once results were acknowledged in ~40 ms, and ~3 MB more with 10 orgs. */
#define HELD_TOTAL_COMMANDS 6000

int64_t sink_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sink_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Room for one more command: the batcher is not full, the tracker can
 * remember it until its result is acknowledged (results wait for Kafka's
 * acknowledgement, e.g. while the producer gets its idempotence id), and the
 * partition holds less than its share of HELD_TOTAL_COMMANDS. */
static bool part_has_room(const sink_t *sink, const sink_part_t *part)
{
    return br_batcher_has_room(part->batcher) &&
           kf_tracker_in_flight(part->tracker) < part->tracker_capacity &&
           kf_tracker_in_flight(part->tracker) < sink->held_max;
}

static sink_part_t *part_get(sink_t *sink, int32_t partition)
{
    if (partition < 0 || (size_t)partition >= sink->part_cap)
        return NULL;
    return sink->parts[partition];
}

static sink_org_t *org_of_partition(sink_t *sink, int32_t partition)
{
    const br_config_org_t *conf = br_config_org_of_partition(sink->config, partition);
    for (size_t i = 0; conf && i < sink->org_cnt; i++) {
        if (sink->orgs[i].conf == conf)
            return &sink->orgs[i];
    }
    return NULL;
}

/* ------------------------------------------------------------ producing */

/* Queues the item's output; on a full queue serves delivery reports and
 * retries (never drops). Returns -1 only on a fatal producer error. */
static int produce_item(sink_t *sink, sink_item_t *item)
{
    char errstr[512];
    for (;;) {
        /* Borrowed: the item keeps out_json until its delivery report
         * (librdkafka copies the key). */
        const char *key = item->out_key ? item->out_key : item->command_id;
        size_t key_len = item->out_key ? item->out_key_len : key ? strlen(key) : 0;
        kf_err_t err = kf_producer_produce_borrowed(
            sink->producer, item->out_topic, KF_PARTITION_ANY, key, key_len, item->out_json,
            strlen(item->out_json), item, errstr, sizeof(errstr));
        if (err == KF_OK)
            return 0;
        if (err == KF_ERR_QUEUE_FULL) {
            kf_producer_poll(sink->producer, 10, NULL, errstr, sizeof(errstr));
            continue;
        }
        snprintf(sink->fatal_msg, sizeof(sink->fatal_msg), "cannot produce to %s: %s",
                 item->out_topic, errstr);
        sink->fatal = true;
        return -1;
    }
}

static void on_delivery(void *opaque, void *msg_opaque, kf_err_t err, const char *errstr,
                        const char *topic, int32_t partition, int64_t offset)
{
    sink_t *sink = opaque;
    sink_item_t *item = msg_opaque;
    (void)partition;
    (void)offset;
    if (err != KF_OK) {
        /* librdkafka gave up after message.timeout.ms. The result must still
         * reach Kafka before the offset moves: queue it again. */
        SFB_WARN("sink", "result for %s could not be delivered to %s (%s); producing it again",
                 item->command_id ? item->command_id : "?", topic, errstr);
        if (err != KF_ERR_FATAL && !sink->hard_stop && produce_item(sink, item) == 0)
            return;
        item->part->unacked--;
        sink_item_free(item);
        return;
    }
    sink_part_t *part = item->part;
    if (kf_tracker_ack(part->tracker, item->ticket) != KF_OK)
        SFB_ERROR("sink", "partition %d: offset %lld acknowledged twice", (int)part->partition,
                  (long long)item->offset);
    part->unacked--;
    sink_item_free(item);
}

static void dead_letter(sink_t *sink, sink_part_t *part, const kf_message_t *msg,
                        const char *reason, const char *detail)
{
    sink_item_t *item = calloc(1, sizeof(*item));
    if (!item) {
        sink->fatal = true;
        snprintf(sink->fatal_msg, sizeof(sink->fatal_msg), "out of memory");
        return;
    }
    item->part = part;
    item->offset = msg->offset;
    item->out_topic = sink->config->sink.dead_letter_topic;
    item->out_json =
        sink_dead_letter_json(sink, msg, part->org ? part->org->conf->name : NULL, reason, detail);
    if (msg->key && msg->key_len > 0) {
        /* Any bytes, NULs included. */
        item->out_key = malloc(msg->key_len);
        if (item->out_key) {
            memcpy(item->out_key, msg->key, msg->key_len);
            item->out_key_len = msg->key_len;
        }
    }
    if (!item->out_json || (msg->key && msg->key_len > 0 && !item->out_key) ||
        kf_tracker_admit(part->tracker, msg->offset, &item->ticket) != KF_OK) {
        SFB_ERROR("sink", "partition %d offset %lld: cannot queue a dead letter",
                  (int)part->partition, (long long)msg->offset);
        sink->fatal = true;
        snprintf(sink->fatal_msg, sizeof(sink->fatal_msg), "cannot queue a dead letter");
        sink_item_free(item);
        return;
    }
    SFB_INFO(part->org ? part->org->conf->name : "sink",
             "dead letter: partition %d offset %lld: %s: %s", (int)part->partition,
             (long long)msg->offset, reason, detail);
    sink->n_dead_letters++;
    part->unacked++;
    if (produce_item(sink, item) != 0)
        sink_item_free(item);
}

/* A finished batch: one result per command, then the batch is done. */
static void finish_job(sink_t *sink, sink_job_t *job)
{
    sink_part_t *part = job->part;
    br_batch_t *batch = job->batch;
    for (size_t i = 0; i < batch->count; i++) {
        sink_item_t *item = batch->items[i].opaque;
        item->out_topic = sink->config->sink.result_topic;
        item->out_json = sink_result_json(sink, item);
        /* The result has it now; the item waits for its acknowledgement. */
        free(item->record);
        item->record = NULL;
        if (item->ok)
            sink->n_results_ok++;
        else
            sink->n_results_error++;
        if (!item->out_json) {
            sink->fatal = true;
            snprintf(sink->fatal_msg, sizeof(sink->fatal_msg), "cannot build a result");
            part->unacked--;
            sink_item_free(item);
            continue;
        }
        if (produce_item(sink, item) != 0) {
            part->unacked--;
            sink_item_free(item);
        }
    }
    br_batcher_done(part->batcher, batch);
    part->in_flight--;
    free(job);
}

static size_t drain_done(sink_t *sink)
{
    pthread_mutex_lock(&sink->done_mu);
    sink_job_t *job = sink->done_head;
    sink->done_head = sink->done_tail = NULL;
    pthread_mutex_unlock(&sink->done_mu);
    size_t n = 0;
    while (job) {
        sink_job_t *next = job->next;
        finish_job(sink, job);
        job = next;
        n++;
    }
    return n;
}

/* ------------------------------------------------------------ partitions */

static void part_set_paused(sink_t *sink, sink_part_t *part, bool pause)
{
    if (part->paused == pause)
        return;
    char errstr[256];
    const char *topic = sink->config->sink.command_topic;
    kf_err_t err =
        pause ? kf_consumer_pause(sink->consumer, topic, part->partition, errstr, sizeof(errstr))
              : kf_consumer_resume(sink->consumer, topic, part->partition, errstr, sizeof(errstr));
    if (err != KF_OK) {
        SFB_WARN("sink", "partition %d: %s failed: %s", (int)part->partition,
                 pause ? "pause" : "resume", errstr);
        return;
    }
    part->paused = pause;
}

/* Dispatches what may start, and pauses or resumes the partition. */
static void pending_drain(sink_t *sink, sink_part_t *part, int64_t now);
static bool pending_over_bound(const sink_t *sink, const sink_part_t *part);
static bool pending_under_half(const sink_t *sink, const sink_part_t *part);

static void part_service(sink_t *sink, sink_part_t *part, int64_t now, bool force_close)
{
    if (!part->revoked && !*sink->stop)
        pending_drain(sink, part, now);
    br_batcher_tick(part->batcher, now, force_close);
    br_batch_t *batch;
    while ((batch = br_batcher_next(part->batcher))) {
        sink_job_t *job = calloc(1, sizeof(*job));
        if (!job) {
            sink->fatal = true;
            snprintf(sink->fatal_msg, sizeof(sink->fatal_msg), "out of memory");
            return;
        }
        job->part = part;
        job->batch = batch;
        part->in_flight++;
        sink_org_submit(part->org, job);
    }
    if (!part->revoked && !*sink->stop)
        pending_drain(sink, part, now); /* room may have opened above */
    bool org_paused = part->org && sink_org_paused(part->org, now);
    bool want_pause;
    if (part->revoked || *sink->stop || org_paused || pending_over_bound(sink, part))
        want_pause = true;
    else if (part->paused)
        want_pause = !pending_under_half(sink, part); /* hysteresis */
    else
        want_pause = false;
    part_set_paused(sink, part, want_pause);
}

static sink_part_t *part_create(sink_t *sink, int32_t partition)
{
    if (partition < 0 || partition >= MAX_PARTITIONS)
        return NULL;
    if ((size_t)partition >= sink->part_cap) {
        size_t cap = sink->part_cap ? sink->part_cap : 16;
        while (cap <= (size_t)partition)
            cap *= 2;
        sink_part_t **parts = realloc(sink->parts, cap * sizeof(*parts));
        if (!parts)
            return NULL;
        memset(parts + sink->part_cap, 0, (cap - sink->part_cap) * sizeof(*parts));
        sink->parts = parts;
        sink->part_cap = cap;
    }
    sink_part_t *part = calloc(1, sizeof(*part));
    if (!part)
        return NULL;
    const br_config_sink_t *sc = &sink->config->sink;
    part->partition = partition;
    part->org = org_of_partition(sink, partition);
    part->committed = KF_OFFSET_NONE;
    /* max_in_flight is the org's concurrent calls. With composite a call
     * carries up to five batches, so a partition may have that many more
     * batches out: the ones waiting for a busy worker are what a worker
     * packs into its next /composite call. */
    size_t batches_out =
        (size_t)sc->max_in_flight * (sc->use_composite ? COMPOSITE_MAX_BATCHES : 1);
    part->batcher = br_batcher_create((size_t)sc->batch_size, sc->linger_ms, batches_out);
    /* Items held: batches out + waiting + open, plus results waiting for
     * their acknowledgement; dead letters count too. */
    size_t capacity = (batches_out + 4) * (size_t)sc->batch_size * 2 + 1024;
    part->tracker_capacity = capacity - 1; /* one slot for a dead letter */
    if (!part->batcher || kf_tracker_create(capacity, &part->tracker) != KF_OK) {
        br_batcher_destroy(part->batcher);
        free(part);
        return NULL;
    }
    sink->parts[partition] = part;
    return part;
}

static void pending_discard(sink_part_t *part);

static void part_destroy(sink_t *sink, sink_part_t *part)
{
    pending_discard(part);
    sink->parts[part->partition] = NULL;
    br_batcher_destroy(part->batcher);
    kf_tracker_destroy(part->tracker);
    free(part);
}

static void drop_item(void *opaque, void *ctx)
{
    sink_part_t *part = ctx;
    part->unacked--;
    sink_item_free(opaque);
}

/* Commits what every partition (or just `only`) may commit. */
static void commit_progress(sink_t *sink, sink_part_t *only, bool sync)
{
    kf_partition_t parts[64];
    size_t n = 0;
    for (size_t i = 0; i < sink->part_cap; i++) {
        sink_part_t *part = sink->parts[i];
        if (!part || (only && part != only) || !kf_tracker_commit_due(part->tracker))
            continue;
        int64_t off = kf_tracker_committable(part->tracker);
        if (off == KF_OFFSET_NONE)
            continue;
        parts[n].topic = sink->config->sink.command_topic;
        parts[n].partition = part->partition;
        parts[n].offset = off;
        n++;
        kf_tracker_committed(part->tracker, off);
        part->committed = off;
        if (n == sizeof(parts) / sizeof(parts[0])) {
            char errstr[512];
            if (kf_consumer_commit(sink->consumer, parts, n, !sync, errstr, sizeof(errstr)) !=
                KF_OK)
                SFB_WARN("sink", "commit failed: %s", errstr);
            sink->n_commits++;
            n = 0;
        }
    }
    if (n > 0) {
        char errstr[512];
        if (kf_consumer_commit(sink->consumer, parts, n, !sync, errstr, sizeof(errstr)) != KF_OK)
            SFB_WARN("sink", "commit failed: %s", errstr);
        sink->n_commits++;
    }
}

/*
 * Drains a partition that is being revoked (or the whole sink at shutdown):
 * batches not started are dropped (the next owner consumes them again from
 * the committed offset), batches in flight finish, their results are
 * delivered, and what has results is committed.
 */
static void part_drain(sink_t *sink, sink_part_t *part)
{
    char errstr[256];
    part->revoked = true;
    pending_discard(part);
    br_batcher_discard_pending(part->batcher, drop_item, part);
    while (part->in_flight > 0 || part->unacked > 0) {
        drain_done(sink);
        kf_producer_poll(sink->producer, 5, NULL, errstr, sizeof(errstr));
        if (sink->fatal)
            break;
    }
    commit_progress(sink, part, true);
}

/*
 * An org belongs to the worker that holds the lowest-numbered partition
 * mapped to it, so exactly one member of the group owns each org whatever the
 * assignment. Called after every rebalance; reports changes only.
 */
static void update_ownership(sink_t *sink, bool release_all)
{
    for (size_t i = 0; i < sink->org_cnt; i++) {
        sink_org_t *org = &sink->orgs[i];
        int lowest = -1;
        for (size_t k = 0; k < sink->config->sink.partitions_count; k++) {
            const br_config_partition_t *m = &sink->config->sink.partitions[k];
            if (&sink->config->orgs[m->org_index] == org->conf &&
                (lowest < 0 || m->partition < lowest))
                lowest = m->partition;
        }
        sink_part_t *part = lowest >= 0 ? part_get(sink, lowest) : NULL;
        bool owned = !release_all && part && !part->revoked;
        if (owned == org->owned)
            continue;
        org->owned = owned;
        SFB_INFO(org->conf->name, "%s the org (partition %d)",
                 owned ? "this worker now owns" : "this worker no longer owns", lowest);
        if (sink->ownership_cb)
            sink->ownership_cb(sink->ownership_opaque, org->conf->name, owned);
    }
}

static void pending_share(sink_t *sink);

static void on_rebalance(void *opaque, kf_rebalance_t event, const kf_partition_t *parts,
                         size_t part_cnt)
{
    sink_t *sink = opaque;
    for (size_t i = 0; i < part_cnt; i++) {
        int32_t p = parts[i].partition;
        if (strcmp(parts[i].topic, sink->config->sink.command_topic) != 0)
            continue;
        sink_part_t *part = part_get(sink, p);
        if (event == KF_REBALANCE_ASSIGNED) {
            if (part)
                continue;
            part = part_create(sink, p);
            if (!part) {
                sink->fatal = true;
                snprintf(sink->fatal_msg, sizeof(sink->fatal_msg), "cannot set up partition %d",
                         (int)p);
                continue;
            }
            SFB_INFO(part->org ? part->org->conf->name : "sink", "partition %d assigned%s", (int)p,
                     part->org ? "" : " (mapped to no org: its messages are dead-lettered)");
            if (part->org)
                sink_org_prepare(part->org);
        } else if (part) {
            SFB_INFO(part->org ? part->org->conf->name : "sink", "partition %d %s", (int)p,
                     event == KF_REBALANCE_REVOKED ? "revoked: draining" : "lost");
            if (event == KF_REBALANCE_REVOKED) {
                part_drain(sink, part);
            } else {
                /* Lost: another member may own it already. Let in-flight work
                 * finish (its results are harmless duplicates), commit nothing. */
                part->revoked = true;
                br_batcher_discard_pending(part->batcher, drop_item, part);
                while (part->in_flight > 0 || part->unacked > 0) {
                    char errstr[256];
                    drain_done(sink);
                    kf_producer_poll(sink->producer, 5, NULL, errstr, sizeof(errstr));
                    if (sink->fatal)
                        break;
                }
            }
            part_destroy(sink, part);
        }
    }
    update_ownership(sink, false);
    pending_share(sink);
}

static void on_commit(void *opaque, kf_err_t err, const char *errstr, const kf_partition_t *parts,
                      size_t part_cnt)
{
    (void)opaque;
    (void)parts;
    (void)part_cnt;
    if (err != KF_OK)
        SFB_WARN("sink", "asynchronous commit failed: %s (a later commit covers it)", errstr);
}

/* ------------------------------------------------------------ messages */

static char *make_key(const br_command_t *cmd)
{
    char buf[512];
    switch (cmd->op) {
    case BR_OP_UPDATE:
    case BR_OP_DELETE:
        /* Ids compare on their case-sensitive 15-char form. */
        snprintf(buf, sizeof(buf), "id:%.15s", cmd->id);
        return strdup(buf);
    case BR_OP_UPSERT:
        snprintf(buf, sizeof(buf), "ext:%s=%s", cmd->ext_field, cmd->ext_value);
        return strdup(buf);
    default:
        return NULL; /* inserts and events create new records */
    }
}

/* Parses, routes and batches one message (the batcher has room). */
static void apply_message(sink_t *sink, sink_part_t *part, kf_message_t *msg, int64_t now)
{
    sink->n_consumed++;
    if (!part->org) {
        dead_letter(sink, part, msg, "unroutable", "the partition is mapped to no org");
        return;
    }
    char errstr[512];
    br_command_t *cmd = NULL;
    br_command_err_t perr = br_command_parse(msg->value ? msg->value : "", msg->value_len,
                                             &sink->limits, &cmd, errstr, sizeof(errstr));
    if (perr != BR_COMMAND_OK) {
        dead_letter(sink, part, msg, br_command_err_reason(perr), errstr);
        return;
    }
    char idbuf[BR_COMMAND_EFFECTIVE_ID_SIZE];
    const char *cid = br_command_effective_id(cmd, sink->config->sink.command_topic, msg->partition,
                                              msg->offset, idbuf, sizeof(idbuf));
    char *key = make_key(cmd);
    char sobject_key[256];
    if (cmd->op == BR_OP_UPSERT)
        snprintf(sobject_key, sizeof(sobject_key), "%s/%s", cmd->sobject, cmd->ext_field);
    else
        snprintf(sobject_key, sizeof(sobject_key), "%s", cmd->sobject);
    sink_item_t *item = sink_item_for_command(cmd, cid);
    if (!item || kf_tracker_admit(part->tracker, msg->offset, &item->ticket) != KF_OK) {
        sink->fatal = true;
        snprintf(sink->fatal_msg, sizeof(sink->fatal_msg), "partition %d: cannot admit offset %lld",
                 (int)msg->partition, (long long)msg->offset);
        br_command_destroy(cmd);
        sink_item_free(item);
        free(key);
        return;
    }
    item->part = part;
    item->offset = msg->offset;
    /* On failure the command is never sent (a record without its fields
     * must not reach Salesforce) and its offset, admitted but never
     * acknowledged, holds the commit back: the sink stops and the command is
     * consumed again after the restart. */
    int rc = sink_item_take_record(sink, item, cmd);
    br_command_destroy(cmd); /* the item has what the worker needs */
    if (rc != 0 || br_batcher_add(part->batcher, (int)item->op, sobject_key, key, msg->offset, item,
                                  now) != 0) {
        sink->fatal = true;
        snprintf(sink->fatal_msg, sizeof(sink->fatal_msg), "out of memory");
        sink_item_free(item);
        free(key);
        return;
    }
    part->unacked++;
    free(key);
}

static bool pending_over_bound(const sink_t *sink, const sink_part_t *part)
{
    return part->pending_cnt >= sink->pending_max_msgs ||
           part->pending_bytes >= sink->pending_max_bytes;
}

static bool pending_under_half(const sink_t *sink, const sink_part_t *part)
{
    return part->pending_cnt < sink->pending_max_msgs / 2 &&
           part->pending_bytes < sink->pending_max_bytes / 2;
}

/* Each assigned partition's share of the pending and held bounds (after a rebalance). */
static void pending_share(sink_t *sink)
{
    size_t n = 0;
    for (size_t i = 0; i < sink->part_cap; i++)
        n += sink->parts[i] != NULL;
    n = n ? n : 1;
    sink->pending_max_msgs = PENDING_TOTAL_MESSAGES / n;
    if (sink->pending_max_msgs < PENDING_MIN_MESSAGES)
        sink->pending_max_msgs = PENDING_MIN_MESSAGES;
    sink->pending_max_bytes = PENDING_TOTAL_BYTES / n;
    if (sink->pending_max_bytes < PENDING_MIN_BYTES)
        sink->pending_max_bytes = PENDING_MIN_BYTES;
    size_t floor = 2 * (size_t)sink->config->sink.batch_size;
    sink->held_max = HELD_TOTAL_COMMANDS / n;
    if (sink->held_max < floor)
        sink->held_max = floor;
}

/* Takes ownership of msg: applied now, or queued until the batcher has room. */
static void handle_message(sink_t *sink, kf_message_t *msg, int64_t now)
{
    sink_part_t *part = part_get(sink, msg->partition);
    if (!part || part->revoked) {
        /* Not ours (any more): the owner will consume it from the committed offset. */
        kf_message_destroy(msg);
        return;
    }
    if (!part->pending_head && part_has_room(sink, part)) {
        apply_message(sink, part, msg, now);
        kf_message_destroy(msg);
        return;
    }
    sink_pending_t *pm = malloc(sizeof(*pm));
    if (!pm) {
        sink->fatal = true;
        snprintf(sink->fatal_msg, sizeof(sink->fatal_msg), "out of memory");
        kf_message_destroy(msg);
        return;
    }
    pm->msg = msg;
    pm->next = NULL;
    if (part->pending_tail)
        part->pending_tail->next = pm;
    else
        part->pending_head = pm;
    part->pending_tail = pm;
    part->pending_cnt++;
    part->pending_bytes += msg->value_len + msg->key_len + 64;
}

/* Applies queued messages while the batcher has room. */
static void pending_drain(sink_t *sink, sink_part_t *part, int64_t now)
{
    while (part->pending_head && part_has_room(sink, part) && !sink->fatal) {
        sink_pending_t *pm = part->pending_head;
        part->pending_head = pm->next;
        if (!part->pending_head)
            part->pending_tail = NULL;
        part->pending_cnt--;
        part->pending_bytes -= pm->msg->value_len + pm->msg->key_len + 64;
        apply_message(sink, part, pm->msg, now);
        kf_message_destroy(pm->msg);
        free(pm);
    }
}

/* Forgets queued messages (revoked, lost, shutdown): they were not admitted,
 * so the committed offset stays before them and they are consumed again. */
static void pending_discard(sink_part_t *part)
{
    while (part->pending_head) {
        sink_pending_t *pm = part->pending_head;
        part->pending_head = pm->next;
        kf_message_destroy(pm->msg);
        free(pm);
    }
    part->pending_tail = NULL;
    part->pending_cnt = 0;
    part->pending_bytes = 0;
}

/* ------------------------------------------------------------ set-up */

static void sink_source_ownership(void *opaque, const char *org, bool owned)
{
    br_source_set_owned(opaque, org, owned);
}

static int sink_setup(sink_t *sink, char *errstr, size_t errstr_size)
{
    const br_config_t *cfg = sink->config;
    kf_property_t *props = NULL;
    int rc = -1;

    props = calloc(cfg->kafka.properties_count + 1, sizeof(*props));
    if (!props) {
        snprintf(errstr, errstr_size, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < cfg->kafka.properties_count; i++) {
        props[i].name = cfg->kafka.properties[i].name;
        props[i].value = cfg->kafka.properties[i].value;
    }
    kf_config_t kc = {
        .bootstrap_servers = cfg->kafka.brokers,
        .group_id = cfg->kafka.group,
        .client_id = "sfbridge",
        .properties = props,
        .property_cnt = cfg->kafka.properties_count,
        .embedded = cfg->kafka.embedded,
        .embedded_brokers = 1,
    };
    if (kf_client_create(&kc, &sink->client, errstr, errstr_size) != KF_OK)
        goto done;
    if (cfg->kafka.embedded) {
        int partitions = 1;
        for (size_t i = 0; i < cfg->sink.partitions_count; i++) {
            if (cfg->sink.partitions[i].partition + 1 > partitions)
                partitions = cfg->sink.partitions[i].partition + 1;
        }
        const char *topics[] = {cfg->sink.command_topic, cfg->sink.result_topic,
                                cfg->sink.dead_letter_topic};
        for (size_t i = 0; i < 3; i++) {
            if (kf_client_create_topic(sink->client, topics[i], partitions, NULL, 0, 10000, errstr,
                                       errstr_size) != KF_OK)
                goto done;
        }
        /* A line scripts read to reach the in-process cluster (the quickstart does). */
        SFB_INFO("sink", "embedded Kafka cluster at %s", kf_client_bootstrap(sink->client));
        printf("embedded kafka bootstrap %s\n", kf_client_bootstrap(sink->client));
        fflush(stdout);
    }
    if (cfg->sources_count > 0) {
        /* The source follows this consumer's org ownership (br_source.h). */
        br_source_t *source = br_source_create(cfg, sink->client, errstr, errstr_size);
        if (!source)
            goto done;
        sink->ownership_cb = sink_source_ownership;
        sink->ownership_opaque = source;
    }
    kf_producer_conf_t pc = {.delivery_cb = on_delivery, .opaque = sink};
    if (kf_producer_create(sink->client, &pc, &sink->producer, errstr, errstr_size) != KF_OK)
        goto done;
    const char *out_topics[] = {cfg->sink.result_topic, cfg->sink.dead_letter_topic};
    char perr[1024];
    if (kf_producer_prepare(sink->producer, out_topics, 2, PREPARE_TIMEOUT_MS, perr,
                            sizeof(perr)) != KF_OK)
        SFB_WARN("sink", "%s (their first messages wait until Kafka knows them)", perr);
    kf_consumer_conf_t cc = {.rebalance_cb = on_rebalance, .commit_cb = on_commit, .opaque = sink};
    if (kf_consumer_create(sink->client, &cc, &sink->consumer, errstr, errstr_size) != KF_OK)
        goto done;

    sink->org_cnt = cfg->orgs_count;
    sink->orgs = calloc(sink->org_cnt, sizeof(*sink->orgs));
    if (!sink->orgs) {
        snprintf(errstr, errstr_size, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < sink->org_cnt; i++) {
        sink_org_t *org = &sink->orgs[i];
        org->conf = &cfg->orgs[i];
        org->sf = br_org_create(cfg, org->conf, errstr, errstr_size);
        if (!org->sf)
            goto done;
        if (sink_org_start(sink, org, errstr, errstr_size) != 0)
            goto done;
    }
    const char *topic = cfg->sink.command_topic;
    if (kf_consumer_subscribe(sink->consumer, &topic, 1, errstr, errstr_size) != KF_OK)
        goto done;
    rc = 0;
done:
    free(props);
    return rc;
}

static void sink_teardown(sink_t *sink)
{
    for (size_t i = 0; sink->orgs && i < sink->org_cnt; i++) {
        sink_org_stop(&sink->orgs[i]);
        sf_org_destroy(sink->orgs[i].sf);
    }
    /* Jobs the workers finished after the last drain (only on a hard stop). */
    pthread_mutex_lock(&sink->done_mu);
    sink_job_t *job = sink->done_head;
    sink->done_head = sink->done_tail = NULL;
    pthread_mutex_unlock(&sink->done_mu);
    while (job) {
        sink_job_t *next = job->next;
        for (size_t i = 0; i < job->batch->count; i++)
            sink_item_free(job->batch->items[i].opaque);
        free(job);
        job = next;
    }
    /* From here on a failed delivery report frees its item instead of
     * producing it again: the producer is going away. */
    sink->hard_stop = true;
    /* The source delivers what it received and stores its replay ids first. */
    if (sink->ownership_cb == sink_source_ownership)
        br_source_destroy(sink->ownership_opaque);
    sink->ownership_cb = NULL;
    kf_consumer_destroy(sink->consumer);
    kf_producer_destroy(sink->producer); /* reports (errors) for what is left: freed there */
    for (size_t i = 0; i < sink->part_cap; i++) {
        if (sink->parts[i]) {
            br_batcher_discard_pending(sink->parts[i]->batcher, drop_item, sink->parts[i]);
            part_destroy(sink, sink->parts[i]);
        }
    }
    free(sink->parts);
    free(sink->orgs);
    kf_client_destroy(sink->client);
    pthread_mutex_destroy(&sink->done_mu);
}

int br_sink_run(const br_config_t *config, volatile sig_atomic_t *stop, char *errstr,
                size_t errstr_size)
{
    sink_t sink;
    memset(&sink, 0, sizeof(sink));
    sink.config = config;
    sink.stop = stop;
    pthread_mutex_init(&sink.done_mu, NULL);
    br_command_limits_init(&sink.limits);
    pending_share(&sink);
    sink.limits.max_bytes = (size_t)config->sink.max_command_bytes;
    int rc = -1;

    if (sink_setup(&sink, errstr, errstr_size) != 0)
        goto done;
    SFB_INFO("sink", "consuming %s as group %s (%zu orgs)", config->sink.command_topic,
             config->kafka.group, config->orgs_count);

    int64_t last_commit = sink_now_ms();
    int timeout = POLL_MS_IDLE;
    while (!*stop && !sink.fatal) {
        /* A round: the messages ready (up to MESSAGES_PER_ROUND), then one
         * pass over the partitions. A pass per message cost more than the
         * messages once a worker owned hundreds of partitions. */
        kf_message_t *msg = NULL;
        char perr[512];
        kf_err_t kerr = kf_consumer_poll(sink.consumer, timeout, &msg, perr, sizeof(perr));
        for (int n = 1; msg && !sink.fatal; n++) {
            handle_message(&sink, msg, sink_now_ms()); /* takes msg */
            msg = NULL;
            if (n < MESSAGES_PER_ROUND)
                kerr = kf_consumer_poll(sink.consumer, 0, &msg, perr, sizeof(perr));
        }
        if (kerr == KF_ERR_FATAL) {
            snprintf(sink.fatal_msg, sizeof(sink.fatal_msg), "consumer: %s", perr);
            sink.fatal = true;
            break;
        }
        drain_done(&sink);
        if (kf_producer_poll(sink.producer, 0, NULL, perr, sizeof(perr)) == KF_ERR_FATAL) {
            snprintf(sink.fatal_msg, sizeof(sink.fatal_msg), "producer: %s", perr);
            sink.fatal = true;
            break;
        }
        int64_t now = sink_now_ms();
        bool busy = false;
        int64_t linger_left = -1;
        for (size_t i = 0; i < sink.part_cap; i++) {
            sink_part_t *part = sink.parts[i];
            if (!part)
                continue;
            part_service(&sink, part, now, false);
            if (part->in_flight || part->unacked)
                busy = true;
            int64_t l = br_batcher_linger_left(part->batcher, now);
            if (l >= 0 && (linger_left < 0 || l < linger_left))
                linger_left = l;
        }
        timeout = busy ? POLL_MS_BUSY : POLL_MS_IDLE;
        if (linger_left >= 0 && linger_left < timeout)
            timeout = (int)linger_left;
        if (now - last_commit >= COMMIT_INTERVAL_MS) {
            commit_progress(&sink, NULL, false);
            last_commit = now;
        }
    }

    /* Drain: stop fetching, finish what was read, deliver, commit, leave. */
    SFB_INFO("sink", "stopping: finishing batches in flight");
    for (size_t i = 0; i < sink.part_cap; i++) {
        if (sink.parts[i])
            part_set_paused(&sink, sink.parts[i], true);
    }
    for (;;) {
        bool pending = false;
        int64_t now = sink_now_ms();
        for (size_t i = 0; i < sink.part_cap; i++) {
            sink_part_t *part = sink.parts[i];
            if (!part)
                continue;
            if (!sink.fatal && *stop < 2)
                part_service(&sink, part, now, true);
            if (part->in_flight || part->unacked)
                pending = true;
        }
        if (!pending || sink.fatal || *stop >= 2)
            break;
        drain_done(&sink);
        char perr[256];
        kf_producer_poll(sink.producer, 5, NULL, perr, sizeof(perr));
    }
    if (*stop >= 2) {
        sink.hard_stop = true;
        for (size_t i = 0; i < sink.org_cnt; i++) {
            pthread_mutex_lock(&sink.orgs[i].mu);
            pthread_cond_broadcast(&sink.orgs[i].cv);
            pthread_mutex_unlock(&sink.orgs[i].mu);
        }
    } else if (!sink.fatal) {
        char ferr[256];
        update_ownership(&sink, true); /* the source stops before the group is left */
        if (kf_producer_flush(sink.producer, 30000, ferr, sizeof(ferr)) != KF_OK)
            SFB_WARN("sink", "flush: %s", ferr);
        commit_progress(&sink, NULL, true);
        if (kf_consumer_close(sink.consumer, ferr, sizeof(ferr)) != KF_OK)
            SFB_WARN("sink", "leaving the group: %s", ferr);
    }
    if (sink.fatal) {
        snprintf(errstr, errstr_size, "%s", sink.fatal_msg);
    } else {
        rc = 0;
    }
    SFB_INFO("sink",
             "stopped: %llu consumed, %llu ok, %llu error results, %llu dead letters, %llu "
             "commits",
             (unsigned long long)sink.n_consumed, (unsigned long long)sink.n_results_ok,
             (unsigned long long)sink.n_results_error, (unsigned long long)sink.n_dead_letters,
             (unsigned long long)sink.n_commits);
done:
    sink_teardown(&sink);
    return rc;
}
