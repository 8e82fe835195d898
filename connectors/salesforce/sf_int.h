/* sf_int.h - private to connectors/salesforce: the org object and the HTTP layer. */
#ifndef SF_INT_H
#define SF_INT_H

#include "sf.h"

#include <curl/curl.h>
#include <pthread.h>

#define SF_SCOPE_LEN 80

/* A reusable easy handle (keeps its connections alive between requests). */
typedef struct sf_conn_s {
    CURL *curl;
    struct sf_conn_s *next;
} sf_conn_t;

/* Describe cache entry: immutable JSON + its Last-Modified header. */
typedef struct sf_describe_entry_s {
    char *sobject;
    char *last_modified;
    json_t *describe;
    struct sf_describe_entry_s *next;
} sf_describe_entry_t;

struct sf_org_s {
    char scope[SF_SCOPE_LEN]; /* "org=NAME" log tag */
    /* Configuration: written at create, read-only afterwards (any thread). */
    char *name, *login_url, *api_version, *ca_file;
    bool tls_verify;
    sf_auth_flow_t flow;
    char *client_id, *client_secret, *username, *password, *private_key_pem, *audience;
    char *refresh_token_conf;
    char *store_path;
    uint8_t store_key[SF_STORE_KEY_LEN];
    bool has_store_key;
    long connect_timeout_ms, timeout_ms, token_max_age_s;
    size_t max_body_bytes;

    /* Connection pool: idle easy handles; taken by one thread per request. */
    pthread_mutex_t pool_lock;
    sf_conn_t *idle;
    CURLSH *share;
    pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

    /* Token state, guarded by tok_lock; tok_cond wakes waiters of a refresh. */
    pthread_mutex_t tok_lock;
    pthread_cond_t tok_cond;
    sf_org_state_t state;
    bool refreshing;
    char *access_token, *instance_url, *id_url;
    char *refresh_token; /* current one (config, store, code exchange, rotation) */
    int64_t token_at_ms;
    uint64_t token_gen; /* bumps on each new token, so one 401 causes one refresh */
    char failed_msg[512];
    uint64_t refresh_seq;          /* bumps when a token request ends (ok or not) */
    sf_error_kind_t last_err_kind; /* result of the last failed token request, for waiters */
    long last_err_status;
    char last_err_msg[512];

    /* Usage from Sforce-Limit-Info. */
    pthread_mutex_t usage_lock;
    sf_usage_t usage;

    pthread_mutex_t describe_lock;
    sf_describe_entry_t *describe_cache;
};

/* One HTTP exchange. */
typedef struct {
    const char *method;       /* "GET", "POST", ... */
    const char *url;          /* absolute */
    const char *content_type; /* of body, or NULL */
    const char *body;
    size_t body_len;
    const char *bearer;            /* access token, or NULL */
    const char *if_modified_since; /* or NULL */
    int batch_size;                /* Sforce-Query-Options, 0 = none */
} sf_http_req_t;

typedef struct {
    long status;
    char *body; /* NUL-terminated, may be empty */
    size_t len;
    char *last_modified; /* Last-Modified header, or NULL */
} sf_http_resp_t;

int sf_http_init(sf_org_t *org, char *errstr, size_t errstr_size);
void sf_http_fini(sf_org_t *org);
/* Performs the exchange. Returns -1 (*errp) only for TRANSPORT / TOO_LARGE /
 * INTERNAL; any HTTP status is a success here. */
int sf_http_do(sf_org_t *org, const sf_http_req_t *req, sf_http_resp_t *resp, sf_error_t **errp);
void sf_http_resp_clear(sf_http_resp_t *resp);
/* URL-encodes with curl (malloc'd). */
char *sf_urlencode(const char *s);

/* Current token for a request: copies (malloc'd) the token and instance URL and
 * its generation. Logs in if needed (single flight). */
int sf_auth_get(sf_org_t *org, char **token, char **instance_url, uint64_t *gen, sf_error_t **errp);
/* Drops the token of generation `gen` (no-op if already replaced). */
void sf_auth_drop(sf_org_t *org, uint64_t gen);
char *sf_auth_id_url(sf_org_t *org);

/* Authenticated REST exchange (sf_rest.c): `path` absolute or "/services/...";
 * retries once after a 401. Statuses < 400 succeed (resp filled, clear it);
 * others become *errp. */
int sf_rest_call(sf_org_t *org, const char *method, const char *path, const json_t *body,
                 const char *if_modified_since, int batch_size, sf_http_resp_t *resp,
                 sf_error_t **errp);
/* The same with a body already written as JSON text (may be NULL). */
int sf_rest_call_text(sf_org_t *org, const char *method, const char *path, const char *body_txt,
                      size_t body_len, const char *if_modified_since, int batch_size,
                      sf_http_resp_t *resp, sf_error_t **errp);

/* Error helpers. */
sf_error_t *sf_error_new(sf_error_kind_t kind, long status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void sf_set_err(sf_error_t **errp, sf_error_t *err); /* stores or destroys */
char *sf_strdup(const char *s);                      /* NULL-safe */
int64_t sf_now_ms(void);

/* base64url without padding (out must hold 4*len/3+4). Returns length. */
size_t sf_b64url(const unsigned char *in, size_t len, char *out);

#endif
