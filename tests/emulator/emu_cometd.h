/*
 * emu_cometd.h - sfemu's Streaming API: the Bayeux (CometD) endpoint
 * /cometd/XX.X over the event bus (emu_bus.h), and the producers that put
 * Salesforce's events on the bus: platform events, Change Data Capture and
 * PushTopic. Wire format: salesforce-wire.md section 4; STREAMING.md.
 *
 * Threads: the HTTP server runs one thread per connection, so a held
 * /meta/connect blocks only its own connection. Client state is guarded by
 * the bus lock.
 */
#ifndef EMU_COMETD_H
#define EMU_COMETD_H

#include "emu_bus.h"
#include "emu_int.h"

#define EMU_COMETD_DEFAULT_TIMEOUT_MS 110000 /* advice.timeout: how long a connect is held */
#define EMU_COMETD_DEFAULT_EXPIRY_MS  40000  /* a client that does not reconnect in time expires */
#define EMU_COMETD_MAX_BODY           32768  /* Salesforce's request bound (413 past it) */
#define EMU_COMETD_MAX_CLIENTS        2000
#define EMU_COMETD_MAX_SUBS           100  /* subscriptions per client */
#define EMU_COMETD_MAX_BATCH          1000 /* events in one connect reply */

emu_cometd_t *emu_cometd_create(emu_bus_t *bus, int timeout_ms, int expiry_ms);
void emu_cometd_destroy(emu_cometd_t *cometd);

/* Answers POST /cometd/XX.X[/...] (path in req). May block up to the connect
 * timeout (plus an injected delay). */
void emu_cometd_handle(emu_t *emu, const emu_req_t *req, emu_resp_t *resp);

/* Control: every client forgotten. Held connects are answered now: with
 * 403::Unknown client (drop), or successfully, empty (restart = as if
 * Salesforce restarted; the next connect then gets 403::Unknown client). */
void emu_cometd_drop_all(emu_cometd_t *cometd, bool restart);
/* The next `next` connect replies are sent `ms` later than they would be. */
void emu_cometd_delay(emu_cometd_t *cometd, int ms, int next);
void emu_cometd_set_timeouts(emu_cometd_t *cometd, int timeout_ms, int expiry_ms);
/* Answers every held connect and refuses to hold new ones (server stopping). */
void emu_cometd_shutdown(emu_cometd_t *cometd);
/* Number of live clients (tests). */
size_t emu_cometd_clients(emu_cometd_t *cometd);

/* ---- producers (emu_cometd_events.c) ---- */

/* Whether a subscription to `channel` names something that exists: a
 * platform event of the schema, /data/ChangeEvents, a change event channel
 * of an sobject, a live PushTopic's /topic/Name, or a channel with events. */
bool emu_cometd_channel_exists(emu_t *emu, const char *channel);

/* DML hooks, called by emu_rest_dml.c with the store's write lock held,
 * before the change is applied for update/delete/undelete (rec is the record
 * as it is), after the insert for create. The events are published when the
 * change commits: at once without a transaction, when ctx->txn is destroyed
 * otherwise (a rollback discards them). Control-API loads (ctx->trusted)
 * emit nothing: they seed the org. */
typedef enum {
    EMU_CHANGE_CREATE,
    EMU_CHANGE_UPDATE,
    EMU_CHANGE_DELETE,
    EMU_CHANGE_UNDELETE
} emu_change_t;
void emu_cometd_on_change(emu_dml_ctx_t *ctx, const emu_sobject_t *so, const json_t *rec,
                          const json_t *changes, emu_change_t type);

/* Control: Change Data Capture entity selection, {"entities": "all" | "none" |
 * ["Account", ...]} (default all). Returns 0, or -1 with err. */
int emu_cometd_set_cdc(emu_t *emu, const json_t *spec, char *err, size_t err_size);
json_t *emu_cometd_get_cdc(emu_t *emu); /* {"entities": "all" | [...]} */

/* Control: publishes `count` synthetic events (Order_Number__c "E<n>") or
 * the given payloads to a channel. Returns 0 with the first and last replay
 * ids, or -1 with err. */
int emu_cometd_publish(emu_t *emu, const char *channel, size_t count, const json_t *payloads,
                       uint64_t *first, uint64_t *last, char *err, size_t err_size);

#endif
