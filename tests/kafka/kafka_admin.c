/*
 * sfb_kafka_admin: the few admin operations integration tests need and kcat
 * lacks, done with librdkafka's Admin API against the test broker. A JVM
 * admin tool (kafka-topics) would take ~2 s per call; this takes milliseconds.
 *
 *   sfb_kafka_admin -b BOOTSTRAP create-topic TOPIC PARTITIONS [NAME=VALUE...]
 *       Create TOPIC (replication factor 1) with optional topic configs, then
 *       wait until the broker's metadata shows every partition with a leader,
 *       so a producer started right after does not race the creation.
 *   sfb_kafka_admin -b BOOTSTRAP delete-topic TOPIC
 *   sfb_kafka_admin -b BOOTSTRAP committed GROUP TOPIC
 *       Print "PARTITION OFFSET" per partition of TOPIC: the offset GROUP has
 *       committed, or -1001 if none. Does not join the group.
 *   sfb_kafka_admin -b BOOTSTRAP produce-paced TOPIC PARTITION RATE < LINES
 *       Produce each line of stdin as one message, RATE messages per second
 *       on a fixed schedule (linger.ms=0), then wait for every delivery. A
 *       shell loop piped into kcat sends in bursts (kcat reads its input in
 *       blocks), which is not a light load.
 *
 * Exit codes: 0 ok, 1 the operation failed (message on stderr), 2 bad usage.
 * Options: -t SECONDS timeout per operation (default 30).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

enum { KADM_OK = 0, KADM_FAIL = 1, KADM_USAGE = 2 };

static const char kadm_usage[] =
    "usage: sfb_kafka_admin -b BOOTSTRAP [-t SECONDS] COMMAND ...\n"
    "  create-topic TOPIC PARTITIONS [NAME=VALUE...]  create and wait for leaders\n"
    "  delete-topic TOPIC\n"
    "  committed GROUP TOPIC                          print 'PARTITION OFFSET' lines\n"
    "  produce-paced TOPIC PARTITION RATE < LINES     one message per line, RATE/s\n"
    "exit: 0 ok, 1 operation failed, 2 bad usage\n";

static int64_t kadm_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Creates a client of TYPE for BOOTSTRAP; GROUP is set when non-NULL. */
static rd_kafka_t *kadm_client_create(rd_kafka_type_t type, const char *bootstrap,
                                      const char *group, char *errstr, size_t errstr_size)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk = NULL;

    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, errstr_size) !=
        RD_KAFKA_CONF_OK)
        goto done;
    /* produce-paced sends each message when it is due. */
    if (type == RD_KAFKA_PRODUCER &&
        rd_kafka_conf_set(conf, "linger.ms", "0", errstr, errstr_size) != RD_KAFKA_CONF_OK)
        goto done;
    if (group &&
        (rd_kafka_conf_set(conf, "group.id", group, errstr, errstr_size) != RD_KAFKA_CONF_OK ||
         rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, errstr_size) !=
             RD_KAFKA_CONF_OK))
        goto done;
    /* rd_kafka_new takes ownership of conf only on success. */
    rk = rd_kafka_new(type, conf, errstr, errstr_size);
    if (rk)
        conf = NULL;
done:
    if (conf)
        rd_kafka_conf_destroy(conf);
    return rk;
}

/* Waits for the admin result event of type EVTYPE on QUEUE. */
static rd_kafka_event_t *kadm_wait_event(rd_kafka_queue_t *queue, rd_kafka_event_type_t evtype,
                                         int timeout_ms, char *errstr, size_t errstr_size)
{
    int64_t deadline = kadm_now_ms() + timeout_ms;

    for (;;) {
        int left = (int)(deadline - kadm_now_ms());
        rd_kafka_event_t *rkev;

        if (left <= 0) {
            snprintf(errstr, errstr_size, "timed out after %d ms", timeout_ms);
            return NULL;
        }
        rkev = rd_kafka_queue_poll(queue, left);
        if (!rkev)
            continue;
        if (rd_kafka_event_type(rkev) == evtype)
            return rkev;
        /* Client-level errors (e.g. all brokers down) arrive here too. */
        if (rd_kafka_event_type(rkev) == RD_KAFKA_EVENT_ERROR)
            fprintf(stderr, "sfb_kafka_admin: %s\n", rd_kafka_event_error_string(rkev));
        rd_kafka_event_destroy(rkev);
    }
}

