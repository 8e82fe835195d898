/* br_sink_int.h - the sink's private structures, shared by br_sink*.c only. */
#ifndef BR_SINK_INT_H
#define BR_SINK_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "br_batch.h"
#include "br_command.h"
#include "br_config.h"
#include "kf.h"
#include "sf.h"

/* Most batches one /composite call carries: 5 collections of up to 200
 * records (Salesforce's limit for sObject Collections subrequests). */
#define COMPOSITE_MAX_BATCHES 5

struct sink;
struct sink_part;
struct sink_org;

/*
 * One consumed message waiting for its result (or dead letter) to be
 * acknowledged by Kafka. Created and freed by the main thread; while its batch
 * is in flight, the org worker owns the result fields (hand-off through the
 * job queues, no locking of the item itself).
 */
typedef struct sink_item {
    struct sink_part *part;
    int64_t offset;
    uint64_t ticket; /* the partition tracker's ticket for `offset` */
    /*
     * What the worker needs of the command once its record is built; the
     * parsed command itself is freed then. The strings point into `text`,
     * allocated with the item: a held command costs one allocation besides
     * its record. NULL where the op takes none, all NULL for a dead letter.
     */
    br_op_t op;
    const char *command_id; /* effective id (command_id or topic/partition/offset) */
    const char *sobject;
    const char *record_id; /* update, delete */
    const char *ext_field; /* upsert */
    const char *ext_value; /* upsert */
    /* The record's members as JSON text ("\"Name\":\"Acme\"", maybe ""),
     * without the ones the worker writes (attributes, id, the external id):
     * held as text rather than a parsed tree, it is what a request body is
     * made of and takes a fraction of the memory. NULL for a delete, and
     * freed once the result is built. */
    char *record;
    /* The message for Kafka, built by the main thread, kept until acked. A
     * result's key is command_id; a dead letter's is a copy of the
     * command's key (any bytes). */
    char *out_json;
    char *out_key;
    size_t out_key_len;
    const char *out_topic;
    /* Result, written by the worker. */
    bool ok;
    bool created;
    bool created_known;
    char id[19];
    int attempts;
    char *err_code;    /* Salesforce's errorCode, or SFBRIDGE_* */
    char *err_message; /* never a secret */
    char **err_fields;
    size_t err_field_cnt;
    char text[]; /* the strings above */
} sink_item_t;

/* A consumed message waiting for room in its partition's batcher. */
typedef struct sink_pending {
    kf_message_t *msg;
    struct sink_pending *next;
} sink_pending_t;

/* One assigned partition of the command topic. Main thread only. */
typedef struct sink_part {
    int32_t partition;
    struct sink_org *org; /* NULL: mapped to no org (dead letters) */
    br_batcher_t *batcher;
    kf_tracker_t *tracker;
    size_t tracker_capacity; /* admit no more than this many unacknowledged */
    bool paused;             /* we asked librdkafka to pause it */
    /* Messages consumed while the batcher had no room, in offset order.
     * Back-pressure waits here instead of pausing at once: librdkafka's
     * resume restarts fetching only on the broker thread's next wake-up
     * (up to a second), so pausing per batch would stall the partition.
     * Paused above a bound, resumed below half of it. */
    sink_pending_t *pending_head, *pending_tail;
    size_t pending_cnt;
    size_t pending_bytes;
    bool revoked;     /* being drained: no new messages, no new batches */
    size_t in_flight; /* batches at the workers */
    size_t unacked;   /* items whose output Kafka has not acknowledged yet */
    int64_t committed;
} sink_part_t;

/* A batch handed to an org's workers, and back. */
typedef struct sink_job {
    sink_part_t *part;
    br_batch_t *batch;
    struct sink_job *next;
} sink_job_t;

/* One org: its client and workers. `mu` protects the queue, idle_workers,
 * login_wanted, stopping and changes of paused_until_ms; the main thread reads
 * paused_until_ms without it, once per partition and round. */
typedef struct sink_org {
    struct sink *sink;
    const br_config_org_t *conf;
    sf_org_t *sf;
    pthread_t *threads;
    size_t thread_cnt;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    sink_job_t *queue_head, *queue_tail;
    size_t queue_len;                /* jobs in the queue */
    size_t idle_workers;             /* workers waiting for a job */
    _Atomic int64_t paused_until_ms; /* REQUEST_LIMIT_EXCEEDED or usage above max_api_usage_pct */
    int pause_level;                 /* consecutive pauses, for the backoff */
    bool login_wanted;               /* a partition was assigned: a worker logs in now */
    bool stopping;
    bool owned; /* this worker holds the org's lowest mapped partition (main thread) */
} sink_org_t;

typedef struct sink {
    const br_config_t *config;
    volatile sig_atomic_t *stop;
    kf_client_t *client;
    kf_consumer_t *consumer;
    kf_producer_t *producer;
    br_command_limits_t limits;

    sink_org_t *orgs;
    size_t org_cnt;

    sink_part_t **parts; /* indexed by partition number */
    size_t part_cap;
    size_t pending_max_msgs, pending_max_bytes; /* per partition (pending_share) */
    size_t held_max; /* commands admitted and not yet acknowledged, per partition (pending_share) */

    /* Finished jobs, from the workers to the main thread. */
    pthread_mutex_t done_mu;
    sink_job_t *done_head, *done_tail;

    /* Told when this worker gains or loses an org (it holds the lowest
     * partition mapped to it): the source subscribes to that org's channels
     * only while owned (br_source.h). Main thread; may be NULL. */
    void (*ownership_cb)(void *opaque, const char *org, bool owned);
    void *ownership_opaque;

    bool hard_stop; /* second signal: workers give up at once */
    bool fatal;
    char fatal_msg[1024];

    /* Counters for the log line at shutdown. */
    uint64_t n_consumed, n_results_ok, n_results_error, n_dead_letters, n_commits;
} sink_t;

int64_t sink_now_ms(void);
int64_t sink_wall_ms(void);

/* br_sink_worker.c */
int sink_org_start(sink_t *sink, sink_org_t *org, char *errstr, size_t errstr_size);
void sink_org_submit(sink_org_t *org, sink_job_t *job);
/* Has a worker log in (if no token is held yet) without waiting for the first batch. */
void sink_org_prepare(sink_org_t *org);
void sink_org_stop(sink_org_t *org);
bool sink_org_paused(sink_org_t *org, int64_t now_ms);
const char *sink_dedupe_field(const br_config_t *config, const char *sobject);

/* br_sink_output.c */
char *sink_result_json(const sink_t *sink, const sink_item_t *item);
char *sink_dead_letter_json(const sink_t *sink, const kf_message_t *msg, const char *org,
                            const char *reason, const char *detail);
void sink_item_set_error(sink_item_t *item, const char *code, const char *message,
                         char *const *fields, size_t field_cnt);
void sink_item_free(sink_item_t *item);
/* A new item for a parsed command: op, sobject, record id and external id
 * copied, so that the command can be freed; NULL when out of memory. */
sink_item_t *sink_item_for_command(const br_command_t *cmd, const char *command_id);
/* Writes cmd's fields as item->record (see there); -1 when out of memory. */
int sink_item_take_record(const sink_t *sink, sink_item_t *item, br_command_t *cmd);

#endif
