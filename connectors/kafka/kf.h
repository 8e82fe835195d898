/*
 * kf.h - sfbridge's thin layer over librdkafka.
 *
 * What it adds to librdkafka is policy, not abstraction:
 *   - one config struct for every handle, with verbatim librdkafka properties
 *     checked at start-up (a rejection carries librdkafka's own message);
 *   - an embedded mock cluster (librdkafka's rd_kafka_mock) for the quickstart
 *     and for fault injection in tests;
 *   - a consumer that only commits what the caller says (no auto commit, no
 *     auto offset store) and reports rebalances before revocation completes;
 *   - an idempotent producer (acks=all) that never drops: a full queue is an
 *     error the caller sees, delivery reports come back on the caller's thread;
 *   - the offset tracker (what the sink may commit) and the compacted state
 *     topic (where the source keeps replay ids).
 *
 * Errors: functions return a kf_err_t and fill `errstr` (always
 * NUL-terminated, may be NULL when errstr_size is 0).
 *
 * Threads: a kf_consumer_t, kf_producer_t or kf_state_t is used by one thread
 * at a time (the one that polls it); callbacks run on that thread, inside the
 * poll/flush/close call. Handles of one kf_client_t may live on different
 * threads. The kf_client_t itself is read-only after creation.
 */
#ifndef KF_H
#define KF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    KF_OK = 0,
    KF_ERR_ARG,        /* bad argument (NULL, out of range, out of order) */
    KF_ERR_CONFIG,     /* a property librdkafka rejected, or a forbidden one */
    KF_ERR_NOMEM,      /* allocation failed */
    KF_ERR_QUEUE_FULL, /* bounded queue full: poll (serve reports) and retry */
    KF_ERR_TIMED_OUT,  /* the operation did not finish in time */
    KF_ERR_STATE,      /* wrong state: stale ticket, double ack, not assigned */
    KF_ERR_KAFKA,      /* a Kafka error; errstr has librdkafka's message */
    KF_ERR_FATAL,      /* the handle is unusable (e.g. idempotence violated) */
} kf_err_t;

/* A short name for a kf_err_t ("queue full"). */
const char *kf_err_name(kf_err_t err);

/* "No offset": nothing to commit, no message position. */
#define KF_OFFSET_NONE (-1001)
/* Produce to the partition chosen by the partitioner (key hash). */
#define KF_PARTITION_ANY (-1)

/* ------------------------------------------------------------------ client */

/* A verbatim librdkafka property ("linger.ms" = "5"). */
typedef struct kf_property {
    const char *name;
    const char *value;
} kf_property_t;

typedef struct kf_config {
    const char *bootstrap_servers; /* "host:port,..."; ignored when embedded */
    const char *group_id;          /* required by kf_consumer_create() */
    const char *client_id;         /* shown in broker logs; "sfbridge" if NULL */
    /* Applied with rd_kafka_conf_set() to every handle, after kf's defaults
     * and before kf's fixed settings (see kf_consumer_create/kf_producer_create).
     * Setting a fixed key to another value is a KF_ERR_CONFIG. A name
     * prefixed "consumer." or "producer." applies only to that kind of
     * handle, prefix removed ("producer.linger.ms"), which keeps librdkafka
     * from warning about properties of the other kind. */
    const kf_property_t *properties;
    size_t property_cnt;
    /* Start librdkafka's mock cluster in-process and point every handle at it:
     * no broker needed (quickstart, tests). Topics are auto-created with 4
     * partitions; kf_client_create_topic() makes other counts. */
    bool embedded;
    int embedded_brokers; /* mock brokers; 0 means 3 */
} kf_config_t;

typedef struct kf_client kf_client_t;

/*
 * Copies `config` (the caller may free it afterwards), checks every property
 * against librdkafka (rejection: KF_ERR_CONFIG with librdkafka's message,
 * prefixed by the property name) and starts the mock cluster if embedded.
 * Destroy with kf_client_destroy() after every handle made from it.
 */
kf_err_t kf_client_create(const kf_config_t *config, kf_client_t **clientp, char *errstr,
                          size_t errstr_size);
void kf_client_destroy(kf_client_t *client);

