/*
 * kf_message.c - a consumed message: a view over librdkafka's message that
 * the caller owns until kf_message_destroy().
 */
#include <stdlib.h>
#include <string.h>

#include "kf_int.h"

/* Takes ownership of rkm (destroyed with the message, or now on failure). */
kf_message_t *kf_message_wrap(rd_kafka_message_t *rkm)
{
    kf_message_t *msg = calloc(1, sizeof(*msg));
    if (!msg) {
        rd_kafka_message_destroy(rkm);
        return NULL;
    }
    rd_kafka_timestamp_type_t tstype;
    rd_kafka_headers_t *hdrs = NULL;
    msg->topic = rd_kafka_topic_name(rkm->rkt);
    msg->partition = rkm->partition;
    msg->offset = rkm->offset;
    msg->timestamp_ms = rd_kafka_message_timestamp(rkm, &tstype);
    msg->key = rkm->key;
    msg->key_len = rkm->key ? rkm->key_len : 0;
    msg->value = rkm->payload;
    msg->value_len = rkm->payload ? rkm->len : 0;
    if (rd_kafka_message_headers(rkm, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR)
        msg->header_cnt = rd_kafka_header_cnt(hdrs);
    msg->priv_ = rkm;
    return msg;
}

kf_err_t kf_message_header(const kf_message_t *msg, size_t idx, kf_header_t *header)
{
    rd_kafka_headers_t *hdrs = NULL;
    if (!msg || !header || idx >= msg->header_cnt)
        return KF_ERR_ARG;
    if (rd_kafka_message_headers(msg->priv_, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return KF_ERR_ARG;
    if (rd_kafka_header_get_all(hdrs, idx, &header->name, &header->value, &header->size) !=
        RD_KAFKA_RESP_ERR_NO_ERROR)
        return KF_ERR_ARG;
    return KF_OK;
}

kf_err_t kf_message_header_find(const kf_message_t *msg, const char *name, kf_header_t *header)
{
    for (size_t i = 0; msg && name && i < msg->header_cnt; i++) {
        if (kf_message_header(msg, i, header) == KF_OK && strcmp(header->name, name) == 0)
            return KF_OK;
    }
    return KF_ERR_ARG;
}

void kf_message_destroy(kf_message_t *msg)
{
    if (!msg)
        return;
    rd_kafka_message_destroy(msg->priv_);
    free(msg);
}
