/*
 * kf_client.c - the client: a checked copy of the config shared by every
 * handle, the embedded mock cluster, topic creation, and the routing of
 * librdkafka's logs and errors to sfb_log.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kf_int.h"
#include "sfb.h"

const char *kf_err_name(kf_err_t err)
{
    switch (err) {
    case KF_OK:
        return "ok";
    case KF_ERR_ARG:
        return "bad argument";
    case KF_ERR_CONFIG:
        return "configuration rejected";
    case KF_ERR_NOMEM:
        return "out of memory";
    case KF_ERR_QUEUE_FULL:
        return "queue full";
    case KF_ERR_TIMED_OUT:
        return "timed out";
    case KF_ERR_STATE:
        return "wrong state";
    case KF_ERR_KAFKA:
        return "kafka error";
    case KF_ERR_FATAL:
        return "fatal kafka error";
    }
    return "unknown error";
}

kf_err_t kf_set_err(char *errstr, size_t errstr_size, kf_err_t err, const char *fmt, ...)
{
    if (errstr && errstr_size > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errstr, errstr_size, fmt, ap);
        va_end(ap);
    }
    return err;
}

kf_err_t kf_err_from_rd(rd_kafka_resp_err_t err)
{
    switch (err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
        return KF_OK;
    case RD_KAFKA_RESP_ERR__FATAL:
        return KF_ERR_FATAL;
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
        return KF_ERR_TIMED_OUT;
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
        return KF_ERR_QUEUE_FULL;
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
        return KF_ERR_ARG;
    default:
        return KF_ERR_KAFKA;
    }
}

/* librdkafka logs from its own threads; sfb_log is thread-safe. Syslog
 * levels: 0-3 error, 4 warning, 5-6 notice/info, 7 debug. */
static void kf_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    sfb_log_level_t sfb_level = level <= 3   ? SFB_LOG_ERROR
                                : level == 4 ? SFB_LOG_WARN
                                : level <= 6 ? SFB_LOG_INFO
                                             : SFB_LOG_DEBUG;
    if (!sfb_log_enabled(sfb_level))
        return;
    sfb_log(sfb_level, rk ? rd_kafka_name(rk) : "kafka", "%s: %s", fac, buf);
}

/* Errors librdkafka reports outside any request (brokers down, fatal
 * idempotence errors). Most are transient and retried by librdkafka itself,
 * so they are logged here once; fatal ones are also surfaced by the polls. */
static void kf_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char fatal[512];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
        SFB_ERROR(rd_kafka_name(rk), "fatal error %s: %s", rd_kafka_err2name(orig), fatal);
        return;
    }
    SFB_WARN(rd_kafka_name(rk), "%s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static kf_err_t kf_conf_set(rd_kafka_conf_t *conf, const char *name, const char *value,
                            char *errstr, size_t errstr_size)
{
    char rd_errstr[512];
    if (rd_kafka_conf_set(conf, name, value, rd_errstr, sizeof(rd_errstr)) != RD_KAFKA_CONF_OK)
        return kf_set_err(errstr, errstr_size, KF_ERR_CONFIG, "kafka property \"%s\": %s", name,
                          rd_errstr);
    return KF_OK;
}

static const kf_property_t *kf_props_find(const kf_property_t *props, size_t cnt, const char *name)
{
    for (size_t i = 0; i < cnt; i++)
        if (strcmp(props[i].name, name) == 0)
            return &props[i];
    return NULL;
}

const char *kf_prop_name(const char *name, rd_kafka_type_t type, bool *applies)
{
    static const char consumer[] = "consumer.", producer[] = "producer.";
    *applies = true;
    if (strncmp(name, consumer, sizeof(consumer) - 1) == 0) {
        *applies = type == RD_KAFKA_CONSUMER;
        return name + sizeof(consumer) - 1;
    }
    if (strncmp(name, producer, sizeof(producer) - 1) == 0) {
        *applies = type == RD_KAFKA_PRODUCER;
        return name + sizeof(producer) - 1;
    }
    return name;
}

