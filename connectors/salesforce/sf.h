/*
 * sf.h - the Salesforce client library: everything sfbridge says to Salesforce.
 *
 * One sf_org_t per org. An org owns its configuration (copied at create), a
 * pool of reusable HTTP connections, one OAuth access token shared by every
 * thread, the API usage figures read from Sforce-Limit-Info, and a describe
 * cache. Every function taking an sf_org_t may be called from any thread.
 *
 * Conventions of this header:
 * - Functions return 0 on success and -1 on failure. On failure, when `errp`
 *   is not NULL, *errp receives a new sf_error_t (destroy with
 *   sf_error_destroy). On success *errp is left NULL.
 * - "(out) new reference" means the caller owns the jansson value and must
 *   json_decref() it. "(borrowed)" means the library keeps ownership.
 * - The library never sleeps in a retry loop: the caller owns retry policy and
 *   asks sf_error_retry_class() what to do. The single exception: a 401
 *   INVALID_SESSION_ID refreshes the org's token and retries the call once.
 * - Nothing here logs or returns a secret (token, password, client secret,
 *   private key, refresh token, code, verifier); logs are tagged "org=NAME".
 */
#ifndef SF_H
#define SF_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ errors */

typedef enum {
    SF_ERR_NONE = 0,
    SF_ERR_TRANSPORT,  /* connect/TLS/DNS failure, timeout, dropped connection */
    SF_ERR_HTTP,       /* HTTP status without a Salesforce error body */
    SF_ERR_SALESFORCE, /* a Salesforce error: errorCode/statusCode + message + fields */
    SF_ERR_AUTH,       /* OAuth failure; `final` says whether the org is now FAILED */
    SF_ERR_LIMIT,      /* REQUEST_LIMIT_EXCEEDED (403): the org's API allocation is used up */
    SF_ERR_PARSE,      /* a response body that is not what Salesforce sends */
    SF_ERR_TOO_LARGE,  /* a response body over the org's max_body_bytes (aborted) */
    SF_ERR_INVALID,    /* bad argument from the caller (e.g. >200 records) */
    SF_ERR_STORE,      /* token store: missing, wrong key, tampered, truncated, I/O */
    SF_ERR_INTERNAL,   /* out of memory, crypto library failure */
    /* CometD: Salesforce refused a replay id (expired or unknown); the caller
     * applies its on_invalid_replay policy. */
    SF_ERR_REPLAY_INVALID,
} sf_error_kind_t;

/* One Salesforce error object: {"errorCode"|"statusCode", "message", "fields"}. */
typedef struct {
    char *code;    /* errorCode or statusCode, e.g. "UNABLE_TO_LOCK_ROW"; never NULL */
    char *message; /* never NULL */
    char **fields; /* field_cnt field names */
    size_t field_cnt;
} sf_error_item_t;

/* Read-only for the caller; destroy with sf_error_destroy(). */
typedef struct {
    sf_error_kind_t kind;
    long http_status;       /* 0 when no HTTP answer was received */
    char *code;             /* first item's code, the OAuth `error`, or NULL */
    char *message;          /* one sentence for a human; never NULL, never a secret */
    sf_error_item_t *items; /* every error object of the body (Salesforce may send several) */
    size_t item_cnt;
    bool auth_final; /* SF_ERR_AUTH only: the org is FAILED until sf_org_reset() */
} sf_error_t;

typedef enum {
    SF_RETRY_NONE = 0,     /* not an error */
    SF_RETRY,              /* transient: transport, 408/429/5xx, UNABLE_TO_LOCK_ROW, ... */
    SF_RETRY_REFRESH_AUTH, /* 401 INVALID_SESSION_ID that survived the built-in refresh */
    SF_RETRY_PAUSE_ORG,    /* REQUEST_LIMIT_EXCEEDED, or the org's auth FAILED: stop this org */
    SF_RETRY_FINAL,        /* field/validation/not-found/parse errors: report, do not retry */
} sf_retry_class_t;

