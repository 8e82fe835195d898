/*
 * test_command.c - the command parser (bridge/br_command.c) against the same
 * example files the schema tests validate with ajv, plus the byte-level
 * rules the schema cannot express, and the result serialiser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "br_command.h"

#define EXAMPLES SFB_SOURCE_DIR "/schemas/examples"

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1))) {
            *len = fread(buf, 1, (size_t)n, f);
            buf[*len] = '\0';
        }
    }
    fclose(f);
    return buf;
}

/* Calls fn for every command.*.json in dir, sorted; returns how many. */
static int each_command_example(const char *dir,
                                void (*fn)(const char *name, const char *bytes, size_t len))
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, alphasort);
    assert_true(n >= 0);
    int count = 0;
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        size_t nl = strlen(name);
        if (strncmp(name, "command.", 8) == 0 && nl > 5 && strcmp(name + nl - 5, ".json") == 0) {
            char path[1024];
            size_t len = 0;
            snprintf(path, sizeof(path), "%s/%s", dir, name);
            char *bytes = read_file(path, &len);
            assert_non_null(bytes);
            fn(name, bytes, len);
            free(bytes);
            count++;
        }
        free(names[i]);
    }
    free(names);
    return count;
}

static void expect_valid(const char *name, const char *bytes, size_t len)
{
    char errstr[512];
    br_command_t *cmd = NULL;
    br_command_err_t err = br_command_parse(bytes, len, NULL, &cmd, errstr, sizeof(errstr));
    if (err != BR_COMMAND_OK)
        fail_msg("%s: rejected: %s", name, errstr);
    assert_non_null(cmd);
    /* What the schema promises about each op holds in the struct. */
    switch (cmd->op) {
    case BR_OP_INSERT:
    case BR_OP_PUBLISH:
        assert_true(json_is_object(cmd->fields));
        assert_string_equal(cmd->id, "");
        break;
    case BR_OP_UPDATE:
        assert_true(json_is_object(cmd->fields));
        assert_true(strlen(cmd->id) == 15 || strlen(cmd->id) == 18);
        break;
    case BR_OP_UPSERT:
        assert_true(json_is_object(cmd->fields));
        assert_true(cmd->ext_field[0] != '\0');
        assert_non_null(cmd->ext_value);
        break;
    case BR_OP_DELETE:
        assert_null(cmd->fields);
        assert_true(cmd->id[0] != '\0');
        break;
    case BR_OP_QUERY:
        assert_null(cmd->fields);
        assert_non_null(cmd->soql);
        break;
    }
    assert_true(cmd->sobject[0] != '\0');
    br_command_destroy(cmd);
}

static void test_valid_examples(void **state)
{
    (void)state;
    assert_true(each_command_example(EXAMPLES "/valid", expect_valid) >= 10);
}

