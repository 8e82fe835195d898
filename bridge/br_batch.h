/*
 * br_batch.h - how the sink groups the commands of one partition into
 * Salesforce calls, and which groups may be in flight together.
 *
 * The rules (DESIGN.md "Throughput", issue #5):
 *  - Consecutive commands of one partition with the same op and sobject form
 *    a batch; it closes when it holds max_records, when the next command has
 *    another op or sobject, or when it has lingered linger_ms.
 *  - Order is kept per partition. A closed batch may start while earlier
 *    batches of the same partition are still in flight only when it cannot
 *    observe or change what they touch: same op and sobject, and no record key
 *    in common (a key is the record id, the external-id value of an upsert, or
 *    nothing for a plain insert, which creates a new record). Any other batch
 *    waits until everything before it has finished: a barrier.
 *
 * Pure logic, no I/O and no clock of its own (the caller passes `now_ms`), so
 * it is unit-tested exhaustively. Owned by the thread that consumes the
 * partition; not thread-safe.
 */
#ifndef BR_BATCH_H
#define BR_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One command as the batcher sees it. The batcher copies nothing but `key`. */
typedef struct br_batch_item {
    int64_t offset; /* Kafka offset of the command */
    void *opaque;   /* the caller's command, handed back in the batch */
} br_batch_item_t;

typedef struct br_batch {
    uint64_t seq;           /* increasing per partition, from 1 */
    int op;                 /* the caller's op code */
    char sobject[128];      /* sobject name (API names are at most 80 chars) */
    size_t count;           /* items used */
    size_t capacity;        /* == max_records of the batcher */
    br_batch_item_t *items; /* in offset order */
    char **keys;            /* keys[i]: record key of items[i], or NULL (owned) */
    int64_t opened_ms;      /* when the first item arrived */
} br_batch_t;

typedef struct br_batcher br_batcher_t;

/* max_records: 1..200 (sObject Collections limit); linger_ms >= 0;
 * max_in_flight >= 1: batches of this partition allowed in flight at once. */
br_batcher_t *br_batcher_create(size_t max_records, int64_t linger_ms, size_t max_in_flight);
void br_batcher_destroy(br_batcher_t *b);

/*
 * Adds a command. `key` may be NULL (plain insert). If the open batch cannot
 * take it (other op/sobject, or full) the open batch is closed first and
 * becomes ready. Returns 0, or -1 if memory ran out (the command was not
 * added). The bound is the caller's to keep: when br_batcher_has_room() turns
 * false it pauses the partition (librdkafka then delivers nothing more of it
 * until resume), so a batcher holds at most about max_in_flight + 2 batches.
 */
int br_batcher_add(br_batcher_t *b, int op, const char *sobject, const char *key, int64_t offset,
                   void *opaque, int64_t now_ms);

/* False when the batcher holds max_in_flight + 2 batches or more and the
 * last is not an open batch with room (max_in_flight + 3 at most): stop
 * adding (the sink holds or pauses the partition). */
bool br_batcher_has_room(const br_batcher_t *b);

/* Closes the open batch if it has lingered linger_ms (or if force is true). */
void br_batcher_tick(br_batcher_t *b, int64_t now_ms, bool force);

/*
 * Returns the next batch that may start now, or NULL: the oldest closed batch
 * that is allowed by the in-flight rules above. The batch stays owned by the
 * batcher until br_batcher_done(). */
br_batch_t *br_batcher_next(br_batcher_t *b);

/* The batch has finished (every command has its result); frees it. */
void br_batcher_done(br_batcher_t *b, br_batch_t *batch);

/* Milliseconds until the open batch's linger expires (-1 if none is open). */
int64_t br_batcher_linger_left(const br_batcher_t *b, int64_t now_ms);

/* Counts, for metrics and shutdown: batches in flight, closed-waiting, open items. */
size_t br_batcher_in_flight(const br_batcher_t *b);
size_t br_batcher_waiting(const br_batcher_t *b);
size_t br_batcher_open_items(const br_batcher_t *b);

/*
 * Drops every batch not in flight and returns their items to the caller
 * through `drop(opaque)` (partition revoked: they will be consumed again
 * from the committed offset by whoever owns the partition next).
 */
void br_batcher_discard_pending(br_batcher_t *b, void (*drop)(void *opaque, void *ctx), void *ctx);

#endif