/*
 * The one classifier (CONVENTIONS.md "Errors"); also classifies per-record
 * errors of sObject Collections (sf_save_result_t.error):
 * - TRANSPORT -> RETRY; HTTP/SALESFORCE with 408, 429 or >= 500 -> RETRY;
 *   codes UNABLE_TO_LOCK_ROW, SERVER_UNAVAILABLE, ALL_OR_NONE_OPERATION_ROLLED_BACK,
 *   PROCESSING_HALTED (the record itself was fine) -> RETRY.
 * - 401 / INVALID_SESSION_ID -> REFRESH_AUTH.
 * - LIMIT -> PAUSE_ORG; AUTH final -> PAUSE_ORG (needs a human); AUTH not final
 *   (token endpoint unreachable or 5xx) -> RETRY.
 * - everything else (field errors, 400/403/404, PARSE, TOO_LARGE, INVALID, STORE) -> FINAL.
 * NULL -> SF_RETRY_NONE.
 */
sf_retry_class_t sf_error_retry_class(const sf_error_t *err);

const char *sf_error_kind_name(sf_error_kind_t kind);
const char *sf_retry_class_name(sf_retry_class_t rc);
void sf_error_destroy(sf_error_t *err);

/*
 * Builds an error from an HTTP status and a response body: a REST error array
 * (or a bare object), an OAuth {"error","error_description"}, or anything else
 * (SF_ERR_HTTP). Exposed for the parsers' tests and fuzzers. Never NULL.
 */
sf_error_t *sf_error_from_response(long http_status, const char *body, size_t len);

/* ------------------------------------------------------------------ org */

typedef enum {
    SF_FLOW_JWT = 0,            /* JWT bearer (RS256): what production daemons should use */
    SF_FLOW_CLIENT_CREDENTIALS, /* client id + secret, run-as user set on the connected app */
    SF_FLOW_REFRESH_TOKEN,      /* refresh token from config or from the token store */
    SF_FLOW_PASSWORD,           /* username-password: deprecated by Salesforce, warned once */
} sf_auth_flow_t;

/*
 * Plain configuration, filled by the bridge from its own config. Strings are
 * copied by sf_org_create (secret copies are wiped at destroy); NULL = unset.
 */
typedef struct {
    const char *name;        /* required; log tag and token-store key */
    const char *login_url;   /* required, e.g. https://login.salesforce.com or a My Domain */
    const char *api_version; /* "62.0" (default) */
    bool tls_verify;         /* keep true; false logs a warning once at create */
    const char *ca_file;     /* optional CA bundle */

    sf_auth_flow_t flow;
    const char *client_id;
    const char *client_secret;
    const char *username;
    const char *password;    /* password + security token, concatenated */
    const char *private_key; /* JWT: PEM text ("-----BEGIN ...") or path of a PEM file */
    const char *audience;    /* JWT aud; default login_url */
    const char *refresh_token;

    /* Token store, for the refresh-token flow when refresh_token is NULL. */
    const char *token_store_path;
    const uint8_t *token_store_key; /* 32 bytes (see sf_store_key_parse), or NULL */

    long connect_timeout_ms; /* default 10000 */
    long timeout_ms;         /* whole request, default 120000 */
    size_t max_body_bytes;   /* default 64 MiB; a bigger response is SF_ERR_TOO_LARGE */
    long token_max_age_s;    /* refresh a token this old before use; default 5400 (sessions
                                default to 2 h and Salesforce does not say when they end) */
} sf_org_config_t;

typedef struct sf_org_s sf_org_t;

/* Returns NULL with errstr filled when the config is unusable (missing name,
 * login_url, flow fields, unreadable key). Does not contact Salesforce. */
sf_org_t *sf_org_create(const sf_org_config_t *conf, char *errstr, size_t errstr_size);
void sf_org_destroy(sf_org_t *org);
const char *sf_org_name(const sf_org_t *org);
const char *sf_org_api_version(const sf_org_t *org);

