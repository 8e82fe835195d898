/*
 * br_command.h - command messages (schemas/command.v1.schema.json) and the
 * result messages written for them (schemas/result.v1.schema.json).
 *
 * br_command_parse() turns the bytes of a Kafka record value into a validated
 * command. It accepts exactly the documents the schema accepts, with the byte
 * rules the schema cannot express on top: the input must be I-JSON (UTF-8, no
 * duplicate member names, no lone surrogates, no NaN/Infinity, numbers that
 * fit, no "\u0000" inside a member name, which jansson cannot hold), no
 * larger than limits->max_bytes and nested no deeper than limits->max_depth.
 * Every rejection says why on one line, naming the field ("id: required for
 * op \"update\""), and is classified so the sink can pick the dead-letter
 * reason (not_json, invalid_command, too_large).
 *
 * The parser keeps no state: any thread may call it at any time.
 */
#ifndef BR_COMMAND_H
#define BR_COMMAND_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    BR_OP_INSERT = 0,
    BR_OP_UPDATE,
    BR_OP_UPSERT,
    BR_OP_DELETE,
    BR_OP_PUBLISH,
    BR_OP_QUERY,
} br_op_t;

/* "insert", "update", ...; "?" for a value outside the enum. */
const char *br_op_name(br_op_t op);

/* Why br_command_parse() said no. Maps one-to-one to a dead-letter reason. */
typedef enum {
    BR_COMMAND_OK = 0,
    BR_COMMAND_NOT_JSON,  /* empty, not UTF-8, not JSON, trailing garbage: "not_json" */
    BR_COMMAND_INVALID,   /* JSON, but not a command.v1 (or duplicate keys): "invalid_command" */
    BR_COMMAND_TOO_LARGE, /* over max_bytes or max_depth: "too_large" */
} br_command_err_t;

/* The dead-letter reason string of a category ("not_json", ...); NULL for OK. */
const char *br_command_err_reason(br_command_err_t err);

#define BR_COMMAND_DEFAULT_MAX_BYTES (1024 * 1024)
#define BR_COMMAND_DEFAULT_MAX_DEPTH 32

/* Schema bounds (command.v1), in characters (Unicode code points). */
#define BR_COMMAND_API_NAME_MAX   80
#define BR_COMMAND_ID_MAX         18
#define BR_COMMAND_COMMAND_ID_MAX 255
#define BR_COMMAND_EXT_VALUE_MAX  255
#define BR_COMMAND_SOQL_MAX       100000

typedef struct {
    size_t max_bytes; /* a longer input is TOO_LARGE; 0 means BR_COMMAND_DEFAULT_MAX_BYTES */
    int max_depth;    /* deeper nesting of [ and { is TOO_LARGE; 0 means the default */
} br_command_limits_t;

/* Sets the defaults (1 MiB, depth 32). */
void br_command_limits_init(br_command_limits_t *limits);

/*
 * A parsed, validated command. Strings are NUL-terminated copies owned by the
 * command (none contains a NUL: the schema forbids it where it matters).
 * Members an op does not take are empty / NULL, as the schema guarantees.
 */
typedef struct br_command_s {
    br_op_t op;
    char sobject[BR_COMMAND_API_NAME_MAX + 1];
    char id[BR_COMMAND_ID_MAX + 1];              /* update, delete; "" otherwise */
    char ext_field[BR_COMMAND_API_NAME_MAX + 1]; /* upsert; "" otherwise */
    char *ext_value;                             /* upsert; NULL otherwise */
    char *command_id;                            /* NULL when the command has none */
    char *soql;                                  /* query; NULL otherwise */
    /*
     * insert/update/upsert/publish: the fields object, one reference owned by
     * the command (json_decref'd by br_command_destroy). To keep it beyond the
     * command, json_incref it, or steal it: take the pointer and set this to NULL.
     * NULL for delete and query.
     */
    json_t *fields;
} br_command_t;

/*
 * Parses and validates one command. `limits` may be NULL (defaults).
 * On success returns BR_COMMAND_OK and sets *out to a new command (destroy with
 * br_command_destroy). On failure returns the category, sets *out to NULL and
 * writes a one-line reason to errstr (always NUL-terminated, truncated to
 * errstr_size); the reason names the field when a field is at fault.
 * `bytes` need not be NUL-terminated and may contain anything.
 */
br_command_err_t br_command_parse(const char *bytes, size_t len, const br_command_limits_t *limits,
                                  br_command_t **out, char *errstr, size_t errstr_size);

/* NULL-safe. */
void br_command_destroy(br_command_t *cmd);

/*
 * The id a result carries: the command's command_id, or "topic/partition/offset"
 * of its Kafka record when it has none. Writes to buf (truncated, always
 * NUL-terminated); returns buf. A buffer of BR_COMMAND_EFFECTIVE_ID_SIZE
 * holds any of them (255 characters of up to 4 UTF-8 bytes, or a topic name
 * of at most 249 bytes with two numbers).
 */
#define BR_COMMAND_EFFECTIVE_ID_SIZE 1024
const char *br_command_effective_id(const br_command_t *cmd, const char *topic, int32_t partition,
                                    int64_t offset, char *buf, size_t buf_size);

/* ---- results (result.v1) ---- */

typedef struct {
    const char *code;    /* Salesforce's errorCode/statusCode, or SFBRIDGE_* */
    const char *message; /* may be NULL (written as "") */
    const char *const *fields;
    size_t fields_count;
} br_result_error_t;

typedef struct {
    const char *command_id; /* br_command_effective_id() */
    const char *org;
    const char *topic;
    int32_t partition;
    int64_t offset;
    br_op_t op;
    const char *sobject;
    bool ok;                         /* status "ok" or "error" */
    const char *id;                  /* record id, or NULL; required when ok, unless op is query */
    int created;                     /* 1 true, 0 false, -1 not written */
    int64_t rows;                    /* query only: rows published; -1 not written */
    const br_result_error_t *errors; /* at least one when !ok, none when ok */
    size_t errors_count;
    int attempts; /* >= 1 */
} br_result_t;

/*
 * Serialises a result as one compact JSON object (result.v1). Checks the rules
 * of the schema first (attempts >= 1, errors iff !ok, id when ok, id shape,
 * rows only for query, ...) and refuses to write a message the schema would
 * reject: returns -1 with the reason in errstr. On success returns 0 and sets
 * *out to a NUL-terminated string the caller frees with free().
 */
int br_result_to_json(const br_result_t *result, char **out, char *errstr, size_t errstr_size);

#endif
