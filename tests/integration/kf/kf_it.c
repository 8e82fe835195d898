/*
 * kf_it.c - drives connectors/kafka against the real test broker for
 * t_kf_layer.sh; kcat is the independent client on the other side.
 *
 *   kf_it BOOTSTRAP produce TOPIC N             N keyed messages with headers
 *   kf_it BOOTSTRAP consume GROUP TOPIC N       N messages, print, commit, close
 *   kf_it BOOTSTRAP pause GROUP TOPIC           pause p0, see only p1, resume p0
 *   kf_it BOOTSTRAP rebalance GROUP TOPIC       two members; cooperative hand-over
 *   kf_it BOOTSTRAP state TOPIC put K V | del K | dump
 * Prints results on stdout; exits 1 with a message on any failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kf.h"
#include "sfb.h"

static char errstr[512];
#define CHECK(expr)                                                                                \
    do {                                                                                           \
        kf_err_t err_ = (expr);                                                                    \
        if (err_) {                                                                                \
            fprintf(stderr, "%s:%d: %s: %s (%s)\n", __FILE__, __LINE__, #expr, errstr,             \
                    kf_err_name(err_));                                                            \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int delivered, failed;
static void on_delivery(void *opaque, void *msg_opaque, kf_err_t err, const char *es,
                        const char *topic, int32_t partition, int64_t offset)
{
    if (err) {
        failed++;
        fprintf(stderr, "delivery failed: %s\n", es);
    } else {
        delivered++;
    }
}

static int cmd_produce(kf_client_t *client, const char *topic, int n)
{
    kf_producer_conf_t conf = {.delivery_cb = on_delivery};
    kf_producer_t *producer = NULL;
    CHECK(kf_producer_create(client, &conf, &producer, errstr, sizeof(errstr)));
    int64_t t0 = now_ms();
    for (int i = 0; i < n; i++) {
        char key[32], value[64];
        snprintf(key, sizeof(key), "key-%d", i % 7);
        snprintf(value, sizeof(value), "{\"seq\":%d}", i);
        kf_header_t headers[] = {{"org", "acme", 4}, {"seq", value, strlen(value)}};
        kf_err_t err;
        while ((err = kf_producer_produce(producer, topic, KF_PARTITION_ANY, key, strlen(key),
                                          value, strlen(value), headers, 2, NULL, errstr,
                                          sizeof(errstr))) == KF_ERR_QUEUE_FULL)
            kf_producer_poll(producer, 10, NULL, NULL, 0);
        CHECK(err);
        kf_producer_poll(producer, 0, NULL, NULL, 0);
    }
    CHECK(kf_producer_flush(producer, 30000, errstr, sizeof(errstr)));
    fprintf(stderr, "produced %d (acks=all, idempotent) in %lld ms\n", n,
            (long long)(now_ms() - t0));
    printf("delivered %d failed %d\n", delivered, failed);
    kf_producer_destroy(producer);
    return failed ? 1 : 0;
}

static void print_message(const char *who, const kf_message_t *msg)
{
    kf_header_t h;
    char hdrs[256] = "";
    for (size_t i = 0; i < msg->header_cnt && kf_message_header(msg, i, &h) == KF_OK; i++) {
        size_t len = strlen(hdrs);
        snprintf(hdrs + len, sizeof(hdrs) - len, "%s%s=%.*s", i ? ";" : "", h.name, (int)h.size,
                 h.value ? (const char *)h.value : "");
    }
    printf("%s%s%d\t%lld\t%.*s\t%.*s\t%s\n", who, who[0] ? "\t" : "", (int)msg->partition,
           (long long)msg->offset, (int)msg->key_len, msg->key ? (const char *)msg->key : "",
           (int)msg->value_len, msg->value ? (const char *)msg->value : "", hdrs);
}

/* ---- consume N, commit the next offsets per partition, close */
static int cmd_consume(kf_client_t *client, const char *topic, int n)
{
    kf_consumer_t *consumer = NULL;
    CHECK(kf_consumer_create(client, NULL, &consumer, errstr, sizeof(errstr)));
    const char *topics[] = {topic};
    CHECK(kf_consumer_subscribe(consumer, topics, 1, errstr, sizeof(errstr)));
    int64_t next[64];
    for (int p = 0; p < 64; p++)
        next[p] = -1;
    int64_t deadline = now_ms() + 60000;
    int got = 0;
    while (got < n && now_ms() < deadline) {
        kf_message_t *msg = NULL;
        CHECK(kf_consumer_poll(consumer, 200, &msg, errstr, sizeof(errstr)));
        if (!msg)
            continue;
        print_message("", msg);
        if (msg->partition < 64)
            next[msg->partition] = msg->offset + 1;
        kf_message_destroy(msg);
        got++;
    }
    for (int p = 0; p < 64; p++) {
        if (next[p] < 0)
            continue;
        kf_partition_t part = {topic, p, next[p]};
        CHECK(kf_consumer_commit(consumer, &part, 1, false, errstr, sizeof(errstr)));
        int64_t committed;
        CHECK(kf_consumer_committed(consumer, topic, p, 10000, &committed, errstr, sizeof(errstr)));
        fprintf(stderr, "committed %s [%d] %lld\n", topic, p, (long long)committed);
        if (committed != next[p])
            return 1;
    }
    CHECK(kf_consumer_close(consumer, errstr, sizeof(errstr)));
    kf_consumer_destroy(consumer);
    return got == n ? 0 : 1;
}

