/*
 * br_config_table.c - every config key, one row each, and the cross-key rules.
 *
 * The rows drive parsing, defaults, validation, `sfbridge check` output and
 * `sfbridge check --print-reference` (which deploy/sfbridge.example.conf
 * follows; a unit test keeps the two in sync). Rules that involve more than
 * one key (per-flow auth requirements, unique org names, the partition map)
 * live in br_config_finalize() at the bottom.
 */
#include "br_config_int.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ---- value checks ------------------------------------------------------- */

static int check_org_name(const char *v, char *why, size_t why_size)
{
    size_t n = strlen(v);
    if (n == 0 || n > 64) {
        snprintf(why, why_size, "an org name has 1 to 64 characters");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)v[i]) && v[i] != '_' && v[i] != '-') {
            snprintf(why, why_size, "an org name is made of letters, digits, '_' and '-'");
            return -1;
        }
    }
    return 0;
}

/* Salesforce API versions look like "62.0": two digits, a dot, one digit. */
static int check_api_version(const char *v, char *why, size_t why_size)
{
    if (strlen(v) != 4 || !isdigit((unsigned char)v[0]) || !isdigit((unsigned char)v[1]) ||
        v[2] != '.' || !isdigit((unsigned char)v[3]) || v[0] == '0') {
        snprintf(why, why_size, "\"%.16s\" is not an API version like \"62.0\"", v);
        return -1;
    }
    return 0;
}

/* Kafka's own rule for topic names. */
static int check_topic(const char *v, char *why, size_t why_size)
{
    size_t n = strlen(v);
    if (n == 0 || n > 249 || strcmp(v, ".") == 0 || strcmp(v, "..") == 0) {
        snprintf(why, why_size, "a topic name has 1 to 249 characters and is not . or ..");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)v[i]) && v[i] != '.' && v[i] != '_' && v[i] != '-') {
            snprintf(why, why_size, "a topic name is made of letters, digits, '.', '_' and '-'");
            return -1;
        }
    }
    return 0;
}

/* SObject and field API names: Account, Order__c, ns__Thing__c, Command_Id__c. */
static int check_api_name(const char *v, char *why, size_t why_size)
{
    size_t n = strlen(v);
    bool ok = n > 0 && n <= 80 && isalpha((unsigned char)v[0]) && v[n - 1] != '_';
    for (size_t i = 0; ok && i < n; i++)
        ok = isalnum((unsigned char)v[i]) || v[i] == '_';
    if (!ok) {
        snprintf(why, why_size,
                 "\"%.80s\" is not a Salesforce API name (a letter, then letters, digits, '_')", v);
        return -1;
    }
    return 0;
}

static int check_nonblank(const char *v, char *why, size_t why_size)
{
    for (const char *p = v; *p; p++) {
        if ((unsigned char)*p <= ' ' || *p == 0x7f) {
            snprintf(why, why_size, "must not be empty or contain spaces or control characters");
            return -1;
        }
    }
    if (!*v) {
        snprintf(why, why_size, "must not be empty");
        return -1;
    }
    return 0;
}

/* Streaming API channels: /event/X, /data/X, /topic/X, /u/X; a name of
 * letters, digits, '_' and '/' after the prefix (event.v1's channel pattern). */
static int check_channel(const char *v, char *why, size_t why_size)
{
    static const char *const prefixes[] = {"/event/", "/data/", "/topic/", "/u/", NULL};
    const char *name = NULL;
    for (size_t i = 0; prefixes[i] && !name; i++)
        if (strncmp(v, prefixes[i], strlen(prefixes[i])) == 0)
            name = v + strlen(prefixes[i]);
    bool ok = name && *name && strlen(v) <= 255 && isalpha((unsigned char)*name);
    for (const char *p = name; ok && *p; p++)
        ok = isalnum((unsigned char)*p) || *p == '_' || *p == '/';
    if (!ok) {
        snprintf(why, why_size,
                 "\"%.80s\" is not a Streaming API channel (/event/Name__e, /data/ChangeEvents, "
                 "/data/AccountChangeEvent, /topic/Name or /u/Name)",
                 v);
        return -1;
    }
    return 0;
}

/* ---- the tables ---------------------------------------------------------- */

static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL};
static const char *const log_formats[] = {"text", "json", NULL};
static const char *const auth_flows[] = {"jwt",      "client_credentials", "refresh_token",
                                         "password", "web_server",         NULL};

static const char *const replay_modes[] = {"stored", "latest", "earliest", NULL};
static const char *const invalid_replay_policies[] = {"earliest", "latest", "fail", NULL};

