/*
 * br_config.h - the sfbridge configuration: load, validate, print, look up.
 *
 * A config file is libconfig syntax. libconfig only parses; what keys exist,
 * their types, defaults, bounds and which are secrets is one declarative table
 * (bridge/br_config_table.c) that drives parsing, validation, defaults,
 * `sfbridge check` output and the reference documentation.
 *
 * Secrets (and any string value) may be written as a reference instead of
 * inline: "${ENV_VAR}" (the whole value) or "@/path/to/file" (the file's
 * contents, trailing newlines stripped; relative paths are relative to the
 * directory of the config file). Inline secrets work but produce a warning.
 *
 * Ownership: br_config_load() returns an object owned by the caller; destroy
 * it with br_config_destroy(). Every pointer inside it is owned by the config
 * and lives as long as it. The object is immutable after load, so any thread
 * may read it without locking.
 */
#ifndef BR_CONFIG_H
#define BR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <librdkafka/rdkafka.h>

#include "sfb.h"

/* Where a secret's value came from (printed by `check`, never the value). */
typedef enum {
    BR_SECRET_UNSET = 0,  /* not configured: value is NULL */
    BR_SECRET_INLINE = 1, /* written in the config file itself */
    BR_SECRET_ENV = 2,    /* "${NAME}": ref is the variable name */
    BR_SECRET_FILE = 3,   /* "@path": ref is the resolved file path */
} br_secret_origin_t;

/* A secret-bearing string. Never log `value`; pass it through sfb_redact_secret(). */
typedef struct br_secret_s {
    char *value;               /* the resolved secret, NUL-terminated; NULL when unset */
    br_secret_origin_t origin; /* where it came from */
    char *ref;                 /* variable name or file path (safe to print); NULL otherwise */
} br_secret_t;

/* log { ... } : defaults for `sfbridge run`; command-line flags win. */
typedef struct br_config_log_s {
    sfb_log_level_t level;   /* log.level: error, warn, info (default), debug */
    sfb_log_format_t format; /* log.format: text (default) or json */
} br_config_log_t;

/* One entry of kafka.properties, handed verbatim to rd_kafka_conf_set(). */
typedef struct br_kafka_property_s {
    char *name;                /* librdkafka property name, e.g. "security.protocol" */
    char *value;               /* its value as a string (ints and bools converted) */
    bool secret;               /* name contains password, secret or key: never print value */
    br_secret_origin_t origin; /* where the value came from */
    char *ref;                 /* variable name or file path for ENV/FILE origins */
} br_kafka_property_t;

/* kafka { ... } */
typedef struct br_config_kafka_s {
    char *brokers;                   /* kafka.brokers: bootstrap.servers list; NULL when embedded */
    char *group;                     /* kafka.group: consumer group id (default "sfbridge") */
    bool embedded;                   /* kafka.embedded: run librdkafka's mock cluster in-process */
    br_kafka_property_t *properties; /* kafka.properties, in file order */
    size_t properties_count;
} br_config_kafka_t;

/* The OAuth flow an org logs in with (orgs.[i].auth.flow). */
typedef enum {
    BR_AUTH_JWT = 0,                /* "jwt": JWT bearer (client_id, username, private_key) */
    BR_AUTH_CLIENT_CREDENTIALS = 1, /* "client_credentials": client_id, client_secret */
    BR_AUTH_REFRESH_TOKEN = 2,      /* "refresh_token": client_id + refresh_token or token store */
    BR_AUTH_PASSWORD = 3,           /* "password": client_id, client_secret, username, password */
    BR_AUTH_WEB_SERVER = 4,         /* "web_server": authorization code + PKCE, token store */
} br_auth_flow_t;

/* Returns the config name of a flow ("jwt", ...). */
const char *br_auth_flow_name(br_auth_flow_t flow);

