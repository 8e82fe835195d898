/*
 * kf_int.h - private to connectors/kafka: the client struct and the helpers
 * every handle uses to build its librdkafka configuration.
 */
#ifndef KF_INT_H
#define KF_INT_H

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "kf.h"

struct kf_client {
    char *bootstrap; /* the mock cluster's when embedded */
    char *group_id;  /* NULL if none */
    char *client_id;
    kf_property_t *props; /* deep copy of kf_config_t.properties */
    size_t prop_cnt;
    bool embedded;
    int embedded_brokers;
    rd_kafka_t *mock_rk; /* owns the mock cluster (embedded only) */
    rd_kafka_mock_cluster_t *mcluster;
};

/* Formats into errstr (NULL/0 safe) and returns err. */
kf_err_t kf_set_err(char *errstr, size_t errstr_size, kf_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Builds a librdkafka conf for one handle of `client`: bootstrap.servers,
 * client.id, group.id (if with_group), then `defaults`, then the client's
 * properties that apply to `type` (see kf_config_t), then `fixed` (a client
 * property that gives a fixed key another value is a KF_ERR_CONFIG; fixed
 * keys are set last, so they also win over librdkafka's aliases).
 * Logging and error callbacks go to sfb_log.
 * Destroy *confp with rd_kafka_conf_destroy unless rd_kafka_new took it.
 */
kf_err_t kf_conf_build(const kf_client_t *client, rd_kafka_type_t type, bool with_group,
                       const kf_property_t *defaults, size_t default_cnt,
                       const kf_property_t *fixed, size_t fixed_cnt, rd_kafka_conf_t **confp,
                       char *errstr, size_t errstr_size);

/* Maps a librdkafka error to a kf_err_t (fatal, timed out, queue full, other). */
kf_err_t kf_err_from_rd(rd_kafka_resp_err_t err);

/* The librdkafka name of a property ("consumer."/"producer." prefix off) and
 * whether it applies to a handle of `type`. */
const char *kf_prop_name(const char *name, rd_kafka_type_t type, bool *applies);

/* Wraps a consumed message; takes ownership of rkm. NULL on allocation failure. */
kf_message_t *kf_message_wrap(rd_kafka_message_t *rkm);

#endif