typedef enum {
    SF_ORG_NEW = 0, /* no token yet */
    SF_ORG_READY,   /* has a token */
    SF_ORG_FAILED,  /* a final auth failure; every call fails until sf_org_reset */
} sf_org_state_t;

/* Current state; when FAILED, copies the what-to-do message into msg. */
sf_org_state_t sf_org_state(sf_org_t *org, char *msg, size_t msg_size);
/* Leaves FAILED (e.g. after the user logged in again) and forgets the token. */
void sf_org_reset(sf_org_t *org);

/* API usage from the last Sforce-Limit-Info header (0/0 before any call). */
typedef struct {
    long used;
    long max;
    int64_t updated_ms; /* wall clock of the response it came from */
} sf_usage_t;
void sf_org_usage(sf_org_t *org, sf_usage_t *usage);

/* Parses "api-usage=18/5000[; per-app-api-usage=...]". Returns 0 when found. */
int sf_limit_info_parse(const char *value, long *used, long *max);

/* ------------------------------------------------------------------ auth */

/*
 * Makes sure the org has a valid token (logs in if needed). Other calls do
 * this themselves; the CLI calls it to report login errors early.
 * Single flight: concurrent callers wait for one token request.
 */
int sf_org_login(sf_org_t *org, sf_error_t **errp);

/* Instance URL and identity URL of the current token (copied into buf). */
int sf_org_instance_url(sf_org_t *org, char *buf, size_t buf_size);

/* Forgets the current access token so the next call gets a new one. */
void sf_org_invalidate_token(sf_org_t *org);

/* PKCE (RFC 7636, S256). verifier: 43 chars of base64url(32 random bytes).
 * Buffers must hold SF_PKCE_LEN + 1 bytes. */
#define SF_PKCE_LEN 43
int sf_pkce_generate(char *verifier, char *challenge);
/* challenge = base64url(SHA-256(verifier)), no padding. */
int sf_pkce_challenge(const char *verifier, char *challenge);
/* 22 base64url chars of randomness for `state`; buf holds 23 bytes. */
int sf_random_state(char *buf, size_t buf_size);

/* Web-server flow: authorize URL (malloc'd, free()). scope may be NULL
 * ("api refresh_token"). */
char *sf_auth_authorize_url(sf_org_t *org, const char *redirect_uri, const char *state,
                            const char *challenge, const char *scope);
/* Exchanges an authorization code. On success the org has a token and
 * *refresh_token (out, malloc'd; free with sf_secret_free) holds the refresh token. */
int sf_auth_code_exchange(sf_org_t *org, const char *code, const char *verifier,
                          const char *redirect_uri, char **refresh_token, sf_error_t **errp);
/* Revokes a token (access or refresh) at login_url/services/oauth2/revoke. */
int sf_auth_revoke(sf_org_t *org, const char *token, sf_error_t **errp);
/* Wipes and frees a secret string. NULL-safe. */
void sf_secret_free(char *secret);

/* Builds the RS256 JWT bearer assertion (exposed for tests). (out) malloc'd. */
char *sf_jwt_assertion(const char *private_key_pem, const char *iss, const char *sub,
                       const char *aud, long exp, char *errstr, size_t errstr_size);

/* ------------------------------------------------------------------ token store */

/*
 * Encrypted file of refresh tokens per org name: mode 0600, "SFTS" + version
 * byte 1 + 12-byte random nonce + AES-256-GCM ciphertext + 16-byte tag; the
 * plaintext is JSON {"orgs":{NAME:{"refresh_token":...,"instance_url":...}}}.
 * Writes go to a temporary file renamed over the old one. A wrong key, a
 * changed byte or a truncated file is SF_ERR_STORE with a clear message.
 */
#define SF_STORE_KEY_LEN 32
/* Key text: 64 hex digits or base64 of 32 bytes (whitespace trimmed). */
int sf_store_key_parse(const char *text, uint8_t key[SF_STORE_KEY_LEN], char *errstr,
                       size_t errstr_size);