/* ---- pause partition 0 while partition 1 flows; resume loses nothing */
static int cmd_pause(kf_client_t *client, const char *topic)
{
    kf_consumer_t *consumer = NULL;
    CHECK(kf_consumer_create(client, NULL, &consumer, errstr, sizeof(errstr)));
    const char *topics[] = {topic};
    CHECK(kf_consumer_subscribe(consumer, topics, 1, errstr, sizeof(errstr)));
    int64_t last[2] = {-1, -1};
    int seen[2] = {0, 0};
    bool paused = false, resumed = false;
    int64_t paused_at = 0, deadline = now_ms() + 60000;
    while (now_ms() < deadline) {
        kf_message_t *msg = NULL;
        CHECK(kf_consumer_poll(consumer, 100, &msg, errstr, sizeof(errstr)));
        if (msg) {
            int p = msg->partition;
            if (p > 1 || (last[p] >= 0 && msg->offset != last[p] + 1)) {
                fprintf(stderr, "gap or bad partition: [%d] %lld after %lld\n", p,
                        (long long)msg->offset, (long long)last[p]);
                return 1;
            }
            if (paused && !resumed && p == 0) {
                fprintf(stderr, "message from paused partition 0 at %lld\n",
                        (long long)msg->offset);
                return 1;
            }
            last[p] = msg->offset;
            seen[p]++;
            kf_message_destroy(msg);
        }
        if (!paused && seen[0] >= 3) {
            CHECK(kf_consumer_pause(consumer, topic, 0, errstr, sizeof(errstr)));
            paused = true;
            paused_at = now_ms();
            printf("paused p0 after %d messages\n", seen[0]);
        }
        if (paused && !resumed && now_ms() - paused_at > 3000) {
            printf("while paused: p0 %d p1 %d\n", seen[0], seen[1]);
            CHECK(kf_consumer_resume(consumer, topic, 0, errstr, sizeof(errstr)));
            resumed = true;
        }
        if (resumed && seen[0] == 20 && seen[1] == 20)
            break;
    }
    printf("final: p0 %d p1 %d\n", seen[0], seen[1]);
    kf_consumer_destroy(consumer);
    return seen[0] == 20 && seen[1] == 20 ? 0 : 1;
}

/* ---- two members: the second takes partitions; revocation commits first */
typedef struct member {
    const char *name;
    kf_consumer_t *consumer;
    int owned[8], revoked, assigned, revoke_commits;
    int64_t next[8];
} member_t;

