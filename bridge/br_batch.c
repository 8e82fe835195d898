/* br_batch.c - per-partition batching and in-flight rules (see br_batch.h). */
#include "br_batch.h"

#include <stdlib.h>
#include <string.h>

typedef enum { BATCH_OPEN, BATCH_CLOSED, BATCH_IN_FLIGHT } batch_state_t;

typedef struct batch_node {
    br_batch_t batch;
    batch_state_t state;
    struct batch_node *next;
} batch_node_t;

struct br_batcher {
    size_t max_records;
    int64_t linger_ms;
    size_t max_in_flight;
    uint64_t next_seq;
    /* Batches in seq order: in-flight and closed ones (interleaved only as
     * in-flight ones finish out of order), the open one last. */
    batch_node_t *head, *tail;
    size_t held;      /* nodes in the list */
    size_t in_flight; /* nodes in BATCH_IN_FLIGHT */
};

br_batcher_t *br_batcher_create(size_t max_records, int64_t linger_ms, size_t max_in_flight)
{
    if (max_records < 1 || max_records > 200 || linger_ms < 0 || max_in_flight < 1)
        return NULL;
    br_batcher_t *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->max_records = max_records;
    b->linger_ms = linger_ms;
    b->max_in_flight = max_in_flight;
    b->next_seq = 1;
    return b;
}

static void node_free(batch_node_t *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->batch.count; i++)
        free(n->batch.keys[i]);
    free(n->batch.keys);
    free(n->batch.items);
    free(n);
}

void br_batcher_destroy(br_batcher_t *b)
{
    if (!b)
        return;
    batch_node_t *n = b->head;
    while (n) {
        batch_node_t *next = n->next;
        node_free(n);
        n = next;
    }
    free(b);
}

static batch_node_t *node_new(br_batcher_t *b, int op, const char *sobject, int64_t now_ms)
{
    batch_node_t *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    n->batch.items = calloc(b->max_records, sizeof(*n->batch.items));
    n->batch.keys = calloc(b->max_records, sizeof(*n->batch.keys));
    if (!n->batch.items || !n->batch.keys) {
        node_free(n);
        return NULL;
    }
    n->batch.seq = b->next_seq++;
    n->batch.op = op;
    n->batch.capacity = b->max_records;
    n->batch.opened_ms = now_ms;
    /* Names longer than the buffer cannot be valid API names; the command
     * parser rejects them first. Truncation here would only merge batches. */
    size_t len = strlen(sobject);
    if (len >= sizeof(n->batch.sobject))
        len = sizeof(n->batch.sobject) - 1;
    memcpy(n->batch.sobject, sobject, len);
    n->batch.sobject[len] = '\0';
    n->state = BATCH_OPEN;
    return n;
}

static batch_node_t *open_node(const br_batcher_t *b)
{
    return (b->tail && b->tail->state == BATCH_OPEN) ? b->tail : NULL;
}

int br_batcher_add(br_batcher_t *b, int op, const char *sobject, const char *key, int64_t offset,
                   void *opaque, int64_t now_ms)
{
    batch_node_t *open = open_node(b);
    if (open && (open->batch.op != op || strcmp(open->batch.sobject, sobject) != 0 ||
                 open->batch.count >= open->batch.capacity)) {
        open->state = BATCH_CLOSED;
        open = NULL;
    }
    char *key_copy = NULL;
    if (key && !(key_copy = strdup(key)))
        return -1;
    if (!open) {
        open = node_new(b, op, sobject, now_ms);
        if (!open) {
            free(key_copy);
            return -1;
        }
        if (b->tail)
            b->tail->next = open;
        else
            b->head = open;
        b->tail = open;
        b->held++;
    }
    br_batch_t *batch = &open->batch;
    batch->items[batch->count].offset = offset;
    batch->items[batch->count].opaque = opaque;
    batch->keys[batch->count] = key_copy;
    batch->count++;
    if (batch->count >= batch->capacity)
        open->state = BATCH_CLOSED; /* full: no reason to wait for the linger */
    return 0;
}

