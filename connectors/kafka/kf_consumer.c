/*
 * kf_consumer.c - a group consumer that commits only what the caller says and
 * tells the caller about rebalances before librdkafka applies them.
 *
 * Owned by one thread: the one calling kf_consumer_poll(); every callback
 * runs there.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kf_int.h"
#include "sfb.h"

struct kf_consumer {
    kf_client_t *client;
    rd_kafka_t *rk;
    rd_kafka_queue_t *queue; /* the consumer queue: async commit results land here */
    kf_consumer_conf_t conf;
    bool closing; /* inside rd_kafka_consumer_close: commits still allowed */
    /* kf_consumer_wake comes from other threads. Once the close starts, a
     * yield would reach the queue rd_kafka_consumer_close waits on and end
     * that wait before the group has answered: wake_off stops them. */
    pthread_mutex_t wake_mu;
    bool wake_off;
    bool closed;
    uint64_t error_cnt; /* consumer errors librdkafka recovers from */
};

/* Converts a librdkafka list into kf_partition_t (pointers into `list`). */
static kf_partition_t *kf_parts_from_list(const rd_kafka_topic_partition_list_t *list)
{
    kf_partition_t *parts = calloc(list->cnt > 0 ? (size_t)list->cnt : 1, sizeof(*parts));
    if (!parts)
        return NULL;
    for (int i = 0; i < list->cnt; i++) {
        parts[i].topic = list->elems[i].topic;
        parts[i].partition = list->elems[i].partition;
        parts[i].offset = list->elems[i].offset >= 0 ? list->elems[i].offset : KF_OFFSET_NONE;
    }
    return parts;
}

static rd_kafka_topic_partition_list_t *kf_list_from_parts(const kf_partition_t *parts, size_t cnt)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new((int)cnt);
    for (size_t i = 0; list && i < cnt; i++) {
        rd_kafka_topic_partition_t *tp =
            rd_kafka_topic_partition_list_add(list, parts[i].topic, parts[i].partition);
        tp->offset = parts[i].offset;
    }
    return list;
}

static void kf_report_rebalance(kf_consumer_t *consumer, kf_rebalance_t event,
                                const rd_kafka_topic_partition_list_t *list)
{
    if (!consumer->conf.rebalance_cb)
        return;
    kf_partition_t *parts = kf_parts_from_list(list);
    if (!parts) {
        SFB_ERROR(rd_kafka_name(consumer->rk), "out of memory reporting a rebalance");
        return;
    }
    for (int i = 0; i < list->cnt; i++)
        parts[i].offset = KF_OFFSET_NONE;
    consumer->conf.rebalance_cb(consumer->conf.opaque, event, parts, (size_t)list->cnt);
    free(parts);
}

/*
 * librdkafka's rebalance callback, on the polling thread. The caller hears of
 * the change first, then it is applied: a revoked partition is still ours
 * while the caller drains and commits it.
 */
static void kf_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                            rd_kafka_topic_partition_list_t *list, void *opaque)
{
    kf_consumer_t *consumer = opaque;
    bool cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    rd_kafka_error_t *error = NULL;
    rd_kafka_resp_err_t aerr = RD_KAFKA_RESP_ERR_NO_ERROR;

    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        SFB_INFO(rd_kafka_name(rk), "assigned %d partition(s) (%s)", list->cnt,
                 cooperative ? "cooperative" : "eager");
        kf_report_rebalance(consumer, KF_REBALANCE_ASSIGNED, list);
        if (cooperative)
            error = rd_kafka_incremental_assign(rk, list);
        else
            aerr = rd_kafka_assign(rk, list);
    } else {
        bool lost = rd_kafka_assignment_lost(rk);
        if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
            SFB_ERROR(rd_kafka_name(rk), "rebalance error: %s", rd_kafka_err2str(err));
        SFB_INFO(rd_kafka_name(rk), "%s %d partition(s)", lost ? "lost" : "revoking", list->cnt);
        kf_report_rebalance(consumer, lost ? KF_REBALANCE_LOST : KF_REBALANCE_REVOKED, list);
        if (cooperative)
            error = rd_kafka_incremental_unassign(rk, list);
        else
            aerr = rd_kafka_assign(rk, NULL);
    }
    if (error) {
        SFB_ERROR(rd_kafka_name(rk), "applying the rebalance: %s", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    } else if (aerr) {
        SFB_ERROR(rd_kafka_name(rk), "applying the rebalance: %s", rd_kafka_err2str(aerr));
    }
}