static void on_rebalance(void *opaque, kf_rebalance_t event, const kf_partition_t *parts,
                         size_t cnt)
{
    member_t *m = opaque;
    for (size_t i = 0; i < cnt; i++) {
        int p = parts[i].partition;
        printf("%s %s %d\n", m->name,
               event == KF_REBALANCE_ASSIGNED  ? "assigned"
               : event == KF_REBALANCE_REVOKED ? "revoked"
                                               : "lost",
               p);
        if (event == KF_REBALANCE_ASSIGNED) {
            m->owned[p] = 1;
            m->assigned++;
            continue;
        }
        m->owned[p] = 0;
        m->revoked++;
        if (event == KF_REBALANCE_REVOKED && m->next[p] > 0) {
            kf_partition_t c = {parts[i].topic, p, m->next[p]};
            CHECK(kf_consumer_commit(m->consumer, &c, 1, false, errstr, sizeof(errstr)));
            m->revoke_commits++;
        }
    }
    fflush(stdout);
}

static int owned(const member_t *m)
{
    int n = 0;
    for (int p = 0; p < 8; p++)
        n += m->owned[p];
    return n;
}

static void pump(member_t *m, int *seen)
{
    kf_message_t *msg = NULL;
    CHECK(kf_consumer_poll(m->consumer, 20, &msg, errstr, sizeof(errstr)));
    if (!msg)
        return;
    int p = msg->partition;
    if (!m->owned[p] || p >= 4 || msg->offset >= 100) {
        fprintf(stderr, "%s got unowned/unexpected [%d] %lld\n", m->name, p,
                (long long)msg->offset);
        exit(1);
    }
    seen[p * 100 + msg->offset]++;
    m->next[p] = msg->offset + 1;
    kf_message_destroy(msg);
}

static int cmd_rebalance(kf_client_t *client, const char *topic)
{
    static int seen[400];
    member_t a = {.name = "a"}, b = {.name = "b"};
    kf_consumer_conf_t aconf = {.rebalance_cb = on_rebalance, .opaque = &a};
    kf_consumer_conf_t bconf = {.rebalance_cb = on_rebalance, .opaque = &b};
    const char *topics[] = {topic};
    CHECK(kf_consumer_create(client, &aconf, &a.consumer, errstr, sizeof(errstr)));
    CHECK(kf_consumer_subscribe(a.consumer, topics, 1, errstr, sizeof(errstr)));
    int64_t deadline = now_ms() + 30000;
    while (now_ms() < deadline) {
        kf_message_t *msg = NULL;
        CHECK(kf_consumer_poll(a.consumer, 50, &msg, errstr, sizeof(errstr)));
        if (msg) {
            seen[msg->partition * 100 + msg->offset]++;
            a.next[msg->partition] = msg->offset + 1;
            if (a.next[msg->partition] >= 5)
                CHECK(kf_consumer_pause(a.consumer, topic, msg->partition, errstr, sizeof(errstr)));
            kf_message_destroy(msg);
        }
        if (a.next[0] >= 5 && a.next[1] >= 5 && a.next[2] >= 5 && a.next[3] >= 5)
            break;
    }
    printf("a read 5 of each partition, owns %d\n", owned(&a));
    CHECK(kf_consumer_create(client, &bconf, &b.consumer, errstr, sizeof(errstr)));
    CHECK(kf_consumer_subscribe(b.consumer, topics, 1, errstr, sizeof(errstr)));
    int64_t t0 = now_ms();
    deadline = now_ms() + 60000;
    while (now_ms() < deadline && (owned(&a) != 2 || owned(&b) != 2)) {
        pump(&a, seen);
        pump(&b, seen);
    }
    printf("rebalance to 2+2 took %lld ms; a revoked %d (committed %d in the callback)\n",
           (long long)(now_ms() - t0), a.revoked, a.revoke_commits);
    for (int p = 0; p < 4; p++)
        if (a.owned[p])
            CHECK(kf_consumer_resume(a.consumer, topic, p, errstr, sizeof(errstr)));
    deadline = now_ms() + 60000;
    int complete = 0;
    while (now_ms() < deadline && !complete) {
        pump(&a, seen);
        pump(&b, seen);
        complete = 1;
        for (int i = 0; i < 400; i++)
            complete &= seen[i] >= 1;
    }
    int dups = 0, missing = 0;
    for (int i = 0; i < 400; i++) {
        dups += seen[i] > 1;
        missing += seen[i] == 0;
    }
    printf("messages: missing %d duplicated %d\n", missing, dups);
    /* Judged before closing: close revokes (and reports) the rest. */
    int rc = !missing && !dups && a.revoked == 2 && a.revoke_commits == 2 ? 0 : 1;
    kf_consumer_destroy(b.consumer);
    kf_consumer_destroy(a.consumer);
    return rc;
}