/* Every invalid example, and what its reason must mention: the field at fault. */
static const struct {
    const char *file;
    const char *mentions;
} invalid_examples[] = {
    {"command.command_id_control_char.json", "command_id:"},
    {"command.command_id_empty.json", "command_id:"},
    {"command.command_id_not_string.json", "command_id:"},
    {"command.command_id_too_long.json", "command_id:"},
    {"command.delete_with_empty_fields.json", "fields:"},
    {"command.delete_with_fields.json", "fields:"},
    {"command.delete_without_id.json", "id: required"},
    {"command.external_id_bad_field_name.json", "external_id.field:"},
    {"command.external_id_missing_field.json", "external_id.field: missing"},
    {"command.external_id_missing_value.json", "external_id.value: missing"},
    {"command.external_id_not_object.json", "external_id:"},
    {"command.external_id_unknown_member.json", "external_id: unknown member \"type\""},
    {"command.external_id_value_control_char.json", "external_id.value:"},
    {"command.external_id_value_empty.json", "external_id.value:"},
    {"command.external_id_value_not_string.json", "external_id.value:"},
    {"command.external_id_value_too_long.json", "external_id.value:"},
    {"command.fields_bad_field_name.json", "fields: \"Bad Name\""},
    {"command.fields_not_object.json", "fields:"},
    {"command.fields_null.json", "fields:"},
    {"command.fields_with_attributes.json", "fields: \"attributes\""},
    {"command.fields_with_id.json", "fields: \"ID\""},
    {"command.id_16_chars.json", "id:"},
    {"command.id_not_string.json", "id:"},
    {"command.id_with_dash.json", "id:"},
    {"command.insert_with_external_id.json", "external_id: not allowed"},
    {"command.insert_with_id.json", "id: not allowed"},
    {"command.insert_with_soql.json", "soql: not allowed"},
    {"command.insert_without_fields.json", "fields: required"},
    {"command.missing_op.json", "op: missing"},
    {"command.missing_sobject.json", "sobject: missing"},
    {"command.not_an_object.json", "must be a JSON object"},
    {"command.op_not_string.json", "op:"},
    {"command.op_wrong_case.json", "op: \"INSERT\""},
    {"command.publish_non_event_sobject.json", "sobject:"},
    {"command.publish_without_fields.json", "fields: required"},
    {"command.query_with_fields.json", "fields: not allowed"},
    {"command.query_without_soql.json", "soql: required"},
    {"command.sobject_empty.json", "sobject:"},
    {"command.sobject_non_ascii.json", "sobject:"},
    {"command.sobject_not_string.json", "sobject:"},
    {"command.sobject_path_injection.json", "sobject:"},
    {"command.sobject_starts_with_digit.json", "sobject:"},
    {"command.sobject_too_long.json", "sobject:"},
    {"command.sobject_too_many_parts.json", "sobject:"},
    {"command.sobject_trailing_underscore.json", "sobject:"},
    {"command.sobject_triple_underscore.json", "sobject:"},
    {"command.soql_empty.json", "soql:"},
    {"command.soql_not_string.json", "soql:"},
    {"command.soql_too_long.json", "soql:"},
    {"command.unknown_op.json", "op: \"merge\""},
    {"command.unknown_top_level_key.json", "\"Fields\": unknown member"},
    {"command.update_without_fields.json", "fields: required"},
    {"command.update_without_id.json", "id: required"},
    {"command.upsert_with_id.json", "id: not allowed"},
    {"command.upsert_without_external_id.json", "external_id: required"},
    {"command.upsert_without_fields.json", "fields: required"},
};
#define INVALID_COUNT (sizeof(invalid_examples) / sizeof(invalid_examples[0]))
static int invalid_seen[INVALID_COUNT];

static void expect_invalid(const char *name, const char *bytes, size_t len)
{
    size_t i;
    for (i = 0; i < INVALID_COUNT; i++)
        if (strcmp(invalid_examples[i].file, name) == 0)
            break;
    if (i == INVALID_COUNT)
        fail_msg("%s: new invalid example: add it and the field it names to invalid_examples[]",
                 name);
    invalid_seen[i]++;

    char errstr[512];
    br_command_t *cmd = (br_command_t *)&errstr; /* must be reset to NULL */
    br_command_err_t err = br_command_parse(bytes, len, NULL, &cmd, errstr, sizeof(errstr));
    if (err == BR_COMMAND_OK)
        fail_msg("%s: accepted, but the schema rejects it", name);
    assert_int_equal(err, BR_COMMAND_INVALID);
    assert_null(cmd);
    if (!strstr(errstr, invalid_examples[i].mentions))
        fail_msg("%s: reason \"%s\" does not mention \"%s\"", name, errstr,
                 invalid_examples[i].mentions);
    assert_null(strchr(errstr, '\n'));
}

static void test_invalid_examples(void **state)
{
    (void)state;
    memset(invalid_seen, 0, sizeof(invalid_seen));
    int n = each_command_example(EXAMPLES "/invalid", expect_invalid);
    assert_int_equal(n, (int)INVALID_COUNT);
    for (size_t i = 0; i < INVALID_COUNT; i++)
        if (invalid_seen[i] != 1)
            fail_msg("%s: listed but not found in %s", invalid_examples[i].file,
                     EXAMPLES "/invalid");
}