kf_err_t kf_conf_build(const kf_client_t *client, rd_kafka_type_t type, bool with_group,
                       const kf_property_t *defaults, size_t default_cnt,
                       const kf_property_t *fixed, size_t fixed_cnt, rd_kafka_conf_t **confp,
                       char *errstr, size_t errstr_size)
{
    kf_err_t err = KF_OK;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    *confp = NULL;
    if (!conf)
        return kf_set_err(errstr, errstr_size, KF_ERR_NOMEM, "rd_kafka_conf_new failed");
    rd_kafka_conf_set_log_cb(conf, kf_log_cb);
    rd_kafka_conf_set_error_cb(conf, kf_error_cb);

    if ((err = kf_conf_set(conf, "bootstrap.servers", client->bootstrap, errstr, errstr_size)) ||
        (err = kf_conf_set(conf, "client.id", client->client_id, errstr, errstr_size)))
        goto done;
    if (with_group) {
        if (!client->group_id) {
            err = kf_set_err(errstr, errstr_size, KF_ERR_CONFIG, "a consumer needs a group id");
            goto done;
        }
        if ((err = kf_conf_set(conf, "group.id", client->group_id, errstr, errstr_size)))
            goto done;
    }
    for (size_t i = 0; i < default_cnt; i++)
        if ((err = kf_conf_set(conf, defaults[i].name, defaults[i].value, errstr, errstr_size)))
            goto done;
    for (size_t i = 0; i < client->prop_cnt; i++) {
        const kf_property_t *prop = &client->props[i];
        bool applies;
        const char *name = kf_prop_name(prop->name, type, &applies);
        if (!applies)
            continue;
        const kf_property_t *fix = kf_props_find(fixed, fixed_cnt, name);
        if (fix && strcmp(fix->value, prop->value) != 0) {
            err = kf_set_err(errstr, errstr_size, KF_ERR_CONFIG,
                             "kafka property \"%s\" must be \"%s\" (sfbridge commits and "
                             "retries itself; this is what makes delivery safe)",
                             prop->name, fix->value);
            goto done;
        }
        if ((err = kf_conf_set(conf, name, prop->value, errstr, errstr_size)))
            goto done;
    }
    for (size_t i = 0; i < fixed_cnt; i++)
        if ((err = kf_conf_set(conf, fixed[i].name, fixed[i].value, errstr, errstr_size)))
            goto done;
    *confp = conf;
    conf = NULL;
done:
    if (conf)
        rd_kafka_conf_destroy(conf);
    return err;
}

void kf_client_destroy(kf_client_t *client)
{
    if (!client)
        return;
    if (client->mcluster)
        rd_kafka_mock_cluster_destroy(client->mcluster);
    if (client->mock_rk)
        rd_kafka_destroy(client->mock_rk);
    for (size_t i = 0; i < client->prop_cnt; i++) {
        free((char *)client->props[i].name);
        free((char *)client->props[i].value);
    }
    free(client->props);
    free(client->bootstrap);
    free(client->group_id);
    free(client->client_id);
    free(client);
}

/* Starts the mock cluster on a handle of its own, so it outlives any
 * consumer or producer and they all share it. */
static kf_err_t kf_client_start_mock(kf_client_t *client, char *errstr, size_t errstr_size)
{
    char rd_errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!conf)
        return kf_set_err(errstr, errstr_size, KF_ERR_NOMEM, "rd_kafka_conf_new failed");
    rd_kafka_conf_set_log_cb(conf, kf_log_cb);
    if (rd_kafka_conf_set(conf, "client.id", "sfbridge-mock", rd_errstr, sizeof(rd_errstr)) !=
        RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return kf_set_err(errstr, errstr_size, KF_ERR_CONFIG, "%s", rd_errstr);
    }
    client->mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, rd_errstr, sizeof(rd_errstr));
    if (!client->mock_rk) {
        rd_kafka_conf_destroy(conf);
        return kf_set_err(errstr, errstr_size, KF_ERR_KAFKA, "mock handle: %s", rd_errstr);
    }
    client->mcluster = rd_kafka_mock_cluster_new(client->mock_rk, client->embedded_brokers);
    if (!client->mcluster)
        return kf_set_err(errstr, errstr_size, KF_ERR_KAFKA, "rd_kafka_mock_cluster_new failed");
    const char *bootstraps = rd_kafka_mock_cluster_bootstraps(client->mcluster);
    free(client->bootstrap);
    client->bootstrap = strdup(bootstraps);
    if (!client->bootstrap)
        return kf_set_err(errstr, errstr_size, KF_ERR_NOMEM, "out of memory");
    SFB_INFO("kafka", "embedded mock cluster with %d brokers at %s", client->embedded_brokers,
             client->bootstrap);
    return KF_OK;
}