static void dump_one(void *arg, const char *key, const void *value, size_t len)
{
    printf("%s=%.*s\n", key, (int)len, (const char *)value);
}

static int cmd_state(kf_client_t *client, const char *topic, int argc, char **argv)
{
    kf_state_conf_t conf = {.topic = topic, .partitions = 3, .timeout_ms = 30000};
    kf_state_t *state = NULL;
    int64_t t0 = now_ms();
    CHECK(kf_state_create(client, &conf, &state, errstr, sizeof(errstr)));
    fprintf(stderr, "state loaded %zu keys in %lld ms\n", kf_state_count(state),
            (long long)(now_ms() - t0));
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "put") == 0 && i + 2 < argc) {
            CHECK(kf_state_put(state, argv[i + 1], argv[i + 2], strlen(argv[i + 2]), errstr,
                               sizeof(errstr)));
            i += 2;
        } else if (strcmp(argv[i], "del") == 0 && i + 1 < argc) {
            CHECK(kf_state_delete(state, argv[i + 1], errstr, sizeof(errstr)));
            i += 1;
        } else if (strcmp(argv[i], "dump") == 0) {
            kf_state_foreach(state, dump_one, NULL);
        } else {
            fprintf(stderr, "bad state command %s\n", argv[i]);
            return 2;
        }
    }
    CHECK(kf_state_flush(state, 30000, errstr, sizeof(errstr)));
    kf_state_destroy(state);
    return 0;
}

int main(int argc, char **argv)
{
    sfb_log_init(SFB_LOG_WARN, SFB_LOG_FORMAT_TEXT, 2);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 4) {
        fprintf(stderr, "usage: see kf_it.c\n");
        return 2;
    }
    const char *cmd = argv[2];
    bool grouped =
        strcmp(cmd, "consume") == 0 || strcmp(cmd, "pause") == 0 || strcmp(cmd, "rebalance") == 0;
    static const kf_property_t props[] = {{"consumer.session.timeout.ms", "10000"},
                                          {"consumer.heartbeat.interval.ms", "1000"}};
    kf_config_t config = {.bootstrap_servers = argv[1],
                          .client_id = "kf-it",
                          .group_id = grouped ? argv[3] : NULL,
                          .properties = props,
                          .property_cnt = 2};
    kf_client_t *client = NULL;
    CHECK(kf_client_create(&config, &client, errstr, sizeof(errstr)));
    int rc = 2;
    if (strcmp(cmd, "produce") == 0 && argc == 5)
        rc = cmd_produce(client, argv[3], atoi(argv[4]));
    else if (strcmp(cmd, "consume") == 0 && argc == 6)
        rc = cmd_consume(client, argv[4], atoi(argv[5]));
    else if (strcmp(cmd, "pause") == 0 && argc == 5)
        rc = cmd_pause(client, argv[4]);
    else if (strcmp(cmd, "rebalance") == 0 && argc == 5)
        rc = cmd_rebalance(client, argv[4]);
    else if (strcmp(cmd, "state") == 0)
        rc = cmd_state(client, argv[3], argc - 4, argv + 4);
    kf_client_destroy(client);
    return rc;
}