kf_err_t kf_consumer_create(kf_client_t *client, const kf_consumer_conf_t *conf,
                            kf_consumer_t **consumerp, char *errstr, size_t errstr_size)
{
    static const kf_property_t defaults[] = {
        {"partition.assignment.strategy", "cooperative-sticky"},
        /* A command topic with no committed offset is read from its start:
         * applying old commands beats silently skipping them. */
        {"auto.offset.reset", "earliest"},
        /* librdkafka prefetches up to 64 MiB by default; a daemon serving
         * many partitions keeps its memory bound smaller. */
        {"queued.max.messages.kbytes", "16384"},
        /* The default, 100,000 messages per partition, prefetches a whole
         * compressed backlog that the sink, holding at most 20,000 pending
         * messages, then pauses on: librdkafka drops what it prefetched and
         * fetches and decompresses it again after the resume. At 20,000
         * (tests/bench/sink_bench.sh, 100,000 lz4 commands, 1 partition):
         * peak RSS 54 -> 46 MB, CPU per command 8.3-11.3 -> 6.9-8.4 us,
         * throughput at 100 ms per call 23,100 -> 27,500/s. */
        {"queued.min.messages", "20000"},
    };
    static const kf_property_t fixed[] = {
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
    };
    kf_err_t err = KF_OK;
    char rd_errstr[512];
    rd_kafka_conf_t *rdconf = NULL;
    kf_consumer_t *consumer = NULL;

    if (!client || !consumerp)
        return kf_set_err(errstr, errstr_size, KF_ERR_ARG, "no client");
    *consumerp = NULL;
    consumer = calloc(1, sizeof(*consumer));
    if (!consumer)
        return kf_set_err(errstr, errstr_size, KF_ERR_NOMEM, "out of memory");
    consumer->client = client;
    pthread_mutex_init(&consumer->wake_mu, NULL);
    if (conf)
        consumer->conf = *conf;
    if ((err = kf_conf_build(client, RD_KAFKA_CONSUMER, true, defaults,
                             sizeof(defaults) / sizeof(defaults[0]), fixed,
                             sizeof(fixed) / sizeof(fixed[0]), &rdconf, errstr, errstr_size)))
        goto done;
    rd_kafka_conf_set_rebalance_cb(rdconf, kf_rebalance_cb);
    rd_kafka_conf_set_opaque(rdconf, consumer);
    consumer->rk = rd_kafka_new(RD_KAFKA_CONSUMER, rdconf, rd_errstr, sizeof(rd_errstr));
    if (!consumer->rk) {
        err = kf_set_err(errstr, errstr_size, KF_ERR_CONFIG, "kafka consumer: %s", rd_errstr);
        goto done;
    }
    rdconf = NULL;
    /* Everything (messages, rebalances, commit results) is served by
     * rd_kafka_consumer_poll from one queue. */
    rd_kafka_poll_set_consumer(consumer->rk);
    consumer->queue = rd_kafka_queue_get_consumer(consumer->rk);
    *consumerp = consumer;
    consumer = NULL;
done:
    if (rdconf)
        rd_kafka_conf_destroy(rdconf);
    kf_consumer_destroy(consumer);
    return err;
}