/* The bootstrap servers handles use (the mock cluster's when embedded). */
const char *kf_client_bootstrap(const kf_client_t *client);
bool kf_client_embedded(const kf_client_t *client);

/*
 * The rd_kafka_mock_cluster_t * of an embedded client (NULL otherwise), for
 * fault injection with rd_kafka_mock_push_request_errors() and friends in
 * tests. Typed void * so kf.h does not pull librdkafka's mock header.
 */
void *kf_client_mock_cluster(kf_client_t *client);

/*
 * Creates `topic` with `partitions` partitions if it does not exist (exists:
 * KF_OK). `configs` are topic configs ("cleanup.policy" = "compact").
 * Real cluster: Admin API CreateTopics with the broker's default replication
 * factor. Embedded: rd_kafka_mock_topic_create (the mock ignores configs).
 */
kf_err_t kf_client_create_topic(kf_client_t *client, const char *topic, int partitions,
                                const kf_property_t *configs, size_t config_cnt, int timeout_ms,
                                char *errstr, size_t errstr_size);

/* --------------------------------------------------------------- messages */

typedef struct kf_header {
    const char *name;
    const void *value; /* NULL: a header with a null value */
    size_t size;
} kf_header_t;

/* A consumed message. Pointers stay valid until kf_message_destroy(). */
typedef struct kf_message {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int64_t timestamp_ms; /* -1 if the broker gave none */
    const void *key;      /* NULL if the message has no key */
    size_t key_len;
    const void *value; /* NULL for a tombstone (null value) */
    size_t value_len;
    size_t header_cnt;
    void *priv_; /* kf's own: the rd_kafka_message_t */
} kf_message_t;

/* Header number idx (0 .. header_cnt-1), in the order they were produced. */
kf_err_t kf_message_header(const kf_message_t *msg, size_t idx, kf_header_t *header);
/* First header named `name`; KF_ERR_ARG if there is none. */
kf_err_t kf_message_header_find(const kf_message_t *msg, const char *name, kf_header_t *header);
void kf_message_destroy(kf_message_t *msg);

/* --------------------------------------------------------------- consumer */

typedef struct kf_partition {
    const char *topic;
    int32_t partition;
    int64_t offset; /* meaning depends on the call; KF_OFFSET_NONE if unknown */
} kf_partition_t;

typedef enum {
    KF_REBALANCE_ASSIGNED, /* start these (from their committed offsets) */
    KF_REBALANCE_REVOKED,  /* stop these: drain, commit what has results, forget */
    KF_REBALANCE_LOST,     /* gone already (session timed out): forget, commit nothing */
} kf_rebalance_t;

/*
 * Called on the polling thread from kf_consumer_poll() or kf_consumer_close(),
 * BEFORE librdkafka applies the change: during REVOKED the partitions are
 * still owned, so the callback may drain their in-flight work and call
 * kf_consumer_commit() (synchronously) for them. Partition offsets are
 * KF_OFFSET_NONE. With the cooperative protocol only the partitions that
 * move are listed; with an eager assignor every rebalance revokes everything.
 */
typedef void kf_rebalance_cb_t(void *opaque, kf_rebalance_t event, const kf_partition_t *parts,
                               size_t part_cnt);

/* Result of an asynchronous commit, from a later kf_consumer_poll() (or
 * close). `err` KF_OK or KF_ERR_KAFKA with `errstr` (the first failure, the
 * request's or one partition's); parts hold the offsets that were asked. */
typedef void kf_commit_cb_t(void *opaque, kf_err_t err, const char *errstr,
                            const kf_partition_t *parts, size_t part_cnt);

typedef struct kf_consumer_conf {
    kf_rebalance_cb_t *rebalance_cb; /* may be NULL */
    kf_commit_cb_t *commit_cb;       /* may be NULL */
    void *opaque;                    /* passed to both callbacks */
} kf_consumer_conf_t;

typedef struct kf_consumer kf_consumer_t;