_Static_assert(sizeof(br_replay_t) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(br_on_invalid_replay_t) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(sfb_log_level_t) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(sfb_log_format_t) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(br_auth_flow_t) == sizeof(int), "enums are stored as int");

const char *br_auth_flow_name(br_auth_flow_t flow)
{
    return (unsigned)flow < 5 ? auth_flows[flow] : "?";
}

#define KIB 1024LL
#define MIB (1024LL * 1024)

#define END                                                                                        \
    {                                                                                              \
        .name = NULL                                                                               \
    }

static const br_ckey_t log_keys[] = {
    {.name = "level",
     .type = BR_CT_ENUM,
     .offset = offsetof(br_config_log_t, level),
     .def = "info",
     .enums = log_levels,
     .desc = "Log threshold of `sfbridge run`: error, warn, info or debug. --log-level wins."},
    {.name = "format",
     .type = BR_CT_ENUM,
     .offset = offsetof(br_config_log_t, format),
     .def = "text",
     .enums = log_formats,
     .desc = "Log lines as plain text or JSON objects (one per line). --log-format wins."},
    END,
};

static const br_ckey_t kafka_keys[] = {
    {.name = "brokers",
     .type = BR_CT_STRING,
     .offset = offsetof(br_config_kafka_t, brokers),
     .check = check_nonblank,
     .max = 4096,
     .desc = "Bootstrap brokers, host:port[,host:port...]. Required unless embedded = true."},
    {.name = "group",
     .type = BR_CT_STRING,
     .offset = offsetof(br_config_kafka_t, group),
     .def = "sfbridge",
     .check = check_nonblank,
     .max = 255,
     .desc = "Consumer group id shared by every sfbridge worker; Kafka spreads the command "
             "topic's partitions (and so the orgs) over the group's members."},
    {.name = "embedded",
     .type = BR_CT_BOOL,
     .offset = offsetof(br_config_kafka_t, embedded),
     .idef = 0,
     .desc = "Run librdkafka's mock cluster in-process instead of connecting to brokers "
             "(quickstart and tests only: nothing is persisted)."},
    {.name = "properties",
     .type = BR_CT_PROPS,
     .offset = offsetof(br_config_kafka_t, properties),
     .count_offset = offsetof(br_config_kafka_t, properties_count),
     .desc = "librdkafka properties passed verbatim to rd_kafka_conf_set(); nested groups spell "
             "dotted names (security { protocol = \"SASL_SSL\"; } is security.protocol). Checked "
             "at load: a rejected property is fatal with librdkafka's message. Values of names "
             "containing password, secret or key are secrets."},
    END,
};

static const br_ckey_t auth_keys[] = {
    {.name = "flow",
     .type = BR_CT_ENUM,
     .flags = BR_CK_REQUIRED,
     .offset = offsetof(br_config_auth_t, flow),
     .enums = auth_flows,
     .desc = "OAuth flow: jwt (client_id, username, private_key), client_credentials "
             "(client_id, client_secret), refresh_token (client_id, refresh_token or the token "
             "store), password (client_id, client_secret, username, password), web_server "
             "(client_id; run `sfbridge login` once, tokens go to the token store)."},
    {.name = "client_id",
     .type = BR_CT_STRING,
     .offset = offsetof(br_config_auth_t, client_id),
     .check = check_nonblank,
     .max = 512,
     .desc = "Consumer key of the connected app."},
    {.name = "client_secret",
     .type = BR_CT_SECRET,
     .offset = offsetof(br_config_auth_t, client_secret),
     .desc = "Consumer secret of the connected app."},
    {.name = "username",
     .type = BR_CT_STRING,
     .offset = offsetof(br_config_auth_t, username),
     .check = check_nonblank,
     .max = 255,
     .desc = "Salesforce username the integration runs as (jwt, password)."},
    {.name = "password",
     .type = BR_CT_SECRET,
     .offset = offsetof(br_config_auth_t, password),
     .desc = "The user's password (password flow)."},
    {.name = "security_token",
     .type = BR_CT_SECRET,
     .offset = offsetof(br_config_auth_t, security_token),
     .desc = "Security token appended to the password (password flow, when the org needs it)."},
    {.name = "private_key",
     .type = BR_CT_SECRET,
     .flags = BR_CK_PEM,
     .offset = offsetof(br_config_auth_t, private_key),
     .desc = "RSA private key signing the JWT (jwt flow): a PEM file path, \"@/path\", or "
             "\"${VAR}\" holding the PEM text or a path."},
    {.name = "audience",
     .type = BR_CT_STRING,
     .flags = BR_CK_URL,
     .offset = offsetof(br_config_auth_t, audience),
     .desc = "aud claim of the JWT (jwt flow). Default: the org's login_url."},
    {.name = "refresh_token",
     .type = BR_CT_SECRET,
     .offset = offsetof(br_config_auth_t, refresh_token),
     .desc = "Refresh token (refresh_token flow). If unset, the one in the token store is used."},
    {.name = "redirect_port",
     .type = BR_CT_INT,
     .offset = offsetof(br_config_auth_t, redirect_port),
     .idef = 1717,
     .min = 1,
     .max = 65535,
     .desc = "Loopback port of the OAuth callback (web_server flow); the connected app's "
             "callback URL must be http://localhost:PORT/callback."},
    END,
};

