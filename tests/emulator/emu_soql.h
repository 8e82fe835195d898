/*
 * emu_soql.h - the SOQL subset sfemu answers /query and /queryAll with.
 *
 * A query is prepared once (lexed, parsed and bound against the object
 * schema; every error carries Salesforce's errorCode and a message naming the
 * row and column) and executed over records supplied by the caller through
 * callbacks, so the module owns no data and takes no lock.
 *
 * Supported: SELECT of fields and of parent fields through one relationship
 * (Account.Name, Owner.Name), SELECT COUNT(), FROM, WHERE with = != <> < > <=
 * >= LIKE IN NOT IN INCLUDES EXCLUDES, AND OR NOT and parentheses, string,
 * number, true/false, null, date, datetime literals and the date literals
 * TODAY YESTERDAY TOMORROW LAST_N_DAYS:n NEXT_N_DAYS:n (UTC days), ORDER BY
 * with ASC/DESC and NULLS FIRST/LAST on several keys, LIMIT, OFFSET.
 * Everything else (subqueries, GROUP BY, aggregate functions, TYPEOF, WITH,
 * FOR, aliases, semi-joins, two relationship levels...) is rejected with
 * MALFORMED_QUERY at its spot: never a wrong answer.
 *
 * Error codes: MALFORMED_QUERY, INVALID_FIELD (unknown column or
 * relationship, literal of the wrong type for the field), INVALID_TYPE
 * (unknown sobject), INVALID_QUERY_FILTER_OPERATOR (operator not valid for
 * the field type, malformed id literal), NUMBER_OUTSIDE_VALID_RANGE (OFFSET
 * above 2000), UNKNOWN_EXCEPTION (out of memory while executing).
 *
 * Thread safety: a prepared query is immutable; emu_soql_execute() may run
 * on one query from several threads at once.
 */
#ifndef EMU_SOQL_H
#define EMU_SOQL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* Longest query text accepted (Salesforce's own limit), in bytes. */
#define EMU_SOQL_MAX_TEXT 100000

typedef struct emu_soql_schema { /* supplied by the caller */
    /* Returns the describe JSON object of an sobject by name (case-insensitive), or NULL. Borrowed:
       only used during emu_soql_prepare(), which copies what it needs. */
    const json_t *(*sobject)(void *ctx, const char *name);
    void *ctx;
} emu_soql_schema_t;

typedef struct emu_soql_source { /* supplied by the caller, for one query execution */
    /* Iterates the records of the FROM sobject: returns borrowed record objects one by one, NULL
       at end. Records with IsDeleted true are skipped by the evaluator unless include_deleted.
       Records are keyed by the schema's canonical field names; a missing key reads as null. */
    const json_t *(*next)(void *ctx);
    /* Looks a record up by id (any sobject), for parent relationship fields (Account.Name).
       Borrowed or NULL. May be NULL when the query has no parent field. */
    const json_t *(*by_id)(void *ctx, const char *id);
    void *ctx;
    /* Every record handed out must stay unchanged until emu_soql_execute() returns (the caller
       holds its store's read lock around the call). */
} emu_soql_source_t;

typedef struct emu_soql emu_soql_t;

/* Parses and binds against the schema. On error returns NULL and fills errcode and a message
   in Salesforce's style ("\n<query line>\n<caret>\nERROR at Row:r:Column:c\n<text>"). The
   message is printable ASCII (query bytes outside it are shown as '?'), safe for json_string. */
emu_soql_t *emu_soql_prepare(const char *text, const emu_soql_schema_t *schema, char *errcode,
                             size_t errcode_size, char *errmsg, size_t errmsg_size);
void emu_soql_destroy(emu_soql_t *q);

/* sobject name as declared in the schema */
const char *emu_soql_from(const emu_soql_t *q);
/* SELECT COUNT() */
bool emu_soql_is_count(const emu_soql_t *q);

/* Runs the query: filters (WHERE), sorts (ORDER BY, stable, ties keep source order), applies
   OFFSET/LIMIT, projects each row into the REST record shape
   {"attributes":{"type":..,"url":"/services/data/vXX.X/sobjects/T/ID"}, field: value,
   "Account": {"attributes":..., "Name": ...} or null}. Returns a new json array (caller owns)
   of all rows, and *total_size (for COUNT() queries the array is empty and total_size is the
   count). `api_version` is "62.0" or "v62.0", used for attribute URLs. Returns NULL +
   errcode/errmsg on a runtime error. */
json_t *emu_soql_execute(const emu_soql_t *q, const emu_soql_source_t *src, bool include_deleted,
                         const char *api_version, size_t *total_size, char *errcode,
                         size_t errcode_size, char *errmsg, size_t errmsg_size);

#endif