/* What the schema cannot say: bytes that are not I-JSON, and the bounds. */
static void test_bytes(void **state)
{
    (void)state;
#define OK_CMD "{\"op\":\"delete\",\"sobject\":\"Account\",\"id\":\"001xx000003DGb2AAG\"}"
    static const struct {
        const char *bytes;
        size_t len; /* 0: strlen */
        br_command_err_t want;
        const char *mentions;
    } cases[] = {
        {"", 0, BR_COMMAND_NOT_JSON, "empty"},
        {"   \n\t ", 0, BR_COMMAND_NOT_JSON, "not JSON"},
        {"hello", 0, BR_COMMAND_NOT_JSON, "not JSON"},
        {"{\"op\":", 0, BR_COMMAND_NOT_JSON, "not JSON"},
        {OK_CMD " x", 0, BR_COMMAND_NOT_JSON, "not JSON"},
        {OK_CMD OK_CMD, 0, BR_COMMAND_NOT_JSON, "not JSON"},
        {"{\"op\":\"insert\",\"sobject\":\"A\",\"fields\":{\"N__c\":NaN}}", 0, BR_COMMAND_NOT_JSON,
         "not JSON"},
        {"{\"op\":\"insert\",\"sobject\":\"A\",\"fields\":{\"N__c\":Infinity}}", 0,
         BR_COMMAND_NOT_JSON, "not JSON"},
        {"{\"op\":\"insert\",\"sobject\":\"A\",\"fields\":{\"N__c\":-Infinity}}", 0,
         BR_COMMAND_NOT_JSON, "not JSON"},
        {"{\"op\":\"insert\",\"sobject\":\"A\",\"fields\":{\"N__c\":1e400}}", 0, BR_COMMAND_INVALID,
         "overflow"},
        {"{\"op\":\"insert\",\"sobject\":\"A\",\"fields\":{\"N__c\":123456789012345678901234}}", 0,
         BR_COMMAND_INVALID, "too big"},
        {"{\"op\":\"delete\",\"op\":\"insert\",\"sobject\":\"A\",\"fields\":{}}", 0,
         BR_COMMAND_INVALID, "duplicate"},
        {"{\"op\":\"insert\",\"sobject\":\"A\",\"fields\":{\"Name\":1,\"Name\":2}}", 0,
         BR_COMMAND_INVALID, "Name"},
        {"{\"op\":\"insert\",\"sobject\":\"A\",\"fields\":{\"Name\":\"\xff\"}}", 0,
         BR_COMMAND_NOT_JSON, "UTF-8"},
        {"{\"op\":\"insert\",\"sobject\":\"A\",\"fields\":{\"Name\":\"\xc0\x80\"}}", 0,
         BR_COMMAND_NOT_JSON, "UTF-8"},
        {"{\"op\":\"insert\",\"sobject\":\"A\",\"fields\":{\"Name\":\"\xed\xa0\x80\"}}", 0,
         BR_COMMAND_NOT_JSON, "UTF-8"},
        {"{\"op\":\"insert\",\"sobject\":\"A\",\"fields\":{\"Name\":\"\xf4\x90\x80\x80\"}}", 0,
         BR_COMMAND_NOT_JSON, "UTF-8"},
        {"{\"op\":\"insert\",\"sobject\":\"A\",\"fields\":{\"Name\":\"\xe2\x82\"}}", 0,
         BR_COMMAND_NOT_JSON, "UTF-8"},
        {"{\"op\":\"insert\",\"sobject\":\"A\",\"fields\":{\"Name\":\"\\ud800\"}}", 0,
         BR_COMMAND_NOT_JSON, "not JSON"},
        {"{\"op\":\"insert\",\"sobject\":\"A\",\"fields\":{\"Name\":\"\\ud83d\\ude80\"}}", 0,
         BR_COMMAND_OK, NULL},
        {"{\"op\":\"insert\",\"sobject\":\"A\",\"fields\":{\"Name\":\"a\\u0000b\"}}", 0,
         BR_COMMAND_OK, NULL},
        {"{\"op\":\"query\",\"sobject\":\"A\",\"soql\":\"SELECT\\u0000\"}", 0, BR_COMMAND_INVALID,
         "soql:"},
        {"{\"op\\u0000x\":\"delete\",\"sobject\":\"Account\",\"id\":\"001xx000003DGb2AAG\"}", 0,
         BR_COMMAND_INVALID, "NUL"},
        {"{\"op\":\"delete\",\"sobject\":\"Account\\u0000\",\"id\":\"001xx000003DGb2AAG\"}", 0,
         BR_COMMAND_INVALID, "sobject:"},
        {"{\"op\":\"insert\",\"sobject\":\"A\",\"fields\":{\"Na\\u0000me\":1}}", 0,
         BR_COMMAND_INVALID, "NUL"},
        {OK_CMD "\0", sizeof(OK_CMD), BR_COMMAND_NOT_JSON, "not JSON"},
        /* Found by fuzz_command: jansson quotes raw input, newline included,
         * and a reason must stay on one line. */
        {"{\"\\n\\\n\0`0\001m'Pvvv\\", 17, BR_COMMAND_NOT_JSON, "\\x0a"},
        {"42", 0, BR_COMMAND_INVALID, "must be a JSON object, not a number"},
        {"null", 0, BR_COMMAND_INVALID, "must be a JSON object, not null"},
        {"\"op\"", 0, BR_COMMAND_INVALID, "must be a JSON object, not a string"},
        {"\xef\xbb\xbf" OK_CMD, 0, BR_COMMAND_NOT_JSON, "not JSON"},
        {" \r\n" OK_CMD "\r\n ", 0, BR_COMMAND_OK, NULL},
        /* Brackets and escaped quotes inside strings do not count as nesting. */
        {"{\"op\":\"insert\",\"sobject\":\"A\",\"fields\":{\"N\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
         "[[[[[[[[[[\\\"{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{\"}}",
         0, BR_COMMAND_OK, NULL},
    };
    char errstr[512];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        br_command_t *cmd = NULL;
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].bytes);
        br_command_err_t err =
            br_command_parse(cases[i].bytes, len, NULL, &cmd, errstr, sizeof(errstr));
        if (err != cases[i].want)
            fail_msg("case %zu: got %d (%s), want %d", i, err, errstr, cases[i].want);
        if (cases[i].mentions && !strstr(errstr, cases[i].mentions))
            fail_msg("case %zu: reason \"%s\" does not mention \"%s\"", i, errstr,
                     cases[i].mentions);
        assert_true((err == BR_COMMAND_OK) == (cmd != NULL));
        if (strchr(errstr, '\n'))
            fail_msg("case %zu: reason spans lines: %s", i, errstr);
        br_command_destroy(cmd);
    }
}