static const br_ckey_t org_keys[] = {
    {.name = "name",
     .type = BR_CT_STRING,
     .flags = BR_CK_REQUIRED,
     .offset = offsetof(br_config_org_t, name),
     .check = check_org_name,
     .max = 64,
     .desc = "Unique name of the org, used in sink.partitions, logs and results."},
    {.name = "login_url",
     .type = BR_CT_STRING,
     .flags = BR_CK_URL,
     .offset = offsetof(br_config_org_t, login_url),
     .def = "https://login.salesforce.com",
     .desc = "OAuth server: https://login.salesforce.com, https://test.salesforce.com for "
             "sandboxes, or the org's My Domain URL."},
    {.name = "instance_url",
     .type = BR_CT_STRING,
     .flags = BR_CK_URL,
     .offset = offsetof(br_config_org_t, instance_url),
     .desc = "The org's instance URL. Default: the one the token response names."},
    {.name = "api_version",
     .type = BR_CT_STRING,
     .offset = offsetof(br_config_org_t, api_version),
     .def = "62.0",
     .check = check_api_version,
     .desc = "REST API version, NN.N."},
    {.name = "tls_verify",
     .type = BR_CT_BOOL,
     .offset = offsetof(br_config_org_t, tls_verify),
     .idef = 1,
     .desc = "Verify the server's TLS certificate and host name. Turn off only for a named test "
             "org you trust (there is no global switch)."},
    {.name = "ca_file",
     .type = BR_CT_STRING,
     .flags = BR_CK_PATH,
     .offset = offsetof(br_config_org_t, ca_file),
     .desc = "PEM bundle of CAs to trust instead of the system's."},
    {.name = "timeout_ms",
     .type = BR_CT_INT,
     .offset = offsetof(br_config_org_t, timeout_ms),
     .idef = 30000,
     .min = 1000,
     .max = 600000,
     .desc = "Timeout of one HTTP request to Salesforce, in milliseconds."},
    {.name = "max_response_bytes",
     .type = BR_CT_INT,
     .offset = offsetof(br_config_org_t, max_response_bytes),
     .idef = 64 * MIB,
     .min = 64 * KIB,
     .max = 1024 * MIB,
     .desc = "Largest response body accepted from Salesforce; larger is an error."},
    {.name = "max_api_usage_pct",
     .type = BR_CT_INT,
     .offset = offsetof(br_config_org_t, max_api_usage_pct),
     .idef = 90,
     .min = 1,
     .max = 100,
     .desc = "Pause this org's partitions when its daily API usage reaches this percentage, "
             "leaving the rest to other integrations."},
    {.name = "auth",
     .type = BR_CT_GROUP,
     .flags = BR_CK_REQUIRED,
     .offset = offsetof(br_config_org_t, auth),
     .sub = auth_keys,
     .desc = "How sfbridge logs in to this org."},
    END,
};

static const br_ckey_t token_store_keys[] = {
    {.name = "path",
     .type = BR_CT_STRING,
     .flags = BR_CK_PATH,
     .offset = offsetof(br_config_token_store_t, path),
     .def = "~/.local/state/sfbridge/tokens",
     .desc = "File holding OAuth tokens (encrypted with key). A relative path is relative to "
             "this config file."},
    {.name = "key",
     .type = BR_CT_SECRET,
     .offset = offsetof(br_config_token_store_t, key),
     .max = 128,
     .desc = "32-byte key encrypting the token store, as 64 hex digits or base64. Required when "
             "an org uses web_server, or refresh_token without a refresh_token."},
    END,
};

