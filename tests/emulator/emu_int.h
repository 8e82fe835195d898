/*
 * emu_int.h - sfemu internals shared by the CORE files (server, router,
 * schema, store, REST, collections, composite, limits, faults, control).
 *
 * Threads: the MHD thread pool calls emu_route() concurrently. Shared state
 * is guarded per structure: the record store by its rwlock, the query
 * locators, counters, limits and faults by their own mutexes. Schema and
 * options are read-only after emu_create().
 */
#ifndef EMU_INT_H
#define EMU_INT_H

#include "emu.h"
#include "emu_bus.h"
#include "emu_id.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* The OAuth and SOQL modules are written by other engineers; until their
 * headers are in the tree the router answers their routes with 501 and every
 * API call with 401 (no session can be proven without the OAuth module). */
#if defined(__has_include)
#if __has_include("emu_oauth.h")
#include "emu_oauth.h"
#define EMU_HAVE_OAUTH 1
#endif
#if __has_include("emu_soql.h")
#include "emu_soql.h"
#define EMU_HAVE_SOQL 1
#endif
#endif

#define EMU_API_MIN_VERSION 31
#define EMU_API_MAX_VERSION 62
#define EMU_MAX_COLLECTION  200
#define EMU_MAX_COMPOSITE   25
#define EMU_JSON_CT         "application/json;charset=UTF-8"

/* ---- schema (emu_schema.c) ---- */

typedef struct emu_field {
    const char *name;
    const char *type; /* describe type: id, string, reference, ... */
    int length;
    bool nillable, createable, updateable, external_id, unique, defaulted;
    bool indexed; /* external id or unique: kept in the store's value index */
    bool is_boolean;
    bool auto_number;
    const json_t *default_value; /* borrowed from def, NULL if none */
    const json_t *def;           /* the schema.json entry (borrowed) */
} emu_field_t;

typedef struct emu_sobject {
    const char *name;
    const char *key_prefix;
    bool custom, is_event, queryable, createable, updateable, deletable;
    size_t nfields;
    emu_field_t *fields;
    size_t index;         /* position in the schema, also the store's table number */
    const json_t *def;    /* schema.json entry (borrowed), handed to SOQL */
    json_t *describe;     /* full describe body without urls (owned) */
    json_t *global_entry; /* describeGlobal entry without urls (owned) */
    json_t *field_index;  /* lower-case field name -> index in fields (owned) */
} emu_sobject_t;

typedef struct emu_schema {
    json_t *root; /* parsed schema.json (owned) */
    size_t nsobjects;
    emu_sobject_t *sobjects;
    time_t mtime; /* when the schema last changed: Last-Modified of describes */
} emu_schema_t;

emu_schema_t *emu_schema_create(json_t *root, time_t mtime, char *err, size_t err_size);
void emu_schema_destroy(emu_schema_t *schema);
const emu_sobject_t *emu_schema_find(const emu_schema_t *schema, const char *name); /* nocase */
const emu_sobject_t *emu_schema_by_prefix(const emu_schema_t *schema, const char *id);
const emu_field_t *emu_schema_field(const emu_sobject_t *so, const char *name); /* nocase */
/* describe / describeGlobal bodies for an API version (new objects, caller owns). */
json_t *emu_schema_describe(const emu_sobject_t *so, const char *version);
json_t *emu_schema_describe_global(const emu_schema_t *schema, const char *version);
json_t *emu_schema_urls(const emu_sobject_t *so, const char *version, bool full);

/* ---- record store (emu_store.c) ---- */

typedef struct emu_store emu_store_t;
typedef struct emu_txn emu_txn_t; /* undo journal for allOrNone */

emu_store_t *emu_store_create(const emu_schema_t *schema);
void emu_store_destroy(emu_store_t *store);
void emu_store_rdlock(emu_store_t *store);
void emu_store_wrlock(emu_store_t *store);
void emu_store_unlock(emu_store_t *store);
/* The functions below require the lock (read for lookups, write for changes). */
void emu_store_clear(emu_store_t *store);
uint64_t emu_store_next_seq(emu_store_t *store, const emu_sobject_t *so);
json_t *emu_store_get(emu_store_t *store, const char *id18); /* borrowed, even deleted */
const emu_sobject_t *emu_store_type_of(emu_store_t *store, const json_t *rec);
/* Takes a reference to rec (which must hold "Id"). */
int emu_store_insert(emu_store_t *store, const emu_sobject_t *so, json_t *rec, emu_txn_t *txn);
/* Sets each member of changes on rec, keeping indexes right. */
void emu_store_update(emu_store_t *store, const emu_sobject_t *so, json_t *rec,
                      const json_t *changes, emu_txn_t *txn);
/* Live records whose indexed field equals value (string compare, case-insensitive as
 * Salesforce compares external ids). Fills up to max, returns the total count. */
size_t emu_store_find(emu_store_t *store, const emu_sobject_t *so, const emu_field_t *f,
                      const char *value, json_t **out, size_t max);
