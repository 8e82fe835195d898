/*
 * kf_producer.c - an idempotent producer (acks=all) that never drops: a full
 * queue is returned to the caller, and delivery reports are served on the
 * thread that calls kf_producer_poll()/kf_producer_flush().
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kf_int.h"
#include "sfb.h"

struct kf_producer {
    kf_client_t *client;
    rd_kafka_t *rk;
    kf_producer_conf_t conf;
};

/* librdkafka calls this from rd_kafka_poll/rd_kafka_flush, i.e. on the
 * caller's thread (dr_msg_cb is never called from librdkafka's threads). */
static void kf_dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
    kf_producer_t *producer = opaque;
    if (!producer->conf.delivery_cb)
        return;
    kf_err_t err = KF_OK;
    char errstr[512] = "";
    if (rkm->err) {
        err = kf_err_from_rd(rkm->err);
        if (err != KF_ERR_FATAL)
            err = KF_ERR_KAFKA;
        /* Not rd_kafka_message_errstr(): for a delivery report it returns
         * the message's own payload, which is not a C string. */
        snprintf(errstr, sizeof(errstr), "%s: %s", rd_kafka_err2name(rkm->err),
                 rd_kafka_err2str(rkm->err));
    }
    producer->conf.delivery_cb(producer->conf.opaque, rkm->_private, err, errstr,
                               rd_kafka_topic_name(rkm->rkt), rkm->partition, rkm->offset);
}

kf_err_t kf_producer_create(kf_client_t *client, const kf_producer_conf_t *conf,
                            kf_producer_t **producerp, char *errstr, size_t errstr_size)
{
    static const kf_property_t defaults[] = {
        /* A few ms of batching costs little latency and saves requests. */
        {"linger.ms", "5"},
        /* Same partition for a key as the Java client. */
        {"partitioner", "murmur2_random"},
    };
    static const kf_property_t fixed[] = {
        {"enable.idempotence", "true"},
        {"acks", "all"},
    };
    kf_err_t err = KF_OK;
    char rd_errstr[512];
    char num[32];
    rd_kafka_conf_t *rdconf = NULL;
    kf_producer_t *producer = NULL;

    if (!client || !producerp)
        return kf_set_err(errstr, errstr_size, KF_ERR_ARG, "no client");
    *producerp = NULL;
    if (conf && (conf->max_messages < 0 || conf->max_kbytes < 0))
        return kf_set_err(errstr, errstr_size, KF_ERR_ARG, "negative producer bounds");
    producer = calloc(1, sizeof(*producer));
    if (!producer)
        return kf_set_err(errstr, errstr_size, KF_ERR_NOMEM, "out of memory");
    producer->client = client;
    if (conf)
        producer->conf = *conf;
    if ((err = kf_conf_build(client, RD_KAFKA_PRODUCER, false, defaults,
                             sizeof(defaults) / sizeof(defaults[0]), fixed,
                             sizeof(fixed) / sizeof(fixed[0]), &rdconf, errstr, errstr_size)))
        goto done;
    /* The explicit bounds of kf_producer_conf_t win over properties. */
    if (producer->conf.max_messages > 0) {
        snprintf(num, sizeof(num), "%d", producer->conf.max_messages);
        if (rd_kafka_conf_set(rdconf, "queue.buffering.max.messages", num, rd_errstr,
                              sizeof(rd_errstr)) != RD_KAFKA_CONF_OK) {
            err = kf_set_err(errstr, errstr_size, KF_ERR_CONFIG, "max messages: %s", rd_errstr);
            goto done;
        }
    }
    if (producer->conf.max_kbytes > 0) {
        snprintf(num, sizeof(num), "%d", producer->conf.max_kbytes);
        if (rd_kafka_conf_set(rdconf, "queue.buffering.max.kbytes", num, rd_errstr,
                              sizeof(rd_errstr)) != RD_KAFKA_CONF_OK) {
            err = kf_set_err(errstr, errstr_size, KF_ERR_CONFIG, "max kbytes: %s", rd_errstr);
            goto done;
        }
    }
    rd_kafka_conf_set_dr_msg_cb(rdconf, kf_dr_msg_cb);
    rd_kafka_conf_set_opaque(rdconf, producer);
    producer->rk = rd_kafka_new(RD_KAFKA_PRODUCER, rdconf, rd_errstr, sizeof(rd_errstr));
    if (!producer->rk) {
        err = kf_set_err(errstr, errstr_size, KF_ERR_CONFIG, "kafka producer: %s", rd_errstr);
        goto done;
    }
    rdconf = NULL;
    *producerp = producer;
    producer = NULL;
done:
    if (rdconf)
        rd_kafka_conf_destroy(rdconf);
    kf_producer_destroy(producer);
    return err;
}