static const br_ckey_t partition_keys[] = {
    {.name = "partition",
     .type = BR_CT_INT,
     .flags = BR_CK_REQUIRED,
     .offset = offsetof(br_config_partition_t, partition),
     .min = 0,
     .max = 1000000,
     .desc = "Partition number of the command topic."},
    {.name = "org",
     .type = BR_CT_STRING,
     .flags = BR_CK_REQUIRED,
     .offset = offsetof(br_config_partition_t, org),
     .check = check_org_name,
     .max = 64,
     .desc = "Name of the org (in orgs) whose commands this partition carries."},
    END,
};

static const br_ckey_t dedupe_keys[] = {
    {.name = "sobject",
     .type = BR_CT_STRING,
     .flags = BR_CK_REQUIRED,
     .offset = offsetof(br_config_dedupe_t, sobject),
     .check = check_api_name,
     .max = 80,
     .desc = "SObject API name."},
    {.name = "field",
     .type = BR_CT_STRING,
     .flags = BR_CK_REQUIRED,
     .offset = offsetof(br_config_dedupe_t, field),
     .check = check_api_name,
     .max = 80,
     .desc = "External id field of that sobject: an insert becomes an upsert keyed by the "
             "command_id, so a replayed insert never creates a second record."},
    END,
};

static const br_ckey_t sink_keys[] = {
    {.name = "command_topic",
     .type = BR_CT_STRING,
     .offset = offsetof(br_config_sink_t, command_topic),
     .def = "sf.commands",
     .check = check_topic,
     .desc = "Topic of record-change commands (schemas/command.schema.json)."},
    {.name = "result_topic",
     .type = BR_CT_STRING,
     .offset = offsetof(br_config_sink_t, result_topic),
     .def = "sf.results",
     .check = check_topic,
     .desc = "Topic receiving one result per command (schemas/result.schema.json)."},
    {.name = "dead_letter_topic",
     .type = BR_CT_STRING,
     .offset = offsetof(br_config_sink_t, dead_letter_topic),
     .def = "sf.deadletter",
     .check = check_topic,
     .desc = "Topic receiving messages that cannot be parsed or routed, with the reason."},
    {.name = "partitions",
     .type = BR_CT_LIST,
     .offset = offsetof(br_config_sink_t, partitions),
     .count_offset = offsetof(br_config_sink_t, partitions_count),
     .min = 0,
     .max = 10000,
     .sub = partition_keys,
     .elem_size = sizeof(br_config_partition_t),
     .desc = "Which org each partition of the command topic belongs to. A partition maps to "
             "one org; commands on an unmapped partition go to the dead letter topic."},
    {.name = "batch_size",
     .type = BR_CT_INT,
     .offset = offsetof(br_config_sink_t, batch_size),
     .idef = 200,
     .min = 1,
     .max = 200,
     .desc = "Most records in one sObject Collections call (Salesforce allows 200)."},
    {.name = "linger_ms",
     .type = BR_CT_INT,
     .offset = offsetof(br_config_sink_t, linger_ms),
     .idef = 50,
     .min = 0,
     .max = 60000,
     .desc = "How long a partial batch waits for more commands, in milliseconds."},
    {.name = "max_in_flight",
     .type = BR_CT_INT,
     .offset = offsetof(br_config_sink_t, max_in_flight),
     .idef = 4,
     .min = 1,
     .max = 64,
     .desc = "Salesforce calls of one org in flight at once (where order allows); each "
             "carries one batch, or up to five with use_composite."},
    {.name = "max_command_bytes",
     .type = BR_CT_INT,
     .offset = offsetof(br_config_sink_t, max_command_bytes),
     .idef = 1 * MIB,
     .min = 1 * KIB,
     .max = 16 * MIB,
     .desc = "Largest command message accepted; larger goes to the dead letter topic."},
    {.name = "retry_budget_ms",
     .type = BR_CT_INT,
     .offset = offsetof(br_config_sink_t, retry_budget_ms),
     .idef = 600000,
     .min = 1000,
     .max = 86400000,
     .desc = "Total time a batch may spend retrying retriable errors before its commands get "
             "error results."},
    {.name = "max_attempts",
     .type = BR_CT_INT,
     .offset = offsetof(br_config_sink_t, max_attempts),
     .idef = 10,
     .min = 1,
     .max = 1000,
     .desc = "Most attempts of one batch (the first try included)."},
    {.name = "dedupe",
     .type = BR_CT_LIST,
     .offset = offsetof(br_config_sink_t, dedupe),
     .count_offset = offsetof(br_config_sink_t, dedupe_count),
     .min = 0,
     .max = 1000,
     .sub = dedupe_keys,
     .elem_size = sizeof(br_config_dedupe_t),
     .desc = "Per-sobject external id fields that make inserts idempotent."},
    {.name = "use_composite",
     .type = BR_CT_BOOL,
     .offset = offsetof(br_config_sink_t, use_composite),
     .idef = 1,
     .desc = "When more batches of one org wait than workers are idle, send up to five of "
             "them (1,000 records) in one /composite call: one API call instead of five."},
    END,
};