/*
 * A group consumer of client's group_id. Defaults (the caller's properties
 * may override): partition.assignment.strategy=cooperative-sticky,
 * auto.offset.reset=earliest. Fixed: enable.auto.commit=false,
 * enable.auto.offset.store=false (offsets move only by kf_consumer_commit).
 *
 * Why cooperative-sticky: a sink partition has Salesforce batches in flight
 * for hundreds of milliseconds; an eager rebalance would make every worker
 * drain every partition whenever any member joins or leaves. Cooperative
 * rebalancing only stops the partitions that really move.
 */
kf_err_t kf_consumer_create(kf_client_t *client, const kf_consumer_conf_t *conf,
                            kf_consumer_t **consumerp, char *errstr, size_t errstr_size);
/* Subscribes to `topics` (replacing any previous subscription). */
kf_err_t kf_consumer_subscribe(kf_consumer_t *consumer, const char *const *topics, size_t topic_cnt,
                               char *errstr, size_t errstr_size);
/*
 * Waits up to timeout_ms for one message. KF_OK with *msgp set (destroy with
 * kf_message_destroy) or NULL on timeout. Serves rebalance and commit
 * callbacks. Consumer errors that librdkafka recovers from by itself are
 * logged and counted, not returned; KF_ERR_FATAL only if the handle is dead.
 */
kf_err_t kf_consumer_poll(kf_consumer_t *consumer, int timeout_ms, kf_message_t **msgp,
                          char *errstr, size_t errstr_size);
/* Any thread: makes a kf_consumer_poll() waiting in another thread return
 * now without a message (or the next one return at once, if none waits).
 * No effect once kf_consumer_close() has started (it must wait for the group). */
void kf_consumer_wake(kf_consumer_t *consumer);
/*
 * Commits parts[i].offset for each partition: the NEXT offset to consume
 * (for the sink: kf_tracker_committable()). Synchronous when !async: waits
 * for the broker and returns its answer, including per-partition failures
 * (commit_cb is not called). Asynchronous otherwise: returns once queued,
 * commit_cb reports the answer from a later poll.
 */
kf_err_t kf_consumer_commit(kf_consumer_t *consumer, const kf_partition_t *parts, size_t part_cnt,
                            bool async, char *errstr, size_t errstr_size);
/* The group's committed offset of one partition (KF_OFFSET_NONE if none). */
kf_err_t kf_consumer_committed(kf_consumer_t *consumer, const char *topic, int32_t partition,
                               int timeout_ms, int64_t *offsetp, char *errstr, size_t errstr_size);
/*
 * Stops (pause) or restarts (resume) fetching one assigned partition.
 * Messages already fetched but not yet returned are discarded by librdkafka
 * and fetched again after resume, from the position after the last message
 * kf_consumer_poll returned: nothing is skipped.
 */
kf_err_t kf_consumer_pause(kf_consumer_t *consumer, const char *topic, int32_t partition,
                           char *errstr, size_t errstr_size);
kf_err_t kf_consumer_resume(kf_consumer_t *consumer, const char *topic, int32_t partition,
                            char *errstr, size_t errstr_size);
/* Number of partitions currently assigned. */
size_t kf_consumer_assignment_count(kf_consumer_t *consumer);
/*
 * Leaves the group: the rebalance callback gets REVOKED for everything still
 * assigned (commit there), then the handle is closed. Idempotent.
 */
kf_err_t kf_consumer_close(kf_consumer_t *consumer, char *errstr, size_t errstr_size);
/* Closes if not closed yet, then frees. NULL-safe. */
void kf_consumer_destroy(kf_consumer_t *consumer);

/* --------------------------------------------------------------- producer */

/*
 * Delivery report of one message, on the thread that called
 * kf_producer_poll() or kf_producer_flush(). `err` KF_OK: the message is
 * written with acks=all at (partition, offset). Otherwise KF_ERR_KAFKA (or
 * KF_ERR_FATAL) with `errstr`: librdkafka has given up after its retries
 * (message.timeout.ms); the caller decides what happens to the message.
 */
typedef void kf_delivery_cb_t(void *opaque, void *msg_opaque, kf_err_t err, const char *errstr,
                              const char *topic, int32_t partition, int64_t offset);

