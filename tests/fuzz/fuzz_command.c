/*
 * fuzz_command.c - libFuzzer target for br_command_parse(), the parser of
 * every byte that arrives on a command topic.
 *
 * Beyond "no crash, no leak, no UB" (ASan/UBSan), it checks two properties:
 * - a command that parses can be written back as JSON from its struct and
 *   parses again to the same command (the struct holds everything the
 *   validation checked, nothing less);
 * - the category and the reason agree: OK iff *out is set, and a rejection
 *   always leaves a non-empty, single-line reason.
 * Each input runs twice: with the defaults and with tight limits, so the
 * size and depth bounds are exercised at sizes the fuzzer reaches.
 */
#include "br_command.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check(bool cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_command: property violated: %s\n", what);
        abort();
    }
}

static json_t *rebuild(const br_command_t *cmd)
{
    json_t *obj = json_object();
    json_object_set_new(obj, "op", json_string(br_op_name(cmd->op)));
    json_object_set_new(obj, "sobject", json_string(cmd->sobject));
    if (cmd->id[0])
        json_object_set_new(obj, "id", json_string(cmd->id));
    if (cmd->ext_value)
        json_object_set_new(
            obj, "external_id",
            json_pack("{s:s,s:s}", "field", cmd->ext_field, "value", cmd->ext_value));
    if (cmd->fields)
        json_object_set(obj, "fields", cmd->fields);
    if (cmd->soql)
        json_object_set_new(obj, "soql", json_string(cmd->soql));
    if (cmd->command_id)
        json_object_set_new(obj, "command_id", json_string(cmd->command_id));
    return obj;
}

static void one(const uint8_t *data, size_t size, const br_command_limits_t *limits)
{
    char errstr[256];
    br_command_t *cmd = NULL;
    br_command_err_t err =
        br_command_parse((const char *)data, size, limits, &cmd, errstr, sizeof(errstr));
    check((err == BR_COMMAND_OK) == (cmd != NULL), "OK iff a command is returned");
    if (err != BR_COMMAND_OK) {
        check(errstr[0] != '\0' && strchr(errstr, '\n') == NULL, "one-line reason");
        check(br_command_err_reason(err) != NULL, "a dead-letter reason");
        return;
    }

    json_t *obj = rebuild(cmd);
    /* JSON_ENCODE_ANY is not needed: obj is an object. Real numbers are
     * written with enough digits to read back the same double. */
    char *text = json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(17));
    check(text != NULL, "the rebuilt command serialises");
    br_command_t *again = NULL;
    br_command_limits_t wide = {.max_bytes = strlen(text) + 1, .max_depth = 1000};
    err = br_command_parse(text, strlen(text), &wide, &again, errstr, sizeof(errstr));
    if (err != BR_COMMAND_OK)
        fprintf(stderr, "re-parse of %s failed: %s\n", text, errstr);
    check(err == BR_COMMAND_OK, "the rebuilt command parses again");
    check(again->op == cmd->op && strcmp(again->sobject, cmd->sobject) == 0 &&
              strcmp(again->id, cmd->id) == 0,
          "same op, sobject and id");
    check(json_equal(again->fields, cmd->fields) || (!again->fields && !cmd->fields),
          "same fields");
    char effective[600];
    br_command_effective_id(cmd, "t", 0, 1, effective, sizeof(effective));
    check(effective[0] != '\0', "an effective id");
    free(text);
    json_decref(obj);
    br_command_destroy(again);
    br_command_destroy(cmd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    br_command_limits_t limits;
    br_command_limits_init(&limits);
    one(data, size, &limits);
    limits.max_bytes = 256;
    limits.max_depth = 4;
    one(data, size, &limits);
    return 0;
}