/* Reads a key file holding key text (as above) or exactly 32 raw bytes. */
int sf_store_key_load_file(const char *path, uint8_t key[SF_STORE_KEY_LEN], char *errstr,
                           size_t errstr_size);
/* Gets the refresh token of `org_name`: *token (out, sf_secret_free) or NULL if absent. */
int sf_store_get(const char *path, const uint8_t key[SF_STORE_KEY_LEN], const char *org_name,
                 char **token, sf_error_t **errp);
/* Sets (token != NULL) or deletes (token == NULL) the entry of `org_name`.
 * A missing file is created. */
int sf_store_put(const char *path, const uint8_t key[SF_STORE_KEY_LEN], const char *org_name,
                 const char *token, sf_error_t **errp);

/* ------------------------------------------------------------------ REST */

/* Each: (out) new reference to the parsed JSON answer. */
int sf_versions(sf_org_t *org, json_t **out, sf_error_t **errp);        /* GET /services/data/ */
int sf_resources(sf_org_t *org, json_t **out, sf_error_t **errp);       /* GET /vXX.X/ */
int sf_identity(sf_org_t *org, json_t **out, sf_error_t **errp);        /* GET token's id URL */
int sf_limits(sf_org_t *org, json_t **out, sf_error_t **errp);          /* GET /limits/ */
int sf_describe_global(sf_org_t *org, json_t **out, sf_error_t **errp); /* GET /sobjects/ */
/* GET /sobjects/X/describe/, cached per org and revalidated with
 * If-Modified-Since (a 304 answers from the cache). (out) a private copy. */
int sf_describe(sf_org_t *org, const char *sobject, json_t **out, sf_error_t **errp);

/* Generic request under the instance URL: `path` starts with "/services/".
 * body may be NULL (borrowed). *status (out) the HTTP status; *out the JSON
 * answer or NULL for an empty body. 4xx/5xx are errors. */
int sf_request(sf_org_t *org, const char *method, const char *path, const json_t *body,
               long *status, json_t **out, sf_error_t **errp);
/* The same with a body the caller already wrote as JSON text (borrowed; may
 * be NULL). The sink writes its request bodies straight into one buffer. */
int sf_request_text(sf_org_t *org, const char *method, const char *path, const char *body,
                    size_t body_len, long *status, json_t **out, sf_error_t **errp);

/* Records. `fields` is borrowed. */
int sf_record_create(sf_org_t *org, const char *sobject, const json_t *fields, char **id,
                     sf_error_t **errp); /* *id (out) malloc'd */
int sf_record_get(sf_org_t *org, const char *sobject, const char *id, const char *field_list,
                  json_t **out, sf_error_t **errp); /* field_list "A,B" or NULL */
int sf_record_update(sf_org_t *org, const char *sobject, const char *id, const json_t *fields,
                     sf_error_t **errp);
int sf_record_delete(sf_org_t *org, const char *sobject, const char *id, sf_error_t **errp);
/* PATCH /sobjects/X/FIELD/VALUE. *created (out); *id (out, malloc'd) when
 * Salesforce returns it (201, or 200 in v46+; a 204 update returns no id: NULL).
 * 300 (several matches) is SF_ERR_SALESFORCE code "MULTIPLE_CHOICES", FINAL. */
int sf_record_upsert(sf_org_t *org, const char *sobject, const char *ext_field,
                     const char *ext_value, const json_t *fields, bool *created, char **id,
                     sf_error_t **errp);

/* ------------------------------------------------------------------ sObject Collections */

#define SF_COLLECTION_MAX 200
#define SF_COMPOSITE_MAX  25

/* One SaveResult, in request order. */
typedef struct {
    char *id; /* may be NULL on failure */
    bool success;
    bool created;      /* upsert only */
    sf_error_t *error; /* NULL on success; kind SALESFORCE, items = the record's errors */
} sf_save_result_t;