/* Builds {"op":"insert","sobject":"A","fields":{"N":[[[...]]]}} nested `depth` deep in all. */
static char *nested(int depth)
{
    const char *head = "{\"op\":\"insert\",\"sobject\":\"A\",\"fields\":{\"N\":";
    size_t inner = (size_t)(depth - 2);
    char *s = malloc(strlen(head) + 2 * inner + 8);
    strcpy(s, head);
    char *p = s + strlen(head);
    memset(p, '[', inner);
    p += inner;
    memset(p, ']', inner);
    p += inner;
    strcpy(p, "}}");
    return s;
}

static void test_bounds(void **state)
{
    (void)state;
    char errstr[256];
    br_command_t *cmd = NULL;
    br_command_limits_t limits;
    br_command_limits_init(&limits);
    assert_int_equal(limits.max_bytes, 1024 * 1024);
    assert_int_equal(limits.max_depth, 32);

    /* Depth: exactly the limit passes, one more is too large, a million never reaches jansson. */
    char *s = nested(32);
    assert_int_equal(br_command_parse(s, strlen(s), NULL, &cmd, errstr, sizeof(errstr)),
                     BR_COMMAND_OK);
    br_command_destroy(cmd);
    free(s);
    s = nested(33);
    assert_int_equal(br_command_parse(s, strlen(s), NULL, &cmd, errstr, sizeof(errstr)),
                     BR_COMMAND_TOO_LARGE);
    assert_non_null(strstr(errstr, "nested deeper than 32"));
    free(s);
    limits.max_depth = 40;
    s = nested(40);
    assert_int_equal(br_command_parse(s, strlen(s), &limits, &cmd, errstr, sizeof(errstr)),
                     BR_COMMAND_OK);
    br_command_destroy(cmd);
    free(s);
    size_t big = 1000000;
    s = malloc(big);
    memset(s, '[', big);
    limits.max_bytes = big;
    assert_int_equal(br_command_parse(s, big, &limits, &cmd, errstr, sizeof(errstr)),
                     BR_COMMAND_TOO_LARGE);
    free(s);

    /* Size: the default is 1 MiB; a command of exactly max_bytes passes. */
    size_t n = 1024 * 1024 + 1;
    s = malloc(n);
    memset(s, ' ', n);
    memcpy(s, OK_CMD, strlen(OK_CMD));
    assert_int_equal(br_command_parse(s, n, NULL, &cmd, errstr, sizeof(errstr)),
                     BR_COMMAND_TOO_LARGE);
    assert_non_null(strstr(errstr, "too large"));
    assert_null(cmd);
    assert_int_equal(br_command_parse(s, n - 1, NULL, &cmd, errstr, sizeof(errstr)), BR_COMMAND_OK);
    br_command_destroy(cmd);
    free(s);
    br_command_limits_init(&limits);
    limits.max_bytes = strlen(OK_CMD);
    assert_int_equal(
        br_command_parse(OK_CMD, strlen(OK_CMD), &limits, &cmd, errstr, sizeof(errstr)),
        BR_COMMAND_OK);
    br_command_destroy(cmd);
    limits.max_bytes--;
    assert_int_equal(
        br_command_parse(OK_CMD, strlen(OK_CMD), &limits, &cmd, errstr, sizeof(errstr)),
        BR_COMMAND_TOO_LARGE);

    /* A tiny errstr is truncated, never overrun; NULL errstr is allowed. */
    char tiny[4];
    assert_int_equal(br_command_parse("{}", 2, NULL, &cmd, tiny, sizeof(tiny)), BR_COMMAND_INVALID);
    assert_int_equal(strlen(tiny), 3);
    assert_int_equal(br_command_parse("{}", 2, NULL, &cmd, NULL, 0), BR_COMMAND_INVALID);
}

