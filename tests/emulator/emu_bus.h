/*
 * emu_bus.h - sfemu's event bus for the Streaming API: one channel per name
 * ("/event/Order_Event__e", "/data/AccountChangeEvent", "/topic/X"), each an
 * ordered log of events with replay ids 1, 2, 3, ... (never reused, kept over
 * expiry and bus restarts), a retention window (default 72 h) and a cap on
 * the events kept per channel (the oldest leave first, as if they expired).
 *
 * Events are stored already serialized as the Bayeux message the client
 * receives ({"data":{...},"channel":"..."}), so a /meta/connect reply is
 * built by concatenation and no jansson object is shared between threads.
 *
 * Threads: one mutex guards the whole bus; a condition variable is
 * broadcast on every publish (and on drop/restart/shutdown) so held
 * /meta/connect requests wake at once. Functions named *_locked need the
 * caller to hold emu_bus_lock(); the others take it themselves. Lock order:
 * the record store's lock before the bus lock, never the reverse.
 */
#ifndef EMU_BUS_H
#define EMU_BUS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EMU_BUS_DEFAULT_RETENTION_HOURS 72
#define EMU_BUS_DEFAULT_MAX_EVENTS      50000 /* per channel */

typedef struct emu_bus emu_bus_t;
typedef struct emu_bus_chan emu_bus_chan_t; /* lives as long as the bus */

/* A bounded growable byte buffer (the connect reply under construction). */
typedef struct emu_buf {
    char *p;
    size_t len, cap, max;
} emu_buf_t;
int emu_buf_append(emu_buf_t *b, const char *s, size_t n); /* 0, or -1 past max / no memory */
void emu_buf_free(emu_buf_t *b);

emu_bus_t *emu_bus_create(long retention_hours, size_t max_events_per_channel);
void emu_bus_destroy(emu_bus_t *bus);

void emu_bus_lock(emu_bus_t *bus);
void emu_bus_unlock(emu_bus_t *bus);
/* Waits for a broadcast or until deadline (emu_bus_now_ms clock). Caller holds the lock. */
void emu_bus_wait_locked(emu_bus_t *bus, int64_t deadline_ms);
void emu_bus_broadcast_locked(emu_bus_t *bus);
int64_t emu_bus_now_ms(void);  /* monotonic */
int64_t emu_bus_wall_ms(void); /* epoch ms */
/* "2024-07-02T20:00:00.000Z" for epoch ms. */
void emu_bus_iso(int64_t wall_ms, char out[32]);

/* The channel of that name, created when `create` (NULL otherwise / on no memory). */
emu_bus_chan_t *emu_bus_chan_locked(emu_bus_t *bus, const char *name, bool create);
const char *emu_bus_chan_name(const emu_bus_chan_t *chan);

/* Publishes one event. `data` (borrowed) is the message's "data" object; its
 * "event" object receives "replayId" (and "createdDate" when
 * with_created_date). Returns the replay id, 0 on failure. Wakes waiters. */
uint64_t emu_bus_publish(emu_bus_t *bus, const char *channel, json_t *data, bool with_created_date);
/* The same from text, so one serialization serves several channels (a
 * change event goes to /data/ChangeEvents and its object's channel):
 * data_text is the "data" object without "event", event_text the "event"
 * object without replayId (both JSON objects, "{...}"). */
uint64_t emu_bus_publish_text(emu_bus_t *bus, const char *channel, const char *data_text,
                              const char *event_text, bool with_created_date);
/* Splits data into the two texts above (caller frees both); -1 on failure. */
int emu_bus_serialize(const json_t *data, char **data_text, char **event_text);

/* Retained range of a channel after dropping what is past retention:
 * *first = oldest retained replay id (last + 1 when none), *last = newest id
 * ever published (0 when none). Returns the number retained. */
size_t emu_bus_range_locked(emu_bus_t *bus, emu_bus_chan_t *chan, uint64_t *first, uint64_t *last);
/* Appends ",<event>" for the events after *cursor (at most max), advancing
 * *cursor; each message gets "clientId" first (Salesforce's deliveries carry
 * it, event_pushtopic_created fixture) unless client_id is NULL. An event
 * that left retention before delivery is skipped (the
 * cursor jumps to the oldest retained). Returns the number appended. */
size_t emu_bus_collect_locked(emu_bus_t *bus, emu_bus_chan_t *chan, uint64_t *cursor, size_t max,
                              const char *client_id, emu_buf_t *out);

/* Events of `channel` (NULL = every channel) with replay id <= through
 * (0 = all) leave retention now. Returns how many left. */
size_t emu_bus_expire(emu_bus_t *bus, const char *channel, uint64_t through);
void emu_bus_set_retention_ms(emu_bus_t *bus, int64_t ms);
int64_t emu_bus_retention_ms(emu_bus_t *bus);
/* {"channel","first_replay_id","last_replay_id","count"}, NULL for an unknown channel. */
json_t *emu_bus_info(emu_bus_t *bus, const char *channel);

#endif