kf_err_t kf_consumer_subscribe(kf_consumer_t *consumer, const char *const *topics, size_t topic_cnt,
                               char *errstr, size_t errstr_size)
{
    if (!consumer || !topics || topic_cnt == 0)
        return kf_set_err(errstr, errstr_size, KF_ERR_ARG, "no topics to subscribe to");
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new((int)topic_cnt);
    for (size_t i = 0; i < topic_cnt; i++)
        rd_kafka_topic_partition_list_add(list, topics[i], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t rerr = rd_kafka_subscribe(consumer->rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (rerr)
        return kf_set_err(errstr, errstr_size, kf_err_from_rd(rerr), "subscribe: %s",
                          rd_kafka_err2str(rerr));
    return KF_OK;
}

kf_err_t kf_consumer_poll(kf_consumer_t *consumer, int timeout_ms, kf_message_t **msgp,
                          char *errstr, size_t errstr_size)
{
    char fatal[512];
    if (!consumer || !msgp)
        return kf_set_err(errstr, errstr_size, KF_ERR_ARG, "no consumer");
    *msgp = NULL;
    if (consumer->closed)
        return kf_set_err(errstr, errstr_size, KF_ERR_STATE, "consumer is closed");
    rd_kafka_message_t *rkm = rd_kafka_consumer_poll(consumer->rk, timeout_ms);
    if (!rkm)
        return KF_OK;
    if (rkm->err) {
        rd_kafka_resp_err_t rerr = rkm->err;
        if (rerr != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            consumer->error_cnt++;
            SFB_WARN(rd_kafka_name(consumer->rk), "consumer error: %s",
                     rd_kafka_message_errstr(rkm));
        }
        rd_kafka_message_destroy(rkm);
        if (rerr == RD_KAFKA_RESP_ERR__FATAL ||
            rd_kafka_fatal_error(consumer->rk, fatal, sizeof(fatal)))
            return kf_set_err(errstr, errstr_size, KF_ERR_FATAL, "fatal consumer error: %s", fatal);
        return KF_OK;
    }
    *msgp = kf_message_wrap(rkm);
    if (!*msgp)
        return kf_set_err(errstr, errstr_size, KF_ERR_NOMEM, "out of memory");
    return KF_OK;
}

void kf_consumer_wake(kf_consumer_t *consumer)
{
    /* librdkafka keeps the yield until the next poll: a wake that comes
     * before the poll is not lost. */
    if (!consumer)
        return;
    pthread_mutex_lock(&consumer->wake_mu);
    if (!consumer->wake_off && consumer->queue)
        rd_kafka_queue_yield(consumer->queue);
    pthread_mutex_unlock(&consumer->wake_mu);
}

/* The commit's answer, gathered by the callbacks below. */
typedef struct kf_commit_result {
    kf_err_t err;
    char errstr[512];
} kf_commit_result_t;

static void kf_commit_result_fill(kf_commit_result_t *result, rd_kafka_resp_err_t rerr,
                                  const rd_kafka_topic_partition_list_t *offsets)
{
    result->err = KF_OK;
    result->errstr[0] = '\0';
    if (rerr) {
        result->err = KF_ERR_KAFKA;
        kf_set_err(result->errstr, sizeof(result->errstr), KF_OK, "commit: %s",
                   rd_kafka_err2str(rerr));
        return;
    }
    for (int i = 0; offsets && i < offsets->cnt; i++) {
        if (offsets->elems[i].err) {
            result->err = KF_ERR_KAFKA;
            kf_set_err(result->errstr, sizeof(result->errstr), KF_OK, "commit of %s [%d]: %s",
                       offsets->elems[i].topic, (int)offsets->elems[i].partition,
                       rd_kafka_err2str(offsets->elems[i].err));
            return;
        }
    }
}

static void kf_commit_sync_cb(rd_kafka_t *rk, rd_kafka_resp_err_t rerr,
                              rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
    kf_commit_result_fill(opaque, rerr, offsets);
}

static void kf_commit_async_cb(rd_kafka_t *rk, rd_kafka_resp_err_t rerr,
                               rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
    kf_consumer_t *consumer = opaque;
    kf_commit_result_t result;
    kf_commit_result_fill(&result, rerr, offsets);
    if (result.err)
        SFB_WARN(rd_kafka_name(rk), "%s", result.errstr);
    if (!consumer->conf.commit_cb)
        return;
    kf_partition_t *parts = offsets ? kf_parts_from_list(offsets) : NULL;
    consumer->conf.commit_cb(consumer->conf.opaque, result.err, result.errstr, parts,
                             parts ? (size_t)offsets->cnt : 0);
    free(parts);
}

kf_err_t kf_consumer_commit(kf_consumer_t *consumer, const kf_partition_t *parts, size_t part_cnt,
                            bool async, char *errstr, size_t errstr_size)
{
    if (!consumer || !parts || part_cnt == 0)
        return kf_set_err(errstr, errstr_size, KF_ERR_ARG, "nothing to commit");
    for (size_t i = 0; i < part_cnt; i++)
        if (!parts[i].topic || parts[i].partition < 0 || parts[i].offset < 0)
            return kf_set_err(errstr, errstr_size, KF_ERR_ARG, "bad commit offset %lld",
                              (long long)parts[i].offset);
    if (consumer->closed)
        return kf_set_err(errstr, errstr_size, KF_ERR_STATE, "consumer is closed");
    rd_kafka_topic_partition_list_t *list = kf_list_from_parts(parts, part_cnt);
    if (!list)
        return kf_set_err(errstr, errstr_size, KF_ERR_NOMEM, "out of memory");
    kf_err_t err = KF_OK;
    rd_kafka_resp_err_t rerr;
    if (async) {
        rerr = rd_kafka_commit_queue(consumer->rk, list, consumer->queue, kf_commit_async_cb,
                                     consumer);
        if (rerr)
            err = kf_set_err(errstr, errstr_size, kf_err_from_rd(rerr), "commit: %s",
                             rd_kafka_err2str(rerr));
    } else {
        /* A NULL queue makes librdkafka wait and serve our callback here,
         * which sees per-partition errors that rd_kafka_commit would hide. */
        kf_commit_result_t result = {KF_ERR_KAFKA, "commit: no answer"};
        rerr = rd_kafka_commit_queue(consumer->rk, list, NULL, kf_commit_sync_cb, &result);
        if (rerr && result.err == KF_OK)
            kf_commit_result_fill(&result, rerr, NULL);
        if (result.err)
            err = kf_set_err(errstr, errstr_size, result.err, "%s", result.errstr);
    }
    rd_kafka_topic_partition_list_destroy(list);
    return err;
}

kf_err_t kf_consumer_committed(kf_consumer_t *consumer, const char *topic, int32_t partition,
                               int timeout_ms, int64_t *offsetp, char *errstr, size_t errstr_size)
{
    if (!consumer || !topic || partition < 0 || !offsetp)
        return kf_set_err(errstr, errstr_size, KF_ERR_ARG, "bad arguments");
    *offsetp = KF_OFFSET_NONE;
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_add(list, topic, partition);
    rd_kafka_resp_err_t rerr = rd_kafka_committed(consumer->rk, list, timeout_ms);
    if (!rerr)
        rerr = tp->err;
    kf_err_t err = KF_OK;
    if (rerr)
        err = kf_set_err(errstr, errstr_size, kf_err_from_rd(rerr), "committed %s [%d]: %s", topic,
                         (int)partition, rd_kafka_err2str(rerr));
    else if (tp->offset >= 0)
        *offsetp = tp->offset;
    rd_kafka_topic_partition_list_destroy(list);
    return err;
}

/*
 * After a resume, librdkafka (2.0.x) marks the partition fetchable but does
 * not wake the broker thread that fetches it: fetching restarts only when that
 * thread next wakes on its own, up to a second later, and a sink that pauses
 * for back-pressure loses that second every time. A seek to the resume
 * position does wake it ("seek done"), and changes nothing else: a pause
 * already rewound the fetch position to the message after the last one
 * kf_consumer_poll returned, which is exactly what rd_kafka_position reports.
 * Best effort: if it fails, the fetch still restarts on the next wake-up.
 */
static void kf_consumer_wake_fetcher(kf_consumer_t *consumer, rd_kafka_topic_partition_list_t *list)
{
    if (rd_kafka_position(consumer->rk, list) != RD_KAFKA_RESP_ERR_NO_ERROR || list->elems[0].err ||
        list->elems[0].offset < 0)
        return; /* nothing returned yet: the fetcher starts from the committed offset */
    rd_kafka_error_t *error = rd_kafka_seek_partitions(consumer->rk, list, 0 /* async */);
    if (error)
        rd_kafka_error_destroy(error);
}

static kf_err_t kf_consumer_pause_resume(kf_consumer_t *consumer, const char *topic,
                                         int32_t partition, bool pause, char *errstr,
                                         size_t errstr_size)
{
    if (!consumer || !topic || partition < 0)
        return kf_set_err(errstr, errstr_size, KF_ERR_ARG, "bad partition");
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_add(list, topic, partition);
    rd_kafka_resp_err_t rerr = pause ? rd_kafka_pause_partitions(consumer->rk, list)
                                     : rd_kafka_resume_partitions(consumer->rk, list);
    if (!rerr)
        rerr = tp->err;
    kf_err_t err = KF_OK;
    if (rerr)
        err = kf_set_err(errstr, errstr_size, KF_ERR_STATE, "%s %s [%d]: %s",
                         pause ? "pause" : "resume", topic, (int)partition, rd_kafka_err2str(rerr));
    else if (!pause)
        kf_consumer_wake_fetcher(consumer, list);
    rd_kafka_topic_partition_list_destroy(list);
    return err;
}

kf_err_t kf_consumer_pause(kf_consumer_t *consumer, const char *topic, int32_t partition,
                           char *errstr, size_t errstr_size)
{
    return kf_consumer_pause_resume(consumer, topic, partition, true, errstr, errstr_size);
}

kf_err_t kf_consumer_resume(kf_consumer_t *consumer, const char *topic, int32_t partition,
                            char *errstr, size_t errstr_size)
{
    return kf_consumer_pause_resume(consumer, topic, partition, false, errstr, errstr_size);
}

size_t kf_consumer_assignment_count(kf_consumer_t *consumer)
{
    rd_kafka_topic_partition_list_t *list = NULL;
    size_t cnt = 0;
    if (consumer && !consumer->closed && !rd_kafka_assignment(consumer->rk, &list)) {
        cnt = (size_t)list->cnt;
        rd_kafka_topic_partition_list_destroy(list);
    }
    return cnt;
}

kf_err_t kf_consumer_close(kf_consumer_t *consumer, char *errstr, size_t errstr_size)
{
    if (!consumer)
        return kf_set_err(errstr, errstr_size, KF_ERR_ARG, "no consumer");
    if (consumer->closed || consumer->closing)
        return KF_OK;
    consumer->closing = true;
    pthread_mutex_lock(&consumer->wake_mu);
    consumer->wake_off = true;
    pthread_mutex_unlock(&consumer->wake_mu);
    /* Runs the final revocation through kf_rebalance_cb, so the caller
     * commits what has results before the group moves on. */
    rd_kafka_resp_err_t rerr = rd_kafka_consumer_close(consumer->rk);
    consumer->closing = false;
    consumer->closed = true;
    if (rerr)
        return kf_set_err(errstr, errstr_size, kf_err_from_rd(rerr), "close: %s",
                          rd_kafka_err2str(rerr));
    return KF_OK;
}

void kf_consumer_destroy(kf_consumer_t *consumer)
{
    if (!consumer)
        return;
    if (consumer->rk) {
        kf_consumer_close(consumer, NULL, 0);
        if (consumer->queue)
            rd_kafka_queue_destroy(consumer->queue);
        rd_kafka_destroy(consumer->rk);
    }
    pthread_mutex_destroy(&consumer->wake_mu);
    free(consumer);
}