static char *kf_strdup_or_null(const char *s, bool *oom)
{
    if (!s)
        return NULL;
    char *copy = strdup(s);
    if (!copy)
        *oom = true;
    return copy;
}

kf_err_t kf_client_create(const kf_config_t *config, kf_client_t **clientp, char *errstr,
                          size_t errstr_size)
{
    kf_err_t err = KF_OK;
    kf_client_t *client = NULL;
    rd_kafka_conf_t *probe = NULL;
    bool oom = false;

    if (!config || !clientp)
        return kf_set_err(errstr, errstr_size, KF_ERR_ARG, "no config");
    *clientp = NULL;
    if (!config->embedded && (!config->bootstrap_servers || !*config->bootstrap_servers))
        return kf_set_err(errstr, errstr_size, KF_ERR_CONFIG,
                          "kafka bootstrap servers are required unless embedded");
    if (config->embedded_brokers < 0 || config->embedded_brokers > 16)
        return kf_set_err(errstr, errstr_size, KF_ERR_CONFIG,
                          "embedded brokers must be between 1 and 16");

    client = calloc(1, sizeof(*client));
    if (!client)
        return kf_set_err(errstr, errstr_size, KF_ERR_NOMEM, "out of memory");
    client->embedded = config->embedded;
    client->embedded_brokers = config->embedded_brokers ? config->embedded_brokers : 3;
    client->bootstrap = kf_strdup_or_null(config->embedded ? "" : config->bootstrap_servers, &oom);
    client->group_id = kf_strdup_or_null(config->group_id, &oom);
    client->client_id = kf_strdup_or_null(config->client_id ? config->client_id : "sfbridge", &oom);
    if (config->property_cnt > 0) {
        client->props = calloc(config->property_cnt, sizeof(*client->props));
        if (!client->props)
            oom = true;
    }
    /* Check every property now, so a typo is fatal at start-up with
     * librdkafka's own message rather than when a handle is first made. */
    probe = rd_kafka_conf_new();
    if (!probe)
        oom = true;
    for (size_t i = 0; !oom && i < config->property_cnt; i++) {
        const kf_property_t *prop = &config->properties[i];
        if (!prop->name || !prop->value) {
            err = kf_set_err(errstr, errstr_size, KF_ERR_CONFIG, "kafka property %zu has no %s", i,
                             prop->name ? "value" : "name");
            goto done;
        }
        bool applies;
        char rd_errstr[512];
        if (rd_kafka_conf_set(probe, kf_prop_name(prop->name, RD_KAFKA_PRODUCER, &applies),
                              prop->value, rd_errstr, sizeof(rd_errstr)) != RD_KAFKA_CONF_OK) {
            err = kf_set_err(errstr, errstr_size, KF_ERR_CONFIG, "kafka property \"%s\": %s",
                             prop->name, rd_errstr);
            goto done;
        }
        client->props[i].name = kf_strdup_or_null(prop->name, &oom);
        client->props[i].value = kf_strdup_or_null(prop->value, &oom);
        client->prop_cnt = i + 1;
    }
    if (oom) {
        err = kf_set_err(errstr, errstr_size, KF_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (client->embedded && (err = kf_client_start_mock(client, errstr, errstr_size)))
        goto done;
    *clientp = client;
    client = NULL;
done:
    if (probe)
        rd_kafka_conf_destroy(probe);
    kf_client_destroy(client);
    return err;
}

const char *kf_client_bootstrap(const kf_client_t *client)
{
    return client->bootstrap;
}

bool kf_client_embedded(const kf_client_t *client)
{
    return client->embedded;
}

void *kf_client_mock_cluster(kf_client_t *client)
{
    return client->mcluster;
}

static kf_err_t kf_client_create_topic_admin(kf_client_t *client, const char *topic, int partitions,
                                             const kf_property_t *configs, size_t config_cnt,
                                             int timeout_ms, char *errstr, size_t errstr_size)
{
    kf_err_t err = KF_OK;
    char rd_errstr[512];
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    rd_kafka_NewTopic_t *newt = NULL;
    rd_kafka_AdminOptions_t *options = NULL;
    rd_kafka_queue_t *queue = NULL;
    rd_kafka_event_t *event = NULL;

    if ((err = kf_conf_build(client, RD_KAFKA_PRODUCER, false, NULL, 0, NULL, 0, &conf, errstr,
                             errstr_size)))
        goto done;
    if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, rd_errstr, sizeof(rd_errstr)))) {
        err = kf_set_err(errstr, errstr_size, KF_ERR_CONFIG, "%s", rd_errstr);
        goto done;
    }
    conf = NULL;
    /* Replication factor -1: the broker's default.replication.factor. */
    newt = rd_kafka_NewTopic_new(topic, partitions, -1, rd_errstr, sizeof(rd_errstr));
    if (!newt) {
        err = kf_set_err(errstr, errstr_size, KF_ERR_ARG, "topic %s: %s", topic, rd_errstr);
        goto done;
    }
    for (size_t i = 0; i < config_cnt; i++) {
        if (rd_kafka_NewTopic_set_config(newt, configs[i].name, configs[i].value)) {
            err = kf_set_err(errstr, errstr_size, KF_ERR_ARG, "topic config %s", configs[i].name);
            goto done;
        }
    }
    options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_operation_timeout(options, timeout_ms, rd_errstr, sizeof(rd_errstr));
    rd_kafka_AdminOptions_set_request_timeout(options, timeout_ms, rd_errstr, sizeof(rd_errstr));
    queue = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &newt, 1, options, queue);
    /* The admin request has its own timeout; wait a little longer for it. */
    event = rd_kafka_queue_poll(queue, timeout_ms + 1000);
    if (!event) {
        err =
            kf_set_err(errstr, errstr_size, KF_ERR_TIMED_OUT, "creating topic %s timed out", topic);
        goto done;
    }
    if (rd_kafka_event_error(event)) {
        err = kf_set_err(errstr, errstr_size, kf_err_from_rd(rd_kafka_event_error(event)),
                         "creating topic %s: %s", topic, rd_kafka_event_error_string(event));
        goto done;
    }
    const rd_kafka_CreateTopics_result_t *result = rd_kafka_event_CreateTopics_result(event);
    size_t cnt = 0;
    const rd_kafka_topic_result_t **results = rd_kafka_CreateTopics_result_topics(result, &cnt);
    for (size_t i = 0; i < cnt; i++) {
        rd_kafka_resp_err_t terr = rd_kafka_topic_result_error(results[i]);
        if (terr == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
            continue;
        if (terr) {
            const char *msg = rd_kafka_topic_result_error_string(results[i]);
            err = kf_set_err(errstr, errstr_size, kf_err_from_rd(terr), "creating topic %s: %s",
                             topic, msg ? msg : rd_kafka_err2str(terr));
            goto done;
        }
        SFB_INFO("kafka", "created topic %s with %d partitions", topic, partitions);
    }
done:
    if (event)
        rd_kafka_event_destroy(event);
    if (queue)
        rd_kafka_queue_destroy(queue);
    if (options)
        rd_kafka_AdminOptions_destroy(options);
    if (newt)
        rd_kafka_NewTopic_destroy(newt);
    if (rk)
        rd_kafka_destroy(rk);
    if (conf)
        rd_kafka_conf_destroy(conf);
    return err;
}

kf_err_t kf_client_create_topic(kf_client_t *client, const char *topic, int partitions,
                                const kf_property_t *configs, size_t config_cnt, int timeout_ms,
                                char *errstr, size_t errstr_size)
{
    if (!client || !topic || !*topic || partitions < 1 || timeout_ms < 0)
        return kf_set_err(errstr, errstr_size, KF_ERR_ARG, "bad topic arguments");
    if (client->embedded) {
        /* librdkafka 2.0's mock cluster has no CreateTopics handler (and no
         * topic configs); its own call does the same job. */
        int replication = client->embedded_brokers < 3 ? client->embedded_brokers : 3;
        rd_kafka_resp_err_t rerr =
            rd_kafka_mock_topic_create(client->mcluster, topic, partitions, replication);
        if (rerr && rerr != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
            return kf_set_err(errstr, errstr_size, KF_ERR_KAFKA, "creating topic %s: %s", topic,
                              rd_kafka_err2str(rerr));
        return KF_OK;
    }
    return kf_client_create_topic_admin(client, topic, partitions, configs, config_cnt, timeout_ms,
                                        errstr, errstr_size);
}