void sf_save_results_destroy(sf_save_result_t *results, size_t cnt);
/* Parses a SaveResult array (exposed for tests/fuzzers). */
int sf_save_results_parse(const json_t *array, sf_save_result_t **results, size_t *cnt,
                          sf_error_t **errp);

/*
 * records: JSON array (borrowed) of at most 200 objects. create: each needs
 * attributes.type; update: each needs "id" (and attributes.type). upsert:
 * one sobject, ext_field. delete: ids. On 200 the call returns 0 and one
 * result per record (*results out, destroy with sf_save_results_destroy):
 * per-record failures are in the results, not in *errp.
 */
int sf_collection_create(sf_org_t *org, const json_t *records, bool all_or_none,
                         sf_save_result_t **results, size_t *cnt, sf_error_t **errp);
int sf_collection_update(sf_org_t *org, const json_t *records, bool all_or_none,
                         sf_save_result_t **results, size_t *cnt, sf_error_t **errp);
int sf_collection_upsert(sf_org_t *org, const char *sobject, const char *ext_field,
                         const json_t *records, bool all_or_none, sf_save_result_t **results,
                         size_t *cnt, sf_error_t **errp);
int sf_collection_delete(sf_org_t *org, const char *const *ids, size_t id_cnt, bool all_or_none,
                         sf_save_result_t **results, size_t *cnt, sf_error_t **errp);

/* POST /composite with `subrequests` (borrowed array of at most 25
 * {method,url,referenceId,body?}). (out) the compositeResponse array. */
int sf_composite(sf_org_t *org, const json_t *subrequests, bool all_or_none, json_t **out,
                 sf_error_t **errp);

/*
 * The same calls with the body already written as JSON text (borrowed):
 * a collections body {"allOrNone":..,"records":[..record_cnt..]} sent with
 * `method` to `path` (as for sf_request), answered like sf_collection_*; and
 * a whole composite body {"allOrNone":..,"compositeRequest":[..]} of
 * subrequest_cnt subrequests, answered like sf_composite.
 */
int sf_collection_save_text(sf_org_t *org, const char *method, const char *path, const char *body,
                            size_t body_len, size_t record_cnt, sf_save_result_t **results,
                            size_t *cnt, sf_error_t **errp);
int sf_composite_text(sf_org_t *org, const char *body, size_t body_len, size_t subrequest_cnt,
                      json_t **out, sf_error_t **errp);

/* ------------------------------------------------------------------ query */

typedef struct sf_query_s sf_query_t;

/*
 * Starts a query (query_all: include deleted/archived rows) and fetches the
 * first page. batch_size 0 = Salesforce's default (2000), else 200..2000 as a
 * hint (Sforce-Query-Options). Holds one page in memory at a time.
 */
sf_query_t *sf_query_start(sf_org_t *org, const char *soql, bool query_all, int batch_size,
                           sf_error_t **errp);
/* 1 = *row (borrowed, valid until the next call) is the next row; 0 = no more
 * rows; -1 = error (*errp). Follows nextRecordsUrl transparently. */
int sf_query_next(sf_query_t *q, json_t **row, sf_error_t **errp);
long sf_query_total_size(const sf_query_t *q); /* totalSize of the last page */
long sf_query_pages(const sf_query_t *q);      /* pages fetched so far */
void sf_query_destroy(sf_query_t *q);

/* Parses one query page (exposed for tests/fuzzers): validates the shape and
 * returns borrowed records, done and nextRecordsUrl from `page`. */
int sf_query_page_parse(const json_t *page, json_t **records, bool *done, const char **next_url,
                        long *total_size, sf_error_t **errp);

/* Parses an OAuth token response (exposed for tests/fuzzers). On success fills
 * *access_token, *instance_url (malloc'd) and optionally *id_url, *refresh_token. */