/* Counts TOPIC's partitions that have a leader; -1 if the topic is unknown. */
static int kadm_partitions_led(rd_kafka_t *rk, const char *topic, int timeout_ms)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    int led = -1;

    if (!rkt)
        goto done;
    if (rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR)
        goto done;
    if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR)
        goto done;
    led = 0;
    for (int i = 0; i < md->topics[0].partition_cnt; i++)
        if (md->topics[0].partitions[i].leader >= 0 &&
            md->topics[0].partitions[i].err == RD_KAFKA_RESP_ERR_NO_ERROR)
            led++;
done:
    if (md)
        rd_kafka_metadata_destroy(md);
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    return led;
}

static int kadm_create_topic(rd_kafka_t *rk, const char *topic, int partitions, char **configs,
                             int config_cnt, int timeout_ms, char *errstr, size_t errstr_size)
{
    rd_kafka_NewTopic_t *newt = NULL;
    rd_kafka_AdminOptions_t *opts = NULL;
    rd_kafka_queue_t *queue = rd_kafka_queue_new(rk);
    rd_kafka_event_t *rkev = NULL;
    int64_t deadline = kadm_now_ms() + timeout_ms;
    int rc = KADM_FAIL;

    newt = rd_kafka_NewTopic_new(topic, partitions, 1, errstr, errstr_size);
    if (!newt)
        goto done;
    for (int i = 0; i < config_cnt; i++) {
        char name[256];
        const char *eq = strchr(configs[i], '=');

        if (!eq || eq == configs[i] || (size_t)(eq - configs[i]) >= sizeof(name)) {
            snprintf(errstr, errstr_size, "topic config '%s' is not NAME=VALUE", configs[i]);
            rc = KADM_USAGE;
            goto done;
        }
        memcpy(name, configs[i], (size_t)(eq - configs[i]));
        name[eq - configs[i]] = '\0';
        if (rd_kafka_NewTopic_set_config(newt, name, eq + 1) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            snprintf(errstr, errstr_size, "cannot set topic config '%s'", configs[i]);
            goto done;
        }
    }
    opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    if (rd_kafka_AdminOptions_set_operation_timeout(opts, timeout_ms, errstr, errstr_size) !=
        RD_KAFKA_RESP_ERR_NO_ERROR)
        goto done;
    rd_kafka_CreateTopics(rk, &newt, 1, opts, queue);
    rkev =
        kadm_wait_event(queue, RD_KAFKA_EVENT_CREATETOPICS_RESULT, timeout_ms, errstr, errstr_size);
    if (!rkev)
        goto done;
    if (rd_kafka_event_error(rkev)) {
        snprintf(errstr, errstr_size, "%s", rd_kafka_event_error_string(rkev));
        goto done;
    }
    {
        size_t cnt = 0;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(rkev), &cnt);

        if (cnt != 1) {
            snprintf(errstr, errstr_size, "broker returned %zu topic results", cnt);
            goto done;
        }
        if (rd_kafka_topic_result_error(res[0])) {
            snprintf(errstr, errstr_size, "%s: %s",
                     rd_kafka_err2name(rd_kafka_topic_result_error(res[0])),
                     rd_kafka_topic_result_error_string(res[0])
                         ? rd_kafka_topic_result_error_string(res[0])
                         : "");
            goto done;
        }
    }
    /* The controller has created it; wait until this broker leads every
     * partition, or the first produce may see UNKNOWN_TOPIC_OR_PART. */
    while (kadm_partitions_led(rk, topic, 2000) != partitions) {
        if (kadm_now_ms() > deadline) {
            snprintf(errstr, errstr_size, "topic %s created but its %d partitions have no leader",
                     topic, partitions);
            goto done;
        }
        usleep(50 * 1000);
    }
    rc = KADM_OK;