static const br_ckey_t source_keys[] = {
    {.name = "org",
     .type = BR_CT_STRING,
     .flags = BR_CK_REQUIRED,
     .offset = offsetof(br_config_source_t, org),
     .check = check_org_name,
     .max = 64,
     .desc = "Name of the org (in orgs) to subscribe to. The channel runs on the worker that "
             "owns the lowest command-topic partition mapped to this org (sink.partitions)."},
    {.name = "channel",
     .type = BR_CT_STRING,
     .flags = BR_CK_REQUIRED,
     .offset = offsetof(br_config_source_t, channel),
     .check = check_channel,
     .max = 255,
     .desc = "Streaming API channel: /event/Name__e (platform event), /data/ChangeEvents or "
             "/data/<Object>ChangeEvent (change data capture), /topic/Name (PushTopic), /u/Name."},
    {.name = "topic",
     .type = BR_CT_STRING,
     .flags = BR_CK_REQUIRED,
     .offset = offsetof(br_config_source_t, topic),
     .check = check_topic,
     .desc = "Kafka topic receiving the channel's events (schemas/event.v1.schema.json)."},
    {.name = "replay",
     .type = BR_CT_ENUM,
     .offset = offsetof(br_config_source_t, replay),
     .def = "stored",
     .enums = replay_modes,
     .desc = "Where to start: stored (after the replay id kept in state_topic; with none stored, "
             "every retained event, so nothing published before the first start is missed), "
             "latest (new events only) or earliest (every retained event)."},
    {.name = "on_invalid_replay",
     .type = BR_CT_ENUM,
     .offset = offsetof(br_config_source_t, on_invalid_replay),
     .def = "earliest",
     .enums = invalid_replay_policies,
     .desc = "When Salesforce rejects the replay id (older than its retention): earliest "
             "(resume from every retained event), latest (new events only) or fail (stop the "
             "channel). The gap is logged as a warning and counted in every case."},
    END,
};

const br_ckey_t br_config_root_keys[] = {
    {.name = "log",
     .type = BR_CT_GROUP,
     .offset = offsetof(br_config_t, log),
     .sub = log_keys,
     .desc = "Logging defaults of `sfbridge run`."},
    {.name = "kafka",
     .type = BR_CT_GROUP,
     .offset = offsetof(br_config_t, kafka),
     .sub = kafka_keys,
     .desc = "The Kafka cluster."},
    {.name = "orgs",
     .type = BR_CT_LIST,
     .flags = BR_CK_REQUIRED,
     .offset = offsetof(br_config_t, orgs),
     .count_offset = offsetof(br_config_t, orgs_count),
     .min = 1,
     .max = 1000,
     .sub = org_keys,
     .elem_size = sizeof(br_config_org_t),
     .desc = "The Salesforce orgs, one group each."},
    {.name = "token_store",
     .type = BR_CT_GROUP,
     .offset = offsetof(br_config_t, token_store),
     .sub = token_store_keys,
     .desc = "Encrypted storage of OAuth tokens."},
    {.name = "sink",
     .type = BR_CT_GROUP,
     .offset = offsetof(br_config_t, sink),
     .sub = sink_keys,
     .desc = "Kafka -> Salesforce: applying record-change commands."},
    {.name = "source",
     .type = BR_CT_LIST,
     .offset = offsetof(br_config_t, sources),
     .count_offset = offsetof(br_config_t, sources_count),
     .min = 0,
     .max = 1000,
     .sub = source_keys,
     .elem_size = sizeof(br_config_source_t),
     .desc = "Salesforce -> Kafka: Streaming API channels (platform events, change data capture, "
             "PushTopics) published to Kafka with no gap across restarts."},
    {.name = "state_topic",
     .type = BR_CT_STRING,
     .offset = offsetof(br_config_t, state_topic),
     .def = "sfbridge.state",
     .check = check_topic,
     .desc = "Compacted topic where the source keeps the last acknowledged replay id of each "
             "(org, channel); created if missing."},
    END,
};

static bool contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return true;
    return false;
}

bool br_config_property_is_secret(const char *name)
{
    return contains_nocase(name, "password") || contains_nocase(name, "secret") ||
           contains_nocase(name, "key");
}