/* Records of one object in insertion order (deleted ones included). */
json_t *const *emu_store_rows(emu_store_t *store, const emu_sobject_t *so, size_t *count);
size_t emu_store_count(emu_store_t *store, const emu_sobject_t *so, size_t *deleted);

emu_txn_t *emu_txn_create(void);
/* Undoes every change journaled, newest first. The caller holds the write lock. */
void emu_txn_rollback(emu_txn_t *txn, emu_store_t *store);
void emu_txn_destroy(emu_txn_t *txn);
/* Streaming: fn(arg, commit) runs once, with commit=false on rollback or
 * commit=true when the transaction is destroyed without one. */
typedef void (*emu_txn_defer_fn)(void *arg, bool commit);
void emu_txn_defer(emu_txn_t *txn, emu_txn_defer_fn fn, void *arg);
void *emu_txn_deferred(emu_txn_t *txn, emu_txn_defer_fn fn); /* arg registered with fn, or NULL */

/* ---- requests and responses ---- */

typedef struct emu_req {
    const char *method;
    const char *path;  /* percent-decoded, no query string */
    const char *query; /* raw query string (after '?'), "" if none */
    const char *body;
    size_t body_len;
    const char *authorization;
    const char *if_modified_since;
    const char *query_options; /* Sforce-Query-Options */
    emu_txn_t *txn; /* a composite subrequest under allOrNone: journal its changes here */
} emu_req_t;

typedef struct emu_resp {
    int status;
    json_t *json;             /* owned */
    char *text;               /* owned, for non-JSON bodies */
    const char *content_type; /* for text */
    char *location;           /* owned */
    time_t last_modified;     /* 0 = none */
    bool limit_info;          /* add Sforce-Limit-Info */
    bool drop;                /* fault: close the connection without answering */
    int body_fault;           /* EMU_BODY_* */
} emu_resp_t;

enum { EMU_BODY_OK = 0, EMU_BODY_TRUNCATE = 1, EMU_BODY_MALFORMED = 2 };