done:
    if (rkev)
        rd_kafka_event_destroy(rkev);
    if (opts)
        rd_kafka_AdminOptions_destroy(opts);
    if (newt)
        rd_kafka_NewTopic_destroy(newt);
    rd_kafka_queue_destroy(queue);
    return rc;
}

static int kadm_delete_topic(rd_kafka_t *rk, const char *topic, int timeout_ms, char *errstr,
                             size_t errstr_size)
{
    rd_kafka_DeleteTopic_t *delt = rd_kafka_DeleteTopic_new(topic);
    rd_kafka_AdminOptions_t *opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DELETETOPICS);
    rd_kafka_queue_t *queue = rd_kafka_queue_new(rk);
    rd_kafka_event_t *rkev = NULL;
    int rc = KADM_FAIL;

    if (rd_kafka_AdminOptions_set_operation_timeout(opts, timeout_ms, errstr, errstr_size) !=
        RD_KAFKA_RESP_ERR_NO_ERROR)
        goto done;
    rd_kafka_DeleteTopics(rk, &delt, 1, opts, queue);
    rkev =
        kadm_wait_event(queue, RD_KAFKA_EVENT_DELETETOPICS_RESULT, timeout_ms, errstr, errstr_size);
    if (!rkev)
        goto done;
    if (rd_kafka_event_error(rkev)) {
        snprintf(errstr, errstr_size, "%s", rd_kafka_event_error_string(rkev));
        goto done;
    }
    {
        size_t cnt = 0;
        const rd_kafka_topic_result_t **res =
            rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(rkev), &cnt);

        if (cnt != 1 || rd_kafka_topic_result_error(res[0])) {
            snprintf(errstr, errstr_size, "%s",
                     cnt == 1 ? rd_kafka_err2name(rd_kafka_topic_result_error(res[0]))
                              : "no result for the topic");
            goto done;
        }
    }
    rc = KADM_OK;
done:
    if (rkev)
        rd_kafka_event_destroy(rkev);
    rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_DeleteTopic_destroy(delt);
    rd_kafka_queue_destroy(queue);
    return rc;
}

/* RK is a consumer configured with the group: rd_kafka_committed() fetches
 * the group's offsets without joining it. */
static int kadm_committed(rd_kafka_t *rk, const char *topic, int timeout_ms, char *errstr,
                          size_t errstr_size)
{
    rd_kafka_topic_partition_list_t *parts = NULL;
    int partition_cnt = kadm_partitions_led(rk, topic, timeout_ms);
    rd_kafka_resp_err_t err;
    int rc = KADM_FAIL;

    if (partition_cnt <= 0) {
        snprintf(errstr, errstr_size, "topic %s is unknown or has no led partition", topic);
        goto done;
    }
    parts = rd_kafka_topic_partition_list_new(partition_cnt);
    for (int i = 0; i < partition_cnt; i++)
        rd_kafka_topic_partition_list_add(parts, topic, i);
    err = rd_kafka_committed(rk, parts, timeout_ms);
    if (err) {
        snprintf(errstr, errstr_size, "%s", rd_kafka_err2str(err));
        goto done;
    }
    for (int i = 0; i < parts->cnt; i++) {
        if (parts->elems[i].err) {
            snprintf(errstr, errstr_size, "partition %d: %s", parts->elems[i].partition,
                     rd_kafka_err2str(parts->elems[i].err));
            goto done;
        }
        printf("%d %" PRId64 "\n", parts->elems[i].partition, parts->elems[i].offset);
    }
    rc = KADM_OK;
done:
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    return rc;
}