/* ---- cross-key rules ------------------------------------------------------ */

/* Which auth fields each flow needs, and which it uses at all (for warnings). */
static const struct {
    const char *required[5];
    const char *used[6];
} flow_fields[] = {
    [BR_AUTH_JWT] = {{"client_id", "username", "private_key"},
                     {"client_id", "username", "private_key", "audience"}},
    [BR_AUTH_CLIENT_CREDENTIALS] = {{"client_id", "client_secret"}, {"client_id", "client_secret"}},
    [BR_AUTH_REFRESH_TOKEN] = {{"client_id"}, {"client_id", "client_secret", "refresh_token"}},
    [BR_AUTH_PASSWORD] = {{"client_id", "client_secret", "username", "password"},
                          {"client_id", "client_secret", "username", "password", "security_token"}},
    [BR_AUTH_WEB_SERVER] = {{"client_id"}, {"client_id", "client_secret", "redirect_port"}},
};

static bool listed(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; i < n && names[i]; i++)
        if (strcmp(names[i], name) == 0)
            return true;
    return false;
}

/* Is the auth field described by `k` set in `auth`? */
static bool auth_field_set(const br_ckey_t *k, const br_config_auth_t *auth)
{
    const void *field = (const char *)auth + k->offset;
    if (k->type == BR_CT_STRING)
        return *(char *const *)field != NULL && **(char *const *)field != '\0';
    if (k->type == BR_CT_SECRET)
        return ((const br_secret_t *)field)->value != NULL;
    return true;
}

static bool needs_token_store(const br_config_org_t *org)
{
    return org->auth.flow == BR_AUTH_WEB_SERVER ||
           (org->auth.flow == BR_AUTH_REFRESH_TOKEN && !org->auth.refresh_token.value);
}

static int finalize_auth(br_cload_t *ld, size_t i, br_config_org_t *org)
{
    br_config_auth_t *auth = &org->auth;
    char path[128], base[64];
    snprintf(base, sizeof(base), "orgs.[%zu].auth", i);
    const char *flow = br_auth_flow_name(auth->flow);

    for (const br_ckey_t *k = auth_keys; k->name; k++) {
        if (strcmp(k->name, "flow") == 0)
            continue;
        snprintf(path, sizeof(path), "%s.%s", base, k->name);
        bool required = listed(flow_fields[auth->flow].required, 5, k->name);
        bool used = listed(flow_fields[auth->flow].used, 6, k->name);
        if (required && !auth_field_set(k, auth))
            return br_cload_error(ld, br_cload_line(ld, path), path,
                                  "required by auth flow '%s' but missing", flow);
        if (!used && config_lookup(ld->lc, path))
            br_cload_warn(ld, br_cload_line(ld, path), path, "not used by auth flow '%s'", flow);
    }
    if (auth->flow == BR_AUTH_JWT && !auth->audience) {
        if (!(auth->audience = strdup(org->login_url)))
            return br_cload_error(ld, 0, NULL, "out of memory");
    }
    return 0;
}

static int finalize_orgs(br_cload_t *ld)
{
    br_config_t *config = ld->config;
    char path[128];
    for (size_t i = 0; i < config->orgs_count; i++) {
        br_config_org_t *org = &config->orgs[i];
        snprintf(path, sizeof(path), "orgs.[%zu].name", i);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(config->orgs[j].name, org->name) == 0) {
                char first[64];
                snprintf(first, sizeof(first), "orgs.[%zu].name", j);
                return br_cload_error(ld, br_cload_line(ld, path), path,
                                      "org '%s' is defined twice (first at line %d)", org->name,
                                      br_cload_line(ld, first));
            }
        }
        if (!org->tls_verify) {
            snprintf(path, sizeof(path), "orgs.[%zu].tls_verify", i);
            br_cload_warn(ld, br_cload_line(ld, path), path,
                          "TLS verification is off for org '%s': anyone on the path can read "
                          "its tokens",
                          org->name);
        }
        if (org->ca_file && access(org->ca_file, R_OK) != 0) {
            snprintf(path, sizeof(path), "orgs.[%zu].ca_file", i);
            return br_cload_error(ld, br_cload_line(ld, path), path, "cannot read file '%s'",
                                  org->ca_file);
        }
        if (finalize_auth(ld, i, org) != 0)
            return -1;
    }
    return 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/* 64 hex digits, or base64 (standard or URL alphabet, padding optional) of 32 bytes. */