int sf_token_response_parse(const char *body, size_t len, char **access_token, char **instance_url,
                            char **id_url, char **refresh_token, sf_error_t **errp);

/* ------------------------------------------------------------------ CometD (Streaming API) */

/*
 * The Streaming API over CometD/Bayeux long-polling (salesforce-wire.md §4):
 * /cometd/XX.X with the replay extension. Added for the source (issue #6).
 */

#define SF_REPLAY_LATEST   (-1) /* only events published after the subscription */
#define SF_REPLAY_EARLIEST (-2) /* every retained event */

typedef enum {
    SF_BAYEUX_HANDSHAKE = 0,
    SF_BAYEUX_CONNECT,
    SF_BAYEUX_SUBSCRIBE,
    SF_BAYEUX_UNSUBSCRIBE,
    SF_BAYEUX_DISCONNECT,
    SF_BAYEUX_EVENT, /* /event/, /data/, /topic/ or /u/ channel with data.event.replayId */
} sf_bayeux_kind_t;

/* One validated Bayeux message; every pointer is borrowed from its batch. */
typedef struct {
    sf_bayeux_kind_t kind;
    const char *channel;
    bool successful;              /* meta messages */
    const char *error;            /* "403::Unknown client", or NULL */
    const char *client_id;        /* or NULL */
    const char *subscription;     /* /meta/subscribe and unsubscribe, or NULL */
    const char *advice_reconnect; /* "retry", "handshake", "none" or NULL */
    long advice_interval_ms;      /* -1 when absent */
    long advice_timeout_ms;       /* -1 when absent */
    const char *failure_reason;   /* handshake ext.sfdc.failureReason, or NULL */
    int64_t replay_id;            /* events: data.event.replayId (>= 0) */
    const json_t *data;           /* events: the data object */
} sf_bayeux_msg_t;

/* A parsed response. Messages that fail validation are left out, counted in
 * `rejected`, and the first reason is kept (never a crash, never a guess). */
typedef struct {
    json_t *root; /* owns every borrowed pointer of msgs */
    sf_bayeux_msg_t *msgs;
    size_t msg_cnt;
    size_t rejected;
    char reject_reason[256];
} sf_bayeux_batch_t;

/*
 * Parses a Bayeux response body: a JSON array of message objects (or one bare
 * object, as Salesforce's docs show errors). Bounded: a body over max_bytes or
 * an array over max_messages is SF_ERR_TOO_LARGE; malformed JSON or a root
 * that is not an array/object of objects is SF_ERR_PARSE. On success *batchp
 * (out) is a new batch; destroy with sf_bayeux_batch_destroy(). Pure: for
 * tests and the fuzzer as well.
 */
int sf_bayeux_parse(const char *body, size_t len, size_t max_bytes, size_t max_messages,
                    sf_bayeux_batch_t **batchp, sf_error_t **errp);
void sf_bayeux_batch_destroy(sf_bayeux_batch_t *batch);
/* True for "400::The replayId {N} you provided was invalid..." (expired or unknown id). */
bool sf_bayeux_error_is_invalid_replay(const char *error);

/* One channel to subscribe: replay_id a stored id (resume after it), or
 * SF_REPLAY_LATEST / SF_REPLAY_EARLIEST. */
typedef struct {
    const char *channel;
    int64_t replay_id;
} sf_cometd_sub_t;

/* Called for each event from sf_cometd_poll(), on the polling thread, in
 * the order Salesforce sent them. `data` is borrowed for the call. When it
 * returns, the event counts as delivered: a re-subscription resumes after it. */
typedef void sf_cometd_event_cb_t(void *opaque, const char *channel, int64_t replay_id,
                                  const json_t *data);
/* Called at least once a second while a request waits (a long poll lasts up
 * to 110 s), on the polling thread: serve Kafka delivery reports here. */
typedef void sf_cometd_idle_cb_t(void *opaque);

