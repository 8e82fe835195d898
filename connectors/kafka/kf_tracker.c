/*
 * kf_tracker.c - the offset tracker: which offset of one partition may be
 * committed, given that results are acknowledged out of order.
 *
 * A ring of the admitted commands in offset order. A ticket is a sequence
 * number that keeps growing across resets, so its slot is ticket % ring_size
 * and a ticket from before a reset (or already released) is recognised as
 * stale instead of touching a slot that now belongs to another command.
 * Owned by the thread that owns the partition.
 *
 * The ring starts small and doubles when full, up to the capacity: a
 * partition with little traffic (most of them, when a worker owns many orgs)
 * keeps a few KB instead of the whole bound's worth.
 */
#include <stdlib.h>

#include "kf.h"

typedef struct kf_tracker_entry {
    int64_t offset;
    bool acked;
} kf_tracker_entry_t;

/* Slots a tracker starts with (it grows by doubling). */
#define KF_TRACKER_INITIAL_SLOTS 256

struct kf_tracker {
    kf_tracker_entry_t *ring;
    size_t ring_size;  /* slots allocated; grows up to capacity */
    size_t capacity;   /* admitted commands remembered at most */
    uint64_t head;     /* ticket of the oldest remembered command */
    uint64_t tail;     /* ticket the next admitted command gets */
    int64_t last_seen; /* highest offset admitted or skipped; -1 if none */
    int64_t committed; /* what kf_tracker_committed recorded; KF_OFFSET_NONE */
};

kf_err_t kf_tracker_create(size_t capacity, kf_tracker_t **trackerp)
{
    if (!trackerp || capacity == 0 || capacity > (SIZE_MAX / sizeof(kf_tracker_entry_t)))
        return KF_ERR_ARG;
    *trackerp = NULL;
    kf_tracker_t *tracker = calloc(1, sizeof(*tracker));
    if (!tracker)
        return KF_ERR_NOMEM;
    tracker->ring_size = capacity < KF_TRACKER_INITIAL_SLOTS ? capacity : KF_TRACKER_INITIAL_SLOTS;
    tracker->ring = calloc(tracker->ring_size, sizeof(*tracker->ring));
    if (!tracker->ring) {
        free(tracker);
        return KF_ERR_NOMEM;
    }
    tracker->capacity = capacity;
    tracker->last_seen = -1;
    tracker->committed = KF_OFFSET_NONE;
    *trackerp = tracker;
    return KF_OK;
}

void kf_tracker_destroy(kf_tracker_t *tracker)
{
    if (!tracker)
        return;
    free(tracker->ring);
    free(tracker);
}

/* Doubles the ring (capped at capacity). Slots move to ticket % new size, so
 * tickets already handed out stay valid. */
static kf_err_t tracker_grow(kf_tracker_t *tracker)
{
    size_t size =
        tracker->ring_size > tracker->capacity / 2 ? tracker->capacity : tracker->ring_size * 2;
    kf_tracker_entry_t *ring = calloc(size, sizeof(*ring));
    if (!ring)
        return KF_ERR_NOMEM;
    for (uint64_t t = tracker->head; t < tracker->tail; t++)
        ring[t % size] = tracker->ring[t % tracker->ring_size];
    free(tracker->ring);
    tracker->ring = ring;
    tracker->ring_size = size;
    return KF_OK;
}

kf_err_t kf_tracker_admit(kf_tracker_t *tracker, int64_t offset, uint64_t *ticketp)
{
    if (!tracker || !ticketp || offset < 0 || offset <= tracker->last_seen)
        return KF_ERR_ARG;
    if (tracker->tail - tracker->head == tracker->capacity)
        return KF_ERR_QUEUE_FULL;
    if (tracker->tail - tracker->head == tracker->ring_size) {
        kf_err_t err = tracker_grow(tracker);
        if (err != KF_OK)
            return err;
    }
    kf_tracker_entry_t *entry = &tracker->ring[tracker->tail % tracker->ring_size];
    entry->offset = offset;
    entry->acked = false;
    *ticketp = tracker->tail++;
    tracker->last_seen = offset;
    return KF_OK;
}

kf_err_t kf_tracker_skip(kf_tracker_t *tracker, int64_t offset)
{
    if (!tracker || offset < 0 || offset <= tracker->last_seen)
        return KF_ERR_ARG;
    /* Needs no slot: while a command below it is pending, committable is
     * that command's offset; once none is, it is last_seen + 1. */
    tracker->last_seen = offset;
    return KF_OK;
}

kf_err_t kf_tracker_ack(kf_tracker_t *tracker, uint64_t ticket)
{
    if (!tracker)
        return KF_ERR_ARG;
    if (ticket < tracker->head || ticket >= tracker->tail)
        return KF_ERR_STATE; /* released, from before a reset, or never issued */
    kf_tracker_entry_t *entry = &tracker->ring[ticket % tracker->ring_size];
    if (entry->acked)
        return KF_ERR_STATE;
    entry->acked = true;
    /* Each entry is released once: O(1) amortised. */
    while (tracker->head < tracker->tail && tracker->ring[tracker->head % tracker->ring_size].acked)
        tracker->head++;
    return KF_OK;
}

int64_t kf_tracker_committable(const kf_tracker_t *tracker)
{
    if (tracker->head < tracker->tail)
        return tracker->ring[tracker->head % tracker->ring_size].offset;
    return tracker->last_seen >= 0 ? tracker->last_seen + 1 : KF_OFFSET_NONE;
}

bool kf_tracker_commit_due(const kf_tracker_t *tracker)
{
    int64_t offset = kf_tracker_committable(tracker);
    return offset != KF_OFFSET_NONE &&
           (tracker->committed == KF_OFFSET_NONE || offset > tracker->committed);
}

void kf_tracker_committed(kf_tracker_t *tracker, int64_t offset)
{
    tracker->committed = offset;
}

size_t kf_tracker_in_flight(const kf_tracker_t *tracker)
{
    return (size_t)(tracker->tail - tracker->head);
}

void kf_tracker_reset(kf_tracker_t *tracker)
{
    tracker->head = tracker->tail;
    tracker->last_seen = -1;
    tracker->committed = KF_OFFSET_NONE;
}