static int decode_key(const char *s, unsigned char out[32])
{
    size_t n = strlen(s);
    if (n == 64) {
        bool hex = true;
        for (size_t i = 0; i < 32 && hex; i++) {
            int hi = hexval((unsigned char)s[2 * i]), lo = hexval((unsigned char)s[2 * i + 1]);
            hex = hi >= 0 && lo >= 0;
            if (hex)
                out[i] = (unsigned char)((unsigned)hi << 4 | (unsigned)lo);
        }
        if (hex)
            return 0;
    }
    while (n > 0 && s[n - 1] == '=')
        n--;
    if (n != 43) /* ceil(32 * 4 / 3) */
        return -1;
    unsigned acc = 0, bits = 0, o = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val((unsigned char)s[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o < 32)
                out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return (o == 32 && acc == 0) ? 0 : -1;
}

static int finalize_token_store(br_cload_t *ld)
{
    br_config_t *config = ld->config;
    br_config_token_store_t *ts = &config->token_store;
    if (ts->key.value) {
        if (decode_key(ts->key.value, ts->key_bytes) != 0) {
            explicit_bzero(ts->key_bytes, sizeof(ts->key_bytes));
            return br_cload_error(ld, br_cload_line(ld, "token_store.key"), "token_store.key",
                                  "must be 32 bytes written as 64 hex digits or as base64");
        }
        ts->key_set = true;
    }
    for (size_t i = 0; i < config->orgs_count; i++) {
        if (needs_token_store(&config->orgs[i]) && !ts->key_set) {
            char path[64];
            snprintf(path, sizeof(path), "orgs.[%zu].auth.flow", i);
            return br_cload_error(
                ld, br_cload_line(ld, path), "token_store.key",
                "required because org '%s' uses auth flow '%s'%s", config->orgs[i].name,
                br_auth_flow_name(config->orgs[i].auth.flow),
                config->orgs[i].auth.flow == BR_AUTH_REFRESH_TOKEN ? " without auth.refresh_token"
                                                                   : "");
        }
    }
    return 0;
}

static int finalize_sink(br_cload_t *ld)
{
    br_config_t *config = ld->config;
    br_config_sink_t *sink = &config->sink;
    char path[96], other[96];

    for (size_t i = 0; i < sink->partitions_count; i++) {
        br_config_partition_t *p = &sink->partitions[i];
        snprintf(path, sizeof(path), "sink.partitions.[%zu].org", i);
        size_t k = 0;
        while (k < config->orgs_count && strcmp(config->orgs[k].name, p->org) != 0)
            k++;
        if (k == config->orgs_count)
            return br_cload_error(ld, br_cload_line(ld, path), path,
                                  "partition %d is mapped to org '%s', which is not in orgs",
                                  p->partition, p->org);
        p->org_index = k;
        for (size_t j = 0; j < i; j++) {
            if (sink->partitions[j].partition == p->partition) {
                snprintf(path, sizeof(path), "sink.partitions.[%zu].partition", i);
                snprintf(other, sizeof(other), "sink.partitions.[%zu].partition", j);
                return br_cload_error(ld, br_cload_line(ld, path), path,
                                      "partition %d is mapped twice (first at line %d)",
                                      p->partition, br_cload_line(ld, other));
            }
        }
    }
    for (size_t i = 0; i < sink->dedupe_count; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcmp(sink->dedupe[i].sobject, sink->dedupe[j].sobject) == 0) {
                snprintf(path, sizeof(path), "sink.dedupe.[%zu].sobject", i);
                snprintf(other, sizeof(other), "sink.dedupe.[%zu].sobject", j);
                return br_cload_error(ld, br_cload_line(ld, path), path,
                                      "sobject '%s' has a dedupe field already (line %d)",
                                      sink->dedupe[i].sobject, br_cload_line(ld, other));
            }
        }
    }
    /* Writing results into the topic we consume would feed sfbridge its own output. */
    if (strcmp(sink->result_topic, sink->command_topic) == 0 ||
        strcmp(sink->dead_letter_topic, sink->command_topic) == 0) {
        const char *key = strcmp(sink->result_topic, sink->command_topic) == 0
                              ? "sink.result_topic"
                              : "sink.dead_letter_topic";
        return br_cload_error(ld, br_cload_line(ld, key), key,
                              "must differ from sink.command_topic ('%s')", sink->command_topic);
    }
    return 0;
}