/* orgs.[i].auth { ... }: unset strings are NULL, unset secrets have value NULL. */
typedef struct br_config_auth_s {
    br_auth_flow_t flow;        /* auth.flow (required) */
    char *client_id;            /* connected app consumer key */
    br_secret_t client_secret;  /* connected app consumer secret */
    char *username;             /* Salesforce username (jwt, password) */
    br_secret_t password;       /* password flow: the user's password */
    br_secret_t security_token; /* password flow: appended to password when set */
    br_secret_t private_key;    /* jwt: PEM text of the RSA key (a path is read at load) */
    char *audience;             /* jwt aud claim; defaults to the org's login_url */
    br_secret_t refresh_token;  /* refresh_token flow; if unset, taken from the token store */
    int redirect_port;          /* web_server: loopback callback port (default 1717) */
} br_config_auth_t;

/* One element of orgs ( { ... }, ... ). */
typedef struct br_config_org_s {
    char *name;             /* unique name, [A-Za-z0-9_-]{1,64}; used in logs and results */
    char *login_url;        /* OAuth server (default https://login.salesforce.com), no '/' at end */
    char *instance_url;     /* optional: the org's My Domain URL; NULL = from the token response */
    char *api_version;      /* REST API version "NN.N" (default "62.0") */
    bool tls_verify;        /* verify TLS peer and host (default true) */
    char *ca_file;          /* optional CA bundle (absolute path); NULL = system default */
    int timeout_ms;         /* whole-request timeout of one HTTP call */
    int max_response_bytes; /* a response body larger than this is an error */
    int max_api_usage_pct;  /* pause the org when daily API usage reaches this percentage */
    br_config_auth_t auth;  /* how to log in */
} br_config_org_t;

/* token_store { ... }: where OAuth tokens (refresh tokens) are kept, encrypted. */
typedef struct br_config_token_store_s {
    char *path;                  /* absolute file path (~ and relative paths resolved at load) */
    br_secret_t key;             /* the key as written (64 hex chars or base64 of 32 bytes) */
    unsigned char key_bytes[32]; /* the decoded key; valid when key_set */
    bool key_set;
} br_config_token_store_t;

/* One element of sink.partitions: partition N of the command topic belongs to org. */
typedef struct br_config_partition_s {
    int partition;    /* partition number of the command topic */
    char *org;        /* org name (validated to exist) */
    size_t org_index; /* index of that org in br_config_t.orgs */
} br_config_partition_t;

/* One element of sink.dedupe: inserts of this sobject become upserts on this field. */
typedef struct br_config_dedupe_s {
    char *sobject; /* sobject API name, e.g. "Account" */
    char *field;   /* external id field, e.g. "Command_Id__c" */
} br_config_dedupe_t;

/* sink { ... } */
typedef struct br_config_sink_s {
    char *command_topic;     /* commands are consumed from here (default "sf.commands") */
    char *result_topic;      /* one result per command (default "sf.results") */
    char *dead_letter_topic; /* unparseable or unroutable messages (default "sf.deadletter") */
    br_config_partition_t *partitions; /* partition -> org map, in file order */
    size_t partitions_count;
    int batch_size;        /* records per sObject Collections call (1..200) */
    int linger_ms;         /* wait this long for a batch to fill */
    int max_in_flight;     /* concurrent batches per org */
    int max_command_bytes; /* a command message larger than this goes to the dead letter topic */
    int retry_budget_ms;   /* give up retrying a batch after this long */
    int max_attempts;      /* ... or after this many attempts */
    br_config_dedupe_t *dedupe; /* per-sobject dedupe fields */
    size_t dedupe_count;
    bool use_composite; /* use the Composite API instead of sObject Collections */
} br_config_sink_t;

/* ---- source (issue #6) ----------------------------------------------------- */

/* Where a channel starts when subscribing (source.[i].replay). */
typedef enum {
    BR_REPLAY_STORED = 0,   /* "stored": after the replay id in the state topic; none -> earliest */
    BR_REPLAY_LATEST = 1,   /* "latest": only new events (-1) */
    BR_REPLAY_EARLIEST = 2, /* "earliest": every retained event (-2) */
} br_replay_t;