typedef struct kf_producer_conf {
    kf_delivery_cb_t *delivery_cb; /* may be NULL */
    void *opaque;
    /* Bounds on what is queued and not yet acknowledged (0: librdkafka's
     * defaults, 100,000 messages and 1 GiB): queue.buffering.max.messages
     * and queue.buffering.max.kbytes. */
    int max_messages;
    int max_kbytes;
} kf_producer_conf_t;

typedef struct kf_producer kf_producer_t;

/*
 * An idempotent producer. Defaults (overridable): linger.ms=5,
 * partitioner=murmur2_random (the Java client's, so keys land where Java
 * producers put them). Fixed: enable.idempotence=true, acks=all.
 */
kf_err_t kf_producer_create(kf_client_t *client, const kf_producer_conf_t *conf,
                            kf_producer_t **producerp, char *errstr, size_t errstr_size);
/*
 * Queues one message (key, value and headers are copied). `value` NULL makes
 * a tombstone. `msg_opaque` comes back in the delivery report. Never blocks
 * and never drops: a full queue is KF_ERR_QUEUE_FULL (poll, then retry).
 */
kf_err_t kf_producer_produce(kf_producer_t *producer, const char *topic, int32_t partition,
                             const void *key, size_t key_len, const void *value, size_t value_len,
                             const kf_header_t *headers, size_t header_cnt, void *msg_opaque,
                             char *errstr, size_t errstr_size);
/*
 * The same without copying `value` (the key is still copied): the caller
 * keeps `value` unchanged and allocated until the message's delivery report
 * has been served. For messages the caller holds anyway until they are
 * acknowledged (the sink's results), this saves a copy of each one.
 */
kf_err_t kf_producer_produce_borrowed(kf_producer_t *producer, const char *topic, int32_t partition,
                                      const void *key, size_t key_len, const void *value,
                                      size_t value_len, void *msg_opaque, char *errstr,
                                      size_t errstr_size);
/*
 * Learns the topics' partitions and leaders before the first message needs
 * them (blocks up to timeout_ms per topic). Without it the first messages to
 * a topic wait in librdkafka for its metadata and for a broker thread that
 * may sleep up to a second: on a backlog, that held the sink's first 10,000
 * results for 600-800 ms. On failure returns the first topic's error, with
 * every failing topic in errstr ("topic X: ...; topic Y: ..."); when the
 * cluster does not answer, the remaining topics are not tried. An error (a topic does not
 * exist yet, the cluster is not reachable) changes nothing but the first
 * messages' wait: the caller may just log it.
 */
kf_err_t kf_producer_prepare(kf_producer_t *producer, const char *const *topics, size_t topic_cnt,
                             int timeout_ms, char *errstr, size_t errstr_size);
/* Serves delivery reports for up to timeout_ms (0: no wait). Returns the
 * number of events served in *servedp (may be NULL); KF_ERR_FATAL if the
 * producer hit a fatal (idempotence) error. */
kf_err_t kf_producer_poll(kf_producer_t *producer, int timeout_ms, int *servedp, char *errstr,
                          size_t errstr_size);
/* Waits until every queued message has its delivery report (served here),
 * or KF_ERR_TIMED_OUT. */
kf_err_t kf_producer_flush(kf_producer_t *producer, int timeout_ms, char *errstr,
                           size_t errstr_size);
/* Messages queued or in flight, not yet reported. */
int kf_producer_outq_len(kf_producer_t *producer);
/* Frees. Messages not yet acknowledged are purged first and get their
 * delivery report (an error) here, so every msg_opaque comes back exactly
 * once; flush first to have them delivered instead. NULL-safe. */
void kf_producer_destroy(kf_producer_t *producer);

/* ---------------------------------------------------------- offset tracker */

/*
 * What one partition may commit. Commands are admitted in offset order; their
 * results are acknowledged (delivered to Kafka) in any order. The committable
 * offset is the lowest admitted offset whose result is not acknowledged yet,
 * or, when everything is acknowledged, one past the highest offset seen
 * (admitted or skipped). Pure C, no threads: owned by the partition's thread.
 *
 * Bounded: at most `capacity` admitted commands are remembered (acknowledged
 * ones are forgotten as soon as everything below them is acknowledged);
 * admit beyond that is KF_ERR_QUEUE_FULL, the cue to pause the partition.
 * Every operation is O(1) (admit, ack) or O(1) amortised (the head advance).
 */