static int kadm_produce_paced(rd_kafka_t *rk, const char *topic, int partition, double rate,
                              int timeout_ms, char *errstr, size_t errstr_size)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long sent = 0;
    int rc = KADM_OK;
    /* Learn the topic first: the first message must not wait for its
     * metadata after its timestamp was taken. */
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    if (rkt && rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR)
        rd_kafka_metadata_destroy(md);
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while ((len = getline(&line, &cap, stdin)) >= 0) {
        if (len > 0 && line[len - 1] == '\n')
            len--;
        /* Message i leaves at start + i / rate, however long the others took. */
        double at = (double)sent / rate;
        struct timespec due = start;
        due.tv_sec += (time_t)at;
        due.tv_nsec += (long)((at - (double)(time_t)at) * 1e9);
        if (due.tv_nsec >= 1000000000L) {
            due.tv_sec++;
            due.tv_nsec -= 1000000000L;
        }
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL) == EINTR)
            ;
        rd_kafka_resp_err_t err =
            rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                              RD_KAFKA_V_VALUE(line, (size_t)len),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (err) {
            snprintf(errstr, errstr_size, "message %ld: %s", sent, rd_kafka_err2str(err));
            rc = KADM_FAIL;
            break;
        }
        sent++;
        rd_kafka_poll(rk, 0);
    }
    free(line);
    if (rd_kafka_flush(rk, timeout_ms) != RD_KAFKA_RESP_ERR_NO_ERROR && rc == KADM_OK) {
        snprintf(errstr, errstr_size, "%d message(s) not delivered", rd_kafka_outq_len(rk));
        rc = KADM_FAIL;
    }
    return rc;
}

int main(int argc, char **argv)
{
    const char *bootstrap = NULL;
    int timeout_ms = 30000;
    char errstr[512] = "";
    rd_kafka_t *rk = NULL;
    int rc = KADM_USAGE;
    int opt;

    while ((opt = getopt(argc, argv, "+b:t:h")) != -1) {
        switch (opt) {
        case 'b':
            bootstrap = optarg;
            break;
        case 't':
            timeout_ms = atoi(optarg) * 1000;
            break;
        case 'h':
            fputs(kadm_usage, stdout);
            return KADM_OK;
        default:
            fputs(kadm_usage, stderr);
            return KADM_USAGE;
        }
    }
    argc -= optind;
    argv += optind;
    if (!bootstrap || argc < 1 || timeout_ms <= 0)
        goto usage;

    if (!strcmp(argv[0], "create-topic") && argc >= 3) {
        char *end = NULL;
        long partitions;

        errno = 0;
        partitions = strtol(argv[2], &end, 10);
        if (errno || *end || partitions < 1 || partitions > 10000)
            goto usage;
        rk = kadm_client_create(RD_KAFKA_PRODUCER, bootstrap, NULL, errstr, sizeof(errstr));
        rc = rk ? kadm_create_topic(rk, argv[1], (int)partitions, argv + 3, argc - 3, timeout_ms,
                                    errstr, sizeof(errstr))
                : KADM_FAIL;
    } else if (!strcmp(argv[0], "delete-topic") && argc == 2) {
        rk = kadm_client_create(RD_KAFKA_PRODUCER, bootstrap, NULL, errstr, sizeof(errstr));
        rc = rk ? kadm_delete_topic(rk, argv[1], timeout_ms, errstr, sizeof(errstr)) : KADM_FAIL;
    } else if (!strcmp(argv[0], "committed") && argc == 3) {
        rk = kadm_client_create(RD_KAFKA_CONSUMER, bootstrap, argv[1], errstr, sizeof(errstr));
        rc = rk ? kadm_committed(rk, argv[2], timeout_ms, errstr, sizeof(errstr)) : KADM_FAIL;
    } else if (!strcmp(argv[0], "produce-paced") && argc == 4) {
        double rate = atof(argv[3]);
        if (rate <= 0 || rate > 1e6)
            goto usage;
        rk = kadm_client_create(RD_KAFKA_PRODUCER, bootstrap, NULL, errstr, sizeof(errstr));
        rc = rk ? kadm_produce_paced(rk, argv[1], atoi(argv[2]), rate, timeout_ms, errstr,
                                     sizeof(errstr))
                : KADM_FAIL;
    } else {
        goto usage;
    }
    if (rc != KADM_OK)
        fprintf(stderr, "sfb_kafka_admin: %s: %s\n", argv[0], errstr);
    goto done;
usage:
    fputs(kadm_usage, stderr);
    rc = KADM_USAGE;
done:
    if (rk)
        rd_kafka_destroy(rk);
    return rc;
}
