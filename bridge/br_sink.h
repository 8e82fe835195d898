/*
 * br_sink.h - the sink: record-change commands from the command topic
 * applied to Salesforce, one result per command on the result topic, and the
 * bytes that are not a command on the dead-letter topic.
 *
 * Delivery (DESIGN.md "Delivery"): order is kept per partition; a partition's
 * offset is committed only after every command up to it has its result (or
 * dead letter) acknowledged by Kafka (idempotent producer, acks=all). A crash
 * anywhere loses nothing; commands in flight at the crash are applied again
 * (upserts and dedupe'd inserts are idempotent).
 *
 * Threads: br_sink_run() runs the Kafka side on the calling thread (consume,
 * parse, route, batch, produce, commit); each org has max_in_flight worker
 * threads that make the Salesforce calls. Batches go to the workers and come
 * back through mutex-protected queues; nothing else is shared.
 */
#ifndef BR_SINK_H
#define BR_SINK_H

#include <signal.h>
#include <stddef.h>

#include "br_config.h"

/*
 * Runs until *stop becomes non-zero, then drains: stops fetching, finishes
 * the batches in flight, delivers their results, commits and leaves the
 * group. Returns 0 after a clean stop, -1 with errstr filled when it could
 * not start or hit a fatal Kafka error (never a secret in errstr).
 * `stop` is set by a signal handler (volatile sig_atomic_t).
 */
int br_sink_run(const br_config_t *config, volatile sig_atomic_t *stop, char *errstr,
                size_t errstr_size);

#endif