void emu_resp_clear(emu_resp_t *resp);
/* Salesforce's top-level error: status + [{"message","errorCode"[,"fields"]}]. */
void emu_resp_error(emu_resp_t *resp, int status, const char *code, const char *fields_csv,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void emu_resp_json(emu_resp_t *resp, int status, json_t *json /* stolen */);

/* Query-string value (percent-decoded) of `name` into out; returns false if absent. */
bool emu_query_param(const char *query, const char *name, char *out, size_t out_size);
/* Percent-decodes in place ('+' to space when form is true). */
void emu_route_url_decode(char *s, bool form);

/* ---- the emulator instance ---- */

typedef struct emu_faults emu_faults_t;
typedef struct emu_cometd emu_cometd_t; /* Streaming API (emu_cometd.h) */
typedef struct emu_session_info {
    char user_id[19];
    char org_id[19];
    char username[256];
} emu_session_info_t;

struct emu {
    emu_options_t opt;
    char *data_path;
    char *tls_cert_pem, *tls_key_pem;
    char base_url[160];
    int port;
    void *mhd; /* struct MHD_Daemon */

    emu_schema_t *schema;
    emu_store_t *store;
    json_t *org_json;        /* org, users, connected_apps (owned) */
    json_t *initial_records; /* records loaded at start and on reset (owned) */
    char default_user_id[19];
    char org_id[19];
#ifdef EMU_HAVE_OAUTH
    emu_oauth_t *oauth;
#endif
    emu_faults_t *faults;

    pthread_mutex_t lock; /* guards the members below */
    long api_limit, api_used;
    json_t *calls_by_resource; /* name -> count */
    long calls_total;
    json_t *locators;      /* query locator id -> {"rows":[...],"batch":n} */
    json_t *locator_order; /* FIFO of locator ids, bounded */
    uint64_t locator_seq;
    uint64_t event_replay_id;
    uint64_t cdc_commit_number;   /* ChangeEventHeader.commitNumber */
    uint64_t event_synthetic_seq; /* Order_Number__c "E<n>" of control-API events */

    bool *cdc_off;        /* per sobject index: deselected from Change Data Capture */
    emu_bus_t *bus;       /* Streaming API events (own lock) */
    emu_cometd_t *cometd; /* Bayeux clients (guarded by the bus lock) */
};

/* Router (emu_router.c): answers one request; never blocks except for faults'
 * latency. Safe without sockets (the fuzz target calls it directly). */
void emu_route(emu_t *emu, const emu_req_t *req, emu_resp_t *resp);
/* Dispatches a versioned API path (after auth/limits) - composite uses it. */
void emu_route_api(emu_t *emu, const emu_req_t *req, const emu_session_info_t *sess,
                   const char *version, const char *rest, emu_resp_t *resp);

/* Server (emu_server.c) */
int emu_server_start(emu_t *emu, char *err, size_t err_size);
/* Readies the routes without a socket (creates the OAuth module for a
 * placeholder URL): what emu_route() needs when driven directly, by the fuzz
 * target. emu_server_start() calls it after binding. */
int emu_server_offline(emu_t *emu, char *err, size_t err_size);
void emu_server_stop(emu_t *emu);
/* Inserts the org's users (org.json) as User records; caller holds the write lock. */
void emu_server_load_users(emu_t *emu);

/* REST handlers (emu_rest*.c). `version` is "62.0"; `rest` the path after the version. */
void emu_rest_versions(emu_t *emu, emu_resp_t *resp);
void emu_rest_resources(emu_t *emu, const char *version, const emu_session_info_t *sess,
                        emu_resp_t *resp);
void emu_rest_sobjects(emu_t *emu, const emu_req_t *req, const emu_session_info_t *sess,
                       const char *version, const char *rest, emu_resp_t *resp);
void emu_rest_query(emu_t *emu, const emu_req_t *req, const char *version, const char *rest,
                    bool all, emu_resp_t *resp);
void emu_rest_locators_clear(emu_t *emu);

/* DML shared by REST, collections and composite (emu_rest_dml.c). The caller
 * holds the store's write lock. Errors are appended to `errors` as SaveResult
 * errors {"statusCode","message","fields"}; the functions return 0 or -1. */
typedef struct emu_dml_ctx {
    emu_t *emu;
    const emu_session_info_t *sess;
    emu_txn_t *txn;
    bool trusted; /* control-API load: Id and system fields may be set */
} emu_dml_ctx_t;
int emu_dml_create(emu_dml_ctx_t *ctx, const emu_sobject_t *so, const json_t *fields,
                   char id_out[19], json_t *errors);
int emu_dml_update(emu_dml_ctx_t *ctx, const emu_sobject_t *so, const char *id,
                   const json_t *fields, json_t *errors);
int emu_dml_delete(emu_dml_ctx_t *ctx, const char *id, json_t *errors);
/* Restores a deleted record (control API: Salesforce's undelete()). */
int emu_dml_undelete(emu_dml_ctx_t *ctx, const char *id, char id_out[19], json_t *errors);
/* Upsert on external id field f = value. Returns 0 with *created set, -1 on error;
 * on several matches returns -1 with matches (if non-NULL) holding their ids. */
int emu_dml_upsert(emu_dml_ctx_t *ctx, const emu_sobject_t *so, const emu_field_t *f,
                   const char *value, const json_t *fields, char id_out[19], bool *created,
                   json_t *errors, json_t *matches);
void emu_dml_error(json_t *errors, const char *code, const char *fields_csv, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* HTTP status Salesforce uses when a single-record call fails with this code. */
int emu_dml_status(const char *code);
/* Turns SaveResult errors into the top-level error array (statusCode -> errorCode). */
json_t *emu_dml_top_errors(const json_t *errors);
/* Record JSON as REST returns it (attributes first), all fields or a csv list. */
json_t *emu_record_view(const emu_sobject_t *so, const json_t *rec, const char *version,
                        const char *fields_csv, char *bad_field, size_t bad_size);
void emu_now_iso(char out[32]); /* "2024-01-31T12:00:00.000+0000" */

/* Collections, composite (emu_collections.c, emu_composite.c) */
void emu_collections(emu_t *emu, const emu_req_t *req, const emu_session_info_t *sess,
                     const char *version, const char *rest, emu_resp_t *resp);
void emu_composite(emu_t *emu, const emu_req_t *req, const emu_session_info_t *sess,
                   const char *version, const char *rest, emu_resp_t *resp);

/* Limits and counters (emu_limits.c) */
void emu_limits_init(emu_t *emu);
/* Counts one call. Returns false (and does not count) when the allocation is spent. */
bool emu_limits_take(emu_t *emu, const char *resource);
void emu_limits_header(emu_t *emu, char *out, size_t out_size); /* "api-usage=n/max" */
void emu_limits_body(emu_t *emu, emu_resp_t *resp);
json_t *emu_limits_counters(emu_t *emu);
void emu_limits_reset(emu_t *emu);

/* Faults (emu_faults.c) */
emu_faults_t *emu_faults_create(void);
void emu_faults_destroy(emu_faults_t *faults);
int emu_faults_set(emu_faults_t *faults, const json_t *spec, char *err, size_t err_size);
void emu_faults_clear(emu_faults_t *faults);
json_t *emu_faults_get(emu_faults_t *faults);
/* Decides the fault for a request: sleeps for latency, then may fill resp
 * (error status, drop, body fault). Returns true when resp is final. */
bool emu_faults_apply(emu_faults_t *faults, const char *path, emu_resp_t *resp);

/* Control API (emu_control.c) */
void emu_control(emu_t *emu, const emu_req_t *req, const char *rest, emu_resp_t *resp);
int emu_control_load_records(emu_t *emu, const json_t *records, json_t **ids, char *err,
                             size_t err_size);

#endif