static void test_struct_contents(void **state)
{
    (void)state;
    char errstr[256];
    br_command_t *cmd = NULL;
    const char *up = "{\"command_id\":\"c-1\",\"op\":\"upsert\",\"sobject\":\"Account\","
                     "\"external_id\":{\"value\":\"A/1 x\",\"field\":\"ERP_Id__c\"},"
                     "\"fields\":{\"Name\":\"Acme\",\"Parent\":{\"ERP_Id__c\":\"P\"}}}";
    assert_int_equal(br_command_parse(up, strlen(up), NULL, &cmd, errstr, sizeof(errstr)),
                     BR_COMMAND_OK);
    assert_int_equal(cmd->op, BR_OP_UPSERT);
    assert_string_equal(br_op_name(cmd->op), "upsert");
    assert_string_equal(cmd->sobject, "Account");
    assert_string_equal(cmd->ext_field, "ERP_Id__c");
    assert_string_equal(cmd->ext_value, "A/1 x");
    assert_string_equal(cmd->command_id, "c-1");
    assert_null(cmd->soql);
    assert_string_equal(json_string_value(json_object_get(cmd->fields, "Name")), "Acme");
    char idbuf[64];
    assert_string_equal(br_command_effective_id(cmd, "t", 1, 2, idbuf, sizeof(idbuf)), "c-1");

    /* The fields object can be stolen and outlive the command. */
    json_t *fields = cmd->fields;
    cmd->fields = NULL;
    br_command_destroy(cmd);
    char *body = json_dumps(fields, JSON_COMPACT);
    assert_string_equal(body, "{\"Name\":\"Acme\",\"Parent\":{\"ERP_Id__c\":\"P\"}}");
    free(body);
    json_decref(fields);

    const char *q =
        "{\"op\":\"query\",\"sobject\":\"Account\",\"soql\":\"SELECT Id FROM Account\"}";
    assert_int_equal(br_command_parse(q, strlen(q), NULL, &cmd, errstr, sizeof(errstr)),
                     BR_COMMAND_OK);
    assert_string_equal(cmd->soql, "SELECT Id FROM Account");
    assert_string_equal(br_command_effective_id(cmd, "sf.commands", 3, 1042, idbuf, sizeof(idbuf)),
                        "sf.commands/3/1042");
    br_command_destroy(cmd);
    br_command_destroy(NULL);

    assert_string_equal(br_command_err_reason(BR_COMMAND_NOT_JSON), "not_json");
    assert_string_equal(br_command_err_reason(BR_COMMAND_INVALID), "invalid_command");
    assert_string_equal(br_command_err_reason(BR_COMMAND_TOO_LARGE), "too_large");
    assert_null(br_command_err_reason(BR_COMMAND_OK));
    assert_string_equal(br_op_name((br_op_t)99), "?");
}

static br_result_t base_result(void)
{
    br_result_t r = {
        .command_id = "c-1",
        .org = "acme",
        .topic = "sf.commands",
        .partition = 3,
        .offset = 1042,
        .op = BR_OP_INSERT,
        .sobject = "Contact",
        .ok = true,
        .id = "003xx000004TmiQAAS",
        .created = 1,
        .rows = -1,
        .attempts = 1,
    };
    return r;
}