typedef struct kf_tracker kf_tracker_t;

kf_err_t kf_tracker_create(size_t capacity, kf_tracker_t **trackerp);
void kf_tracker_destroy(kf_tracker_t *tracker);

/* Admits the command at `offset` (> every offset seen before). *ticketp is
 * what kf_tracker_ack takes back. KF_ERR_ARG if out of order. */
kf_err_t kf_tracker_admit(kf_tracker_t *tracker, int64_t offset, uint64_t *ticketp);
/* A message that needs no result (filtered, or a gap): lets the committable
 * offset move past it. Same ordering rule as admit. */
kf_err_t kf_tracker_skip(kf_tracker_t *tracker, int64_t offset);
/* The result of the command with `ticket` is acknowledged. KF_ERR_STATE for a
 * stale ticket (admitted before a reset) or a second ack. */
kf_err_t kf_tracker_ack(kf_tracker_t *tracker, uint64_t ticket);
/* The offset to commit, or KF_OFFSET_NONE if nothing was seen yet. */
int64_t kf_tracker_committable(const kf_tracker_t *tracker);
/* True when committable has moved past what kf_tracker_committed() recorded. */
bool kf_tracker_commit_due(const kf_tracker_t *tracker);
/* Records that `offset` was committed. */
void kf_tracker_committed(kf_tracker_t *tracker, int64_t offset);
/* Admitted commands still remembered (acknowledged or not). */
size_t kf_tracker_in_flight(const kf_tracker_t *tracker);
/* Forgets everything (revocation). Tickets issued before become stale. */
void kf_tracker_reset(kf_tracker_t *tracker);

/* ------------------------------------------------------------ state topic */

/*
 * A key -> value map kept in a compacted topic (the source's replay ids:
 * key "org/channel", value the replay id). kf_state_create() creates the
 * topic if missing (cleanup.policy=compact) and reads it to its end: the
 * last value per key wins, a tombstone deletes. Writes update the map at once
 * and go to Kafka through an idempotent producer keyed by the key, so writes
 * of one key stay in order.
 */
typedef struct kf_state kf_state_t;

/* Called from kf_state_poll/flush for each write: KF_OK when acknowledged. */
typedef void kf_state_cb_t(void *opaque, const char *key, kf_err_t err, const char *errstr);

typedef struct kf_state_conf {
    const char *topic;
    int partitions;    /* when creating the topic; 0 means 1 */
    size_t max_keys;   /* bound on the map; 0 means 65,536 */
    size_t max_value;  /* bound on one value; 0 means 4,096 bytes */
    int timeout_ms;    /* for creation and the initial read; 0 means 30,000 */
    kf_state_cb_t *cb; /* may be NULL */
    void *opaque;
} kf_state_conf_t;

kf_err_t kf_state_create(kf_client_t *client, const kf_state_conf_t *conf, kf_state_t **statep,
                         char *errstr, size_t errstr_size);
/* The current value of `key` (valid until the next put/delete/destroy), or
 * KF_ERR_ARG if absent. */
kf_err_t kf_state_get(const kf_state_t *state, const char *key, const void **valuep,
                      size_t *value_lenp);
kf_err_t kf_state_put(kf_state_t *state, const char *key, const void *value, size_t value_len,
                      char *errstr, size_t errstr_size);
/* Writes a tombstone and removes the key from the map. */
kf_err_t kf_state_delete(kf_state_t *state, const char *key, char *errstr, size_t errstr_size);
size_t kf_state_count(const kf_state_t *state);
/* Calls fn for every key (order unspecified). */
void kf_state_foreach(const kf_state_t *state,
                      void (*fn)(void *arg, const char *key, const void *value, size_t len),
                      void *arg);
kf_err_t kf_state_poll(kf_state_t *state, int timeout_ms, char *errstr, size_t errstr_size);
kf_err_t kf_state_flush(kf_state_t *state, int timeout_ms, char *errstr, size_t errstr_size);
/* Frees (flush first to be sure writes are acknowledged). NULL-safe. */
void kf_state_destroy(kf_state_t *state);

#endif