bool br_batcher_has_room(const br_batcher_t *b)
{
    if (b->held < b->max_in_flight + 2)
        return true;
    /* At the bound, an open batch that is not full may still be filled:
     * refusing would let it linger out half empty behind slow calls, and a
     * backlog would then go out in smaller batches (more API calls). The
     * next command may instead close it and open one more, so the bound is
     * max_in_flight + 3 batches. */
    const batch_node_t *open = open_node(b);
    return open && open->batch.count < open->batch.capacity && b->held < b->max_in_flight + 3;
}

void br_batcher_tick(br_batcher_t *b, int64_t now_ms, bool force)
{
    batch_node_t *open = open_node(b);
    if (open && (force || now_ms - open->batch.opened_ms >= b->linger_ms))
        open->state = BATCH_CLOSED;
}

int64_t br_batcher_linger_left(const br_batcher_t *b, int64_t now_ms)
{
    const batch_node_t *open = open_node(b);
    if (!open)
        return -1;
    int64_t left = open->batch.opened_ms + b->linger_ms - now_ms;
    return left < 0 ? 0 : left;
}

/* True when some key of `x` is also a key of `y`. O(n*m) on at most 200x200
 * short strings, only while batches overlap in flight; cheap next to an
 * HTTP call. */
static bool keys_overlap(const br_batch_t *x, const br_batch_t *y)
{
    for (size_t i = 0; i < x->count; i++) {
        if (!x->keys[i])
            continue;
        for (size_t j = 0; j < y->count; j++) {
            if (y->keys[j] && strcmp(x->keys[i], y->keys[j]) == 0)
                return true;
        }
    }
    return false;
}

br_batch_t *br_batcher_next(br_batcher_t *b)
{
    if (b->in_flight >= b->max_in_flight)
        return NULL;
    /* The first closed batch in seq order is the only candidate: a later one
     * never overtakes an earlier one that is still waiting. */
    batch_node_t *cand = b->head;
    while (cand && cand->state == BATCH_IN_FLIGHT)
        cand = cand->next;
    if (!cand || cand->state != BATCH_CLOSED)
        return NULL;
    for (batch_node_t *n = b->head; n != cand; n = n->next) {
        /* Everything before cand is in flight. */
        if (n->batch.op != cand->batch.op || strcmp(n->batch.sobject, cand->batch.sobject) != 0 ||
            keys_overlap(&n->batch, &cand->batch))
            return NULL;
    }
    cand->state = BATCH_IN_FLIGHT;
    b->in_flight++;
    return &cand->batch;
}

void br_batcher_done(br_batcher_t *b, br_batch_t *batch)
{
    batch_node_t *prev = NULL, *n = b->head;
    while (n && &n->batch != batch) {
        prev = n;
        n = n->next;
    }
    if (!n)
        return;
    if (n->state == BATCH_IN_FLIGHT)
        b->in_flight--;
    if (prev)
        prev->next = n->next;
    else
        b->head = n->next;
    if (b->tail == n)
        b->tail = prev;
    b->held--;
    node_free(n);
}

size_t br_batcher_in_flight(const br_batcher_t *b)
{
    return b->in_flight;
}

size_t br_batcher_waiting(const br_batcher_t *b)
{
    size_t waiting = 0;
    for (const batch_node_t *n = b->head; n; n = n->next)
        waiting += n->state == BATCH_CLOSED;
    return waiting;
}

size_t br_batcher_open_items(const br_batcher_t *b)
{
    const batch_node_t *open = open_node(b);
    return open ? open->batch.count : 0;
}

void br_batcher_discard_pending(br_batcher_t *b, void (*drop)(void *opaque, void *ctx), void *ctx)
{
    batch_node_t *prev = NULL, *n = b->head;
    while (n) {
        batch_node_t *next = n->next;
        if (n->state == BATCH_IN_FLIGHT) {
            prev = n;
        } else {
            for (size_t i = 0; i < n->batch.count; i++) {
                if (drop)
                    drop(n->batch.items[i].opaque, ctx);
            }
            if (prev)
                prev->next = next;
            else
                b->head = next;
            if (b->tail == n)
                b->tail = prev;
            b->held--;
            node_free(n);
        }
        n = next;
    }
}