static int finalize_source(br_cload_t *ld)
{
    br_config_t *config = ld->config;
    char path[96], other[96];
    for (size_t i = 0; i < config->sources_count; i++) {
        br_config_source_t *src = &config->sources[i];
        snprintf(path, sizeof(path), "source.[%zu].org", i);
        size_t k = 0;
        while (k < config->orgs_count && strcmp(config->orgs[k].name, src->org) != 0)
            k++;
        if (k == config->orgs_count)
            return br_cload_error(ld, br_cload_line(ld, path), path,
                                  "channel %s names org '%s', which is not in orgs", src->channel,
                                  src->org);
        src->org_index = k;
        for (size_t j = 0; j < i; j++) {
            if (config->sources[j].org_index == k &&
                strcmp(config->sources[j].channel, src->channel) == 0) {
                snprintf(path, sizeof(path), "source.[%zu].channel", i);
                snprintf(other, sizeof(other), "source.[%zu].channel", j);
                return br_cload_error(ld, br_cload_line(ld, path), path,
                                      "channel %s of org '%s' is listed twice (first at line %d)",
                                      src->channel, src->org, br_cload_line(ld, other));
            }
        }
        /* Events of an org nobody owns would never be delivered: say so. */
        bool mapped = false;
        for (size_t p = 0; p < config->sink.partitions_count && !mapped; p++)
            mapped = config->sink.partitions[p].org_index == k;
        if (!mapped)
            br_cload_warn(ld, br_cload_line(ld, path), path,
                          "org '%s' has no partition in sink.partitions, so no worker owns it and "
                          "channel %s is never subscribed",
                          src->org, src->channel);
        if (strcmp(src->topic, config->state_topic) == 0 ||
            strcmp(src->topic, config->sink.command_topic) == 0) {
            snprintf(path, sizeof(path), "source.[%zu].topic", i);
            return br_cload_error(ld, br_cload_line(ld, path), path,
                                  "must differ from state_topic and sink.command_topic ('%s')",
                                  src->topic);
        }
    }
    return 0;
}

int br_config_finalize(br_cload_t *ld)
{
    br_config_t *config = ld->config;
    if (!config->kafka.embedded && !config->kafka.brokers) {
        /* Kept for run and check (br_config_require_kafka): org, login and
         * logout work without Kafka. */
        br_cload_error(ld, br_cload_line(ld, "kafka"), "kafka.brokers",
                       "required unless kafka.embedded = true");
        config->kafka_error = strdup(ld->errstr);
        ld->errstr[0] = '\0';
        if (!config->kafka_error)
            return br_cload_error(ld, 0, "kafka.brokers", "out of memory");
    }
    if (config->kafka.embedded && config->kafka.brokers)
        br_cload_warn(ld, br_cload_line(ld, "kafka.brokers"), "kafka.brokers",
                      "ignored because kafka.embedded = true");
    if (finalize_orgs(ld) != 0 || finalize_token_store(ld) != 0 || finalize_sink(ld) != 0 ||
        finalize_source(ld) != 0)
        return -1;
    return 0;
}

/* ---- lookups --------------------------------------------------------------- */

const br_config_org_t *br_config_org_find(const br_config_t *config, const char *name)
{
    for (size_t i = 0; config && name && i < config->orgs_count; i++)
        if (strcmp(config->orgs[i].name, name) == 0)
            return &config->orgs[i];
    return NULL;
}

/* Linear: the map is small (bounded by the topic's partition count) and read at assignment. */
const br_config_org_t *br_config_org_of_partition(const br_config_t *config, int32_t partition)
{
    for (size_t i = 0; config && i < config->sink.partitions_count; i++)
        if (config->sink.partitions[i].partition == partition)
            return &config->orgs[config->sink.partitions[i].org_index];
    return NULL;
}

int br_config_kafka_conf_apply(const br_config_t *config, rd_kafka_conf_t *conf, char *errstr,
                               size_t errstr_size)
{
    for (size_t i = 0; i < config->kafka.properties_count; i++) {
        const br_kafka_property_t *p = &config->kafka.properties[i];
        char kerr[512];
        const char *rd_name = p->name;
        if (!strncmp(rd_name, "consumer.", 9) || !strncmp(rd_name, "producer.", 9))
            rd_name += 9; /* see kf.h: limited to one kind of handle */
        if (rd_kafka_conf_set(conf, rd_name, p->value, kerr, sizeof(kerr)) != RD_KAFKA_CONF_OK) {
            /* Checked at load, so this means a different librdkafka; still never echo a secret. */
            snprintf(errstr, errstr_size, "kafka.properties.%s: %s", p->name,
                     p->secret ? "rejected by librdkafka" : kerr);
            return -1;
        }
    }
    return 0;
}