static kf_err_t produce(kf_producer_t *producer, const char *topic, int32_t partition,
                        const void *key, size_t key_len, const void *value, size_t value_len,
                        const kf_header_t *headers, size_t header_cnt, void *msg_opaque,
                        int msgflags, char *errstr, size_t errstr_size)
{
    char fatal[512];
    rd_kafka_headers_t *hdrs = NULL;
    if (!producer || !topic || !*topic || partition < KF_PARTITION_ANY || (header_cnt && !headers))
        return kf_set_err(errstr, errstr_size, KF_ERR_ARG, "bad produce arguments");
    if (rd_kafka_fatal_error(producer->rk, fatal, sizeof(fatal)))
        return kf_set_err(errstr, errstr_size, KF_ERR_FATAL, "producer is dead: %s", fatal);
    if (header_cnt > 0) {
        hdrs = rd_kafka_headers_new(header_cnt);
        for (size_t i = 0; i < header_cnt; i++) {
            if (!headers[i].name) {
                rd_kafka_headers_destroy(hdrs);
                return kf_set_err(errstr, errstr_size, KF_ERR_ARG, "header %zu has no name", i);
            }
            rd_kafka_header_add(hdrs, headers[i].name, -1, headers[i].value,
                                headers[i].value ? (ssize_t)headers[i].size : 0);
        }
    }
    rd_kafka_resp_err_t rerr =
        rd_kafka_producev(producer->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                          RD_KAFKA_V_MSGFLAGS(msgflags), RD_KAFKA_V_KEY(key, key ? key_len : 0),
                          RD_KAFKA_V_VALUE((void *)value, value ? value_len : 0),
                          RD_KAFKA_V_OPAQUE(msg_opaque), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
    if (rerr) {
        /* On failure the headers were not taken over. */
        if (hdrs)
            rd_kafka_headers_destroy(hdrs);
        kf_err_t err = kf_err_from_rd(rerr);
        if (err == KF_ERR_QUEUE_FULL)
            return kf_set_err(errstr, errstr_size, err,
                              "producer queue full (%d messages waiting for Kafka); poll and "
                              "retry",
                              rd_kafka_outq_len(producer->rk));
        return kf_set_err(errstr, errstr_size, err == KF_OK ? KF_ERR_KAFKA : err,
                          "produce to %s: %s", topic, rd_kafka_err2str(rerr));
    }
    return KF_OK;
}

kf_err_t kf_producer_produce(kf_producer_t *producer, const char *topic, int32_t partition,
                             const void *key, size_t key_len, const void *value, size_t value_len,
                             const kf_header_t *headers, size_t header_cnt, void *msg_opaque,
                             char *errstr, size_t errstr_size)
{
    return produce(producer, topic, partition, key, key_len, value, value_len, headers, header_cnt,
                   msg_opaque, RD_KAFKA_MSG_F_COPY, errstr, errstr_size);
}

kf_err_t kf_producer_produce_borrowed(kf_producer_t *producer, const char *topic, int32_t partition,
                                      const void *key, size_t key_len, const void *value,
                                      size_t value_len, void *msg_opaque, char *errstr,
                                      size_t errstr_size)
{
    return produce(producer, topic, partition, key, key_len, value, value_len, NULL, 0, msg_opaque,
                   0 /* neither copy nor free: the caller's until delivered */, errstr,
                   errstr_size);
}

/* One topic's metadata, waited for up to timeout_ms. *cluster_down: the
 * request itself failed (no answer), as opposed to an answer about the topic. */
static rd_kafka_resp_err_t prepare_topic(rd_kafka_t *rk, const char *topic, int timeout_ms,
                                         bool *cluster_down)
{
    *cluster_down = false;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (!rkt)
        return rd_kafka_last_error();
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_resp_err_t rerr = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
    if (rerr)
        *cluster_down = true;
    else
        rerr = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return rerr;
}

kf_err_t kf_producer_prepare(kf_producer_t *producer, const char *const *topics, size_t topic_cnt,
                             int timeout_ms, char *errstr, size_t errstr_size)
{
    if (!producer || (!topics && topic_cnt))
        return kf_set_err(errstr, errstr_size, KF_ERR_ARG, "no producer or topics");
    kf_err_t first = KF_OK;
    size_t used = 0;
    if (errstr && errstr_size)
        errstr[0] = '\0';
    for (size_t i = 0; i < topic_cnt; i++) {
        bool named = topics[i] && *topics[i], cluster_down = false;
        rd_kafka_resp_err_t rerr =
            named ? prepare_topic(producer->rk, topics[i], timeout_ms, &cluster_down)
                  : RD_KAFKA_RESP_ERR__INVALID_ARG;
        if (!rerr)
            continue;
        if (first == KF_OK)
            first = named ? kf_err_from_rd(rerr) : KF_ERR_ARG;
        /* Every failing topic, "; "-separated. */
        if (errstr && used < errstr_size) {
            int n = snprintf(errstr + used, errstr_size - used, "%stopic %s: %s", used ? "; " : "",
                             topics[i] ? topics[i] : "(null)", rd_kafka_err2str(rerr));
            used += n > 0 ? (size_t)n : 0;
        }
        if (cluster_down)
            break; /* no answer: the next topics would wait as long for nothing */
    }
    return first;
}

static kf_err_t kf_producer_check_fatal(kf_producer_t *producer, char *errstr, size_t errstr_size)
{
    char fatal[512];
    rd_kafka_resp_err_t rerr = rd_kafka_fatal_error(producer->rk, fatal, sizeof(fatal));
    if (rerr)
        return kf_set_err(errstr, errstr_size, KF_ERR_FATAL, "fatal producer error %s: %s",
                          rd_kafka_err2name(rerr), fatal);
    return KF_OK;
}

kf_err_t kf_producer_poll(kf_producer_t *producer, int timeout_ms, int *servedp, char *errstr,
                          size_t errstr_size)
{
    if (!producer)
        return kf_set_err(errstr, errstr_size, KF_ERR_ARG, "no producer");
    int served = rd_kafka_poll(producer->rk, timeout_ms);
    if (servedp)
        *servedp = served;
    return kf_producer_check_fatal(producer, errstr, errstr_size);
}

kf_err_t kf_producer_flush(kf_producer_t *producer, int timeout_ms, char *errstr,
                           size_t errstr_size)
{
    if (!producer)
        return kf_set_err(errstr, errstr_size, KF_ERR_ARG, "no producer");
    rd_kafka_resp_err_t rerr = rd_kafka_flush(producer->rk, timeout_ms);
    kf_err_t err = kf_producer_check_fatal(producer, errstr, errstr_size);
    if (err)
        return err;
    if (rerr == RD_KAFKA_RESP_ERR__TIMED_OUT)
        return kf_set_err(errstr, errstr_size, KF_ERR_TIMED_OUT,
                          "flush timed out with %d message(s) not yet acknowledged",
                          rd_kafka_outq_len(producer->rk));
    if (rerr)
        return kf_set_err(errstr, errstr_size, kf_err_from_rd(rerr), "flush: %s",
                          rd_kafka_err2str(rerr));
    return KF_OK;
}

int kf_producer_outq_len(kf_producer_t *producer)
{
    return producer ? rd_kafka_outq_len(producer->rk) : 0;
}

void kf_producer_destroy(kf_producer_t *producer)
{
    if (!producer)
        return;
    if (producer->rk) {
        int left = rd_kafka_outq_len(producer->rk);
        if (left > 0) {
            SFB_WARN(rd_kafka_name(producer->rk),
                     "destroying producer with %d message(s) not acknowledged", left);
            /* Purged messages get a delivery report on the next poll, so the
             * caller gets every msg_opaque back (and can free it). */
            rd_kafka_purge(producer->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
            rd_kafka_poll(producer->rk, 0);
        }
        rd_kafka_destroy(producer->rk);
    }
    free(producer);
}
