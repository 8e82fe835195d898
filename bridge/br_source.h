/*
 * br_source.h - the source: Salesforce events (Platform Events, Change Data
 * Capture, PushTopics over the Streaming API / CometD) published to Kafka
 * with no gap across restarts (issue #6).
 *
 * Ownership: a channel of org X is subscribed only by the worker that owns
 * the lowest-numbered command-topic partition mapped to X (sink.partitions),
 * so two workers of one consumer group never both deliver it and ownership
 * follows rebalances. The sink's consumer computes that and tells the source
 * through br_source_set_owned() from its rebalance callback (main thread);
 * an org with no partition mapped to it is never owned.
 *
 * Delivery: each event goes to its Kafka topic as event.v1 JSON; the last
 * replay id per (org, channel) goes to the compacted state topic only after
 * every event up to it is acknowledged by Kafka. `replay = "stored"` resumes
 * from there.
 *
 * Threads: br_source_set_owned() and br_source_destroy() are called from the
 * sink's main thread; the source runs its channels on threads of its own.
 */
#ifndef BR_SOURCE_H
#define BR_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

#include "br_config.h"
#include "kf.h"

typedef struct br_source br_source_t;

/* Creates the source for config->source entries (none: returns NULL with
 * errstr "" — nothing to do). `client` is the sink's Kafka client (shared;
 * the source makes its own producer and state handles from it). Starts no
 * subscription until an org is owned. NULL with errstr filled on failure. */
br_source_t *br_source_create(const br_config_t *config, kf_client_t *client, char *errstr,
                              size_t errstr_size);

/* This worker now owns (or no longer owns) the channels of `org`. Starting
 * is asynchronous; stopping returns once the org's channels have stopped and
 * their acknowledged replay ids are stored. */
void br_source_set_owned(br_source_t *source, const char *org, bool owned);

/* Stops every channel, delivers what was received, stores replay ids, frees. NULL-safe. */
void br_source_destroy(br_source_t *source);

#endif