typedef struct {
    sf_cometd_event_cb_t *event_cb; /* required */
    sf_cometd_idle_cb_t *idle_cb;   /* may be NULL */
    void *opaque;
    size_t max_bytes;    /* largest response accepted; 0 = 16 MiB */
    size_t max_messages; /* most messages in one response; 0 = 10,000 */
} sf_cometd_conf_t;

/* Counters, for logs and tests (polling thread). */
typedef struct {
    uint64_t handshakes, connects, events;
    uint64_t rehandshakes;   /* after 403::Unknown client or advice reconnect=handshake */
    uint64_t auth_refreshes; /* 401: token dropped and the session rebuilt */
    uint64_t rejected;       /* malformed messages, unknown channels, events without replay id */
    uint64_t bad_batches;    /* responses that did not parse at all */
} sf_cometd_stats_t;

typedef struct sf_cometd_s sf_cometd_t;

/*
 * A Streaming API client of `org` (borrowed; must outlive it) for `subs`
 * (copied). Does not contact Salesforce. One thread polls it; only
 * sf_cometd_cancel() may be called from another. NULL + errstr on failure.
 */
sf_cometd_t *sf_cometd_create(sf_org_t *org, const sf_cometd_sub_t *subs, size_t sub_cnt,
                              const sf_cometd_conf_t *conf, char *errstr, size_t errstr_size);
/*
 * One step: without a session, handshake and subscribe every channel from
 * its last delivered replay id; with one, one /meta/connect (long poll) whose
 * events go to event_cb. Follows the server's advice: `403::Unknown client`
 * or reconnect=handshake drops the session (the next step rebuilds it); a 401
 * invalidates the org's token and rebuilds the session with a new one
 * (twice in a row: SF_ERR_AUTH). Returns 0, or -1 with *errp:
 *   SF_ERR_TRANSPORT / SF_ERR_HTTP (retriable: back off, call again),
 *   SF_ERR_PARSE / SF_ERR_TOO_LARGE (the batch is dropped and the session
 *     with it, so the next step resumes after the last delivered event),
 *   SF_ERR_REPLAY_INVALID (sf_cometd_failed_channel() names the channel; set
 *     a new start with sf_cometd_set_replay() and call again),
 *   SF_ERR_AUTH, SF_ERR_SALESFORCE (subscribe refused, reconnect=none).
 * Never sleeps: sf_cometd_delay_ms() says how long the server asks to wait.
 */
int sf_cometd_poll(sf_cometd_t *cometd, sf_error_t **errp);
/* The server's advice interval before the next step (0 = at once). */
long sf_cometd_delay_ms(const sf_cometd_t *cometd);
/* The channel of the last SF_ERR_REPLAY_INVALID / subscribe failure, or NULL. */
const char *sf_cometd_failed_channel(const sf_cometd_t *cometd);
/* Where `channel` resumes on the next subscription; 0 ok, -1 unknown channel. */
int sf_cometd_set_replay(sf_cometd_t *cometd, const char *channel, int64_t replay_id);
/* Last replay id delivered on `channel` (or its start value). */
int64_t sf_cometd_replay(const sf_cometd_t *cometd, const char *channel);
/* Drops the session: the next poll handshakes and resubscribes. */
void sf_cometd_reset(sf_cometd_t *cometd);
/* Makes a waiting or later request return at once (SF_ERR_TRANSPORT
 * "cancelled"); any thread, async-signal-unsafe. Sticky. */
void sf_cometd_cancel(sf_cometd_t *cometd);
void sf_cometd_stats(const sf_cometd_t *cometd, sf_cometd_stats_t *stats);
/* Sends /meta/disconnect (best effort, short timeout) and frees. NULL-safe. */
void sf_cometd_destroy(sf_cometd_t *cometd);

/* Capped exponential backoff with full jitter: a uniform random delay in
 * [0, min(cap_ms, base_ms * 2^attempt)]. attempt counts from 0. */
long sf_backoff_full_jitter(unsigned attempt, long base_ms, long cap_ms);

#endif