static void test_result_to_json(void **state)
{
    (void)state;
    char errstr[256];
    char *json = NULL;
    br_result_t r = base_result();
    assert_int_equal(br_result_to_json(&r, &json, errstr, sizeof(errstr)), 0);
    assert_string_equal(json, "{\"command_id\":\"c-1\",\"org\":\"acme\",\"source\":{\"topic\":"
                              "\"sf.commands\",\"partition\":3,\"offset\":1042},\"op\":\"insert\","
                              "\"sobject\":\"Contact\",\"status\":\"ok\",\"id\":"
                              "\"003xx000004TmiQAAS\",\"created\":true,\"errors\":[],"
                              "\"attempts\":1}");
    free(json);

    static const char *const fields[] = {"LastName", "Email"};
    br_result_error_t e = {"REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]",
                           fields, 2};
    r.ok = false;
    r.id = NULL;
    r.created = -1;
    r.errors = &e;
    r.errors_count = 1;
    r.attempts = 3;
    assert_int_equal(br_result_to_json(&r, &json, errstr, sizeof(errstr)), 0);
    assert_non_null(strstr(json, "\"status\":\"error\",\"errors\":[{\"code\":"
                                 "\"REQUIRED_FIELD_MISSING\",\"message\":\"Required fields are "
                                 "missing: [LastName]\",\"fields\":[\"LastName\",\"Email\"]}],"
                                 "\"attempts\":3}"));
    free(json);

    /* Each rule of the schema is enforced before anything is written. */
    br_result_t b;
    b = base_result();
    b.attempts = 0;
    assert_int_equal(br_result_to_json(&b, &json, errstr, sizeof(errstr)), -1);
    assert_non_null(strstr(errstr, "attempts"));
    assert_null(json);
    b = base_result();
    b.errors = &e;
    b.errors_count = 1;
    assert_int_equal(br_result_to_json(&b, &json, errstr, sizeof(errstr)), -1);
    assert_non_null(strstr(errstr, "errors"));
    b = base_result();
    b.ok = false;
    assert_int_equal(br_result_to_json(&b, &json, errstr, sizeof(errstr)), -1);
    assert_non_null(strstr(errstr, "errors"));
    b = base_result();
    b.id = NULL;
    assert_int_equal(br_result_to_json(&b, &json, errstr, sizeof(errstr)), -1);
    assert_non_null(strstr(errstr, "id"));
    b = base_result();
    b.id = "not-an-id";
    assert_int_equal(br_result_to_json(&b, &json, errstr, sizeof(errstr)), -1);
    assert_non_null(strstr(errstr, "id"));
    b = base_result();
    b.rows = 5;
    assert_int_equal(br_result_to_json(&b, &json, errstr, sizeof(errstr)), -1);
    assert_non_null(strstr(errstr, "rows"));
    b = base_result();
    b.org = "ac\xffme";
    assert_int_equal(br_result_to_json(&b, &json, errstr, sizeof(errstr)), -1);
    assert_non_null(strstr(errstr, "org"));
    b = base_result();
    b.org = "";
    assert_int_equal(br_result_to_json(&b, &json, errstr, sizeof(errstr)), -1);
    assert_non_null(strstr(errstr, "org"));
    b = base_result();
    b.offset = -1;
    assert_int_equal(br_result_to_json(&b, &json, errstr, sizeof(errstr)), -1);
    assert_non_null(strstr(errstr, "source"));
    b = base_result();
    b.command_id = NULL;
    assert_int_equal(br_result_to_json(&b, &json, errstr, sizeof(errstr)), -1);
    assert_non_null(strstr(errstr, "command_id"));
    b = base_result();
    b.op = (br_op_t)42;
    assert_int_equal(br_result_to_json(&b, &json, errstr, sizeof(errstr)), -1);
    assert_non_null(strstr(errstr, "op"));
    b = base_result();
    b.ok = false;
    b.id = NULL;
    br_result_error_t nocode = {NULL, "m", NULL, 0};
    b.errors = &nocode;
    b.errors_count = 1;
    assert_int_equal(br_result_to_json(&b, &json, errstr, sizeof(errstr)), -1);
    assert_non_null(strstr(errstr, "code"));

    /* A query result has rows and may have no id. */
    b = base_result();
    b.op = BR_OP_QUERY;
    b.id = NULL;
    b.created = -1;
    b.rows = 0;
    assert_int_equal(br_result_to_json(&b, &json, errstr, sizeof(errstr)), 0);
    assert_non_null(strstr(json, "\"rows\":0"));
    assert_null(strstr(json, "\"id\""));
    free(json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_examples),  cmocka_unit_test(test_invalid_examples),
        cmocka_unit_test(test_bytes),           cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_struct_contents), cmocka_unit_test(test_result_to_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