/* What to do when Salesforce rejects the replay id (expired, unknown). */
typedef enum {
    BR_ON_INVALID_EARLIEST = 0, /* resubscribe with -2 (all retained events): smallest gap */
    BR_ON_INVALID_LATEST = 1,   /* resubscribe with -1 (new events only) */
    BR_ON_INVALID_FAIL = 2,     /* stop the channel and report it; nothing is skipped */
} br_on_invalid_replay_t;

/* One element of source ( { ... }, ... ): one Streaming API channel of one org. */
typedef struct br_config_source_s {
    char *org;                                /* org name (validated to exist) */
    size_t org_index;                         /* index of that org in br_config_t.orgs */
    char *channel;                            /* "/event/X__e", "/data/...", "/topic/X", "/u/X" */
    char *topic;                              /* Kafka topic receiving the events (event.v1) */
    br_replay_t replay;                       /* where to start */
    br_on_invalid_replay_t on_invalid_replay; /* when the replay id is rejected */
} br_config_source_t;

typedef struct br_config_s {
    char *path; /* the file it was loaded from, as given */
    br_config_log_t log;
    br_config_kafka_t kafka;
    br_config_org_t *orgs; /* at least one */
    size_t orgs_count;
    br_config_token_store_t token_store;
    br_config_sink_t sink;
    br_config_source_t *sources; /* source ( ... ), in file order; may be empty */
    size_t sources_count;
    char *state_topic; /* compacted topic of the source's replay ids ("sfbridge.state") */
    char **warnings;   /* "FILE:LINE: key 'x': ..." lines worth showing the user */
    size_t warnings_count;
    /* Why Kafka cannot be used ("FILE:LINE: key 'kafka.brokers': ..."), or
     * NULL. Not a load error: the org admin commands never use Kafka. */
    char *kafka_error;
} br_config_t;

/*
 * Loads and validates a config file. On error returns NULL and writes one
 * line to errstr: "FILE:LINE: key 'a.b': what is wrong" (or "FILE: ..." when
 * the problem has no line, e.g. an unreadable file). The message never
 * contains a secret's value. Destroy the result with br_config_destroy().
 */
br_config_t *br_config_load(const char *path, char *errstr, size_t errstr_size);

/* For the commands that use Kafka (run, check): 0, or -1 with the reason
 * (kafka.brokers missing and not embedded) in errstr, in load's format. */
int br_config_require_kafka(const br_config_t *config, char *errstr, size_t errstr_size);

/*
 * The same from a buffer (need not be NUL-terminated); `name` stands for the
 * file name in messages and relative paths resolve against the current
 * directory. Used by tests and the fuzzer.
 */
br_config_t *br_config_load_buffer(const char *name, const char *text, size_t len, char *errstr,
                                   size_t errstr_size);

/* NULL-safe. */
void br_config_destroy(br_config_t *config);

/* Prints the effective config (every key, defaults filled in) in libconfig
 * syntax with every secret replaced by SFB_REDACTED. */
void br_config_print(const br_config_t *config, FILE *out);

/* Prints every key with its type, default, bounds and description, as a
 * commented config file (`sfbridge check --print-reference`). */
void br_config_print_reference(FILE *out);

/* The org with that name, or NULL. */
const br_config_org_t *br_config_org_find(const br_config_t *config, const char *name);

/* The org that owns `partition` of the command topic, or NULL if unmapped. */
const br_config_org_t *br_config_org_of_partition(const br_config_t *config, int32_t partition);

/*
 * Applies kafka.properties to a librdkafka conf in file order. Returns 0, or
 * -1 with librdkafka's message (naming the property) in errstr.
 */
int br_config_kafka_conf_apply(const br_config_t *config, rd_kafka_conf_t *conf, char *errstr,
                               size_t errstr_size);

/* Limits on the file itself. */
#define BR_CONFIG_MAX_FILE_BYTES   (1024 * 1024)
#define BR_CONFIG_MAX_SECRET_BYTES (64 * 1024) /* an "@file" reference */

#endif
