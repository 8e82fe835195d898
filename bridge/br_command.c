/*
 * br_command.c - parsing and validation of command messages (command.v1) and
 * serialisation of result messages (result.v1).
 *
 * The checks here mirror schemas/command.v1.schema.json rule by rule; the
 * same example files drive the schema tests (ajv) and this parser's unit
 * tests, so the two cannot drift apart unnoticed. Where the schema counts
 * characters (minLength/maxLength) we count Unicode code points, as JSON
 * Schema does.
 *
 * Outside input is untrusted: before jansson sees the bytes we bound their
 * size, validate UTF-8 and bound the nesting depth with a linear pre-scan, so
 * a hostile message costs at most O(max_bytes) time and memory.
 */
#include "br_command.h"
#include "sfb.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const op_names[] = {"insert", "update", "upsert", "delete", "publish", "query"};
#define OP_COUNT (sizeof(op_names) / sizeof(op_names[0]))

const char *br_op_name(br_op_t op)
{
    if ((unsigned)op >= OP_COUNT)
        return "?";
    return op_names[op];
}

const char *br_command_err_reason(br_command_err_t err)
{
    switch (err) {
    case BR_COMMAND_NOT_JSON:
        return "not_json";
    case BR_COMMAND_INVALID:
        return "invalid_command";
    case BR_COMMAND_TOO_LARGE:
        return "too_large";
    case BR_COMMAND_OK:
        break;
    }
    return NULL;
}

void br_command_limits_init(br_command_limits_t *limits)
{
    limits->max_bytes = BR_COMMAND_DEFAULT_MAX_BYTES;
    limits->max_depth = BR_COMMAND_DEFAULT_MAX_DEPTH;
}

static void seterr(char *errstr, size_t errstr_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *errstr, size_t errstr_size, const char *fmt, ...)
{
    if (!errstr || errstr_size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errstr, errstr_size, fmt, ap);
    va_end(ap);
}

/*
 * Copies outside text into `out` in a form that is safe to print on one line
 * and in a log: control characters, quotes and backslashes escaped, cut after
 * 48 bytes (at a UTF-8 boundary: the input was validated) with "..." appended.
 */
static const char *printable(const char *s, size_t len, char *out, size_t out_size)
{
    size_t o = 0;
    const size_t cut = 48;
    for (size_t i = 0; i < len && o + 8 < out_size; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i >= cut && (c & 0xC0) != 0x80) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (c < 0x20 || c == 0x7f)
            o += (size_t)snprintf(out + o, out_size - o, "\\x%02x", c);
        else if (c == '"' || c == '\\')
            o += (size_t)snprintf(out + o, out_size - o, "\\%c", c);
        else
            out[o++] = (char)c;
    }
    out[o] = '\0';
    return out;
}

/* Copies jansson's message with control characters escaped: its "near '...'"
 * quotes raw input, which may hold a newline, and a reason is one line. */
static const char *one_line(const char *text, char *out, size_t out_size)
{
    size_t o = 0;
    for (const char *p = text; *p && o + 5 < out_size; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c == 0x7f)
            o += (size_t)snprintf(out + o, out_size - o, "\\x%02x", c);
        else
            out[o++] = (char)c;
    }
    out[o] = '\0';
    return out;
}

/* ---- byte-level checks (before jansson) ---- */

/*
 * Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above
 * U+10FFFF. Returns the offset of the first bad byte, or len if all is well.
 */
static size_t utf8_check(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t n;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            if (c == 0xE0)
                lo = 0xA0; /* overlong */
            else if (c == 0xED)
                hi = 0x9F; /* UTF-16 surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            if (c == 0xF0)
                lo = 0x90; /* overlong */
            else if (c == 0xF4)
                hi = 0x8F; /* above U+10FFFF */
        } else {
            return i;
        }
        if (len - i <= n)
            return i;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return i;
        for (size_t k = 2; k <= n; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
        i += n + 1;
    }
    return len;
}

/*
 * Deepest nesting of [ and { outside strings, counted without parsing, so a
 * document of a million '[' is refused before jansson recurses into it.
 * Stops counting as soon as max_depth is passed.
 */
static int nesting_depth(const char *s, size_t len, int max_depth)
{
    int depth = 0, deepest = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\')
                i++; /* the escaped character cannot end the string */
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > deepest) {
                deepest = depth;
                if (deepest > max_depth)
                    break;
            }
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return deepest;
}

/* ---- schema rules ---- */

static size_t utf8_codepoints(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

static bool is_alpha(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_alnum(char c)
{
    return is_alpha(c) || (c >= '0' && c <= '9');
}

/*
 * $defs/api_name: ^[A-Za-z](_?[A-Za-z0-9])*(__[A-Za-z](_?[A-Za-z0-9])*){0,3}$,
 * 1 to 80 characters. A part ends at the first '_' not followed by a letter
 * or digit, so reading it greedily gives the regex's only possible match.
 */
static bool api_name_ok(const char *s, size_t len)
{
    if (len == 0 || len > BR_COMMAND_API_NAME_MAX)
        return false;
    size_t i = 0;
    for (int parts = 1;; parts++) {
        if (i >= len || !is_alpha(s[i]))
            return false;
        i++;
        while (i < len) {
            if (is_alnum(s[i]))
                i++;
            else if (s[i] == '_' && i + 1 < len && is_alnum(s[i + 1]))
                i += 2;
            else
                break;
        }
        if (i == len)
            return true;
        if (parts == 4 || len - i < 2 || s[i] != '_' || s[i + 1] != '_')
            return false;
        i += 2;
    }
}

/* $defs/salesforce_id: ^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$ */
static bool salesforce_id_ok(const char *s, size_t len)
{
    if (len != 15 && len != 18)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!is_alnum(s[i]))
            return false;
    return true;
}

/* ^[^\u0000-\u001f\u007f]*$ */
static bool no_control_chars(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "?";
}

/* The members a command may have, in the order of the schema. */
enum {
    M_OP = 1 << 0,
    M_SOBJECT = 1 << 1,
    M_ID = 1 << 2,
    M_EXTERNAL_ID = 1 << 3,
    M_FIELDS = 1 << 4,
    M_SOQL = 1 << 5,
    M_COMMAND_ID = 1 << 6,
};
static const struct {
    const char *name;
    unsigned bit;
} members[] = {
    {"op", M_OP},
    {"sobject", M_SOBJECT},
    {"id", M_ID},
    {"external_id", M_EXTERNAL_ID},
    {"fields", M_FIELDS},
    {"soql", M_SOQL},
    {"command_id", M_COMMAND_ID},
};
#define MEMBER_COUNT (sizeof(members) / sizeof(members[0]))

/* What each op requires and allows beyond op, sobject and command_id (the schema's allOf). */
static const struct {
    unsigned required;
    unsigned allowed;
} op_rules[] = {
    [BR_OP_INSERT] = {M_FIELDS, M_FIELDS},
    [BR_OP_UPDATE] = {M_ID | M_FIELDS, M_ID | M_FIELDS},
    [BR_OP_UPSERT] = {M_EXTERNAL_ID | M_FIELDS, M_EXTERNAL_ID | M_FIELDS},
    [BR_OP_DELETE] = {M_ID, M_ID},
    [BR_OP_PUBLISH] = {M_FIELDS, M_FIELDS},
    [BR_OP_QUERY] = {M_SOQL, M_SOQL},
};

static const char *member_name(unsigned bit)
{
    for (size_t i = 0; i < MEMBER_COUNT; i++)
        if (members[i].bit == bit)
            return members[i].name;
    return "?";
}

/* Checks a string member against length bounds (code points) and, if given, a byte rule. */
static int check_string(const json_t *v, const char *field, size_t min, size_t max,
                        bool (*rule)(const char *, size_t), const char *rule_text, char *errstr,
                        size_t errstr_size)
{
    char shown[128];
    if (!json_is_string(v)) {
        seterr(errstr, errstr_size, "%s: must be a string, not %s", field, type_name(v));
        return -1;
    }
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    size_t chars = utf8_codepoints(s, len);
    if (chars < min) {
        seterr(errstr, errstr_size, "%s: must not be empty", field);
        return -1;
    }
    if (chars > max) {
        seterr(errstr, errstr_size, "%s: %zu characters, longer than the maximum of %zu", field,
               chars, max);
        return -1;
    }
    if (rule && !rule(s, len)) {
        seterr(errstr, errstr_size, "%s: \"%s\" is not %s", field,
               printable(s, len, shown, sizeof(shown)), rule_text);
        return -1;
    }
    return 0;
}

static char *dup_string(const json_t *v)
{
    /* Callers checked that the string holds no NUL, so strdup copies all of it. */
    return strdup(json_string_value(v));
}

static br_command_err_t check_fields(const json_t *fields, char *errstr, size_t errstr_size)
{
    char shown[128];
    if (!json_is_object(fields)) {
        seterr(errstr, errstr_size, "fields: must be an object, not %s", type_name(fields));
        return BR_COMMAND_INVALID;
    }
    for (void *it = json_object_iter((json_t *)fields); it;
         it = json_object_iter_next((json_t *)fields, it)) {
        const char *key = json_object_iter_key(it);
        size_t len = json_object_iter_key_len(it);
        if (!api_name_ok(key, len)) {
            seterr(errstr, errstr_size, "fields: \"%s\" is not a field API name",
                   printable(key, len, shown, sizeof(shown)));
            return BR_COMMAND_INVALID;
        }
        if ((len == 2 && strncasecmp(key, "id", 2) == 0) ||
            (len == 10 && strncasecmp(key, "attributes", 10) == 0)) {
            seterr(errstr, errstr_size,
                   "fields: \"%s\" is not allowed (the record id goes in \"id\"; sfbridge "
                   "writes attributes itself)",
                   printable(key, len, shown, sizeof(shown)));
            return BR_COMMAND_INVALID;
        }
    }
    return BR_COMMAND_OK;
}

static br_command_err_t check_external_id(const json_t *ext, br_command_t *cmd, char *errstr,
                                          size_t errstr_size)
{
    char shown[128];
    if (!json_is_object(ext)) {
        seterr(errstr, errstr_size, "external_id: must be an object {field, value}, not %s",
               type_name(ext));
        return BR_COMMAND_INVALID;
    }
    for (void *it = json_object_iter((json_t *)ext); it;
         it = json_object_iter_next((json_t *)ext, it)) {
        const char *key = json_object_iter_key(it);
        size_t len = json_object_iter_key_len(it);
        if (!(len == 5 && memcmp(key, "field", 5) == 0) &&
            !(len == 5 && memcmp(key, "value", 5) == 0)) {
            seterr(errstr, errstr_size,
                   "external_id: unknown member \"%s\" (expected field and value)",
                   printable(key, len, shown, sizeof(shown)));
            return BR_COMMAND_INVALID;
        }
    }
    const json_t *field = json_object_get(ext, "field");
    const json_t *value = json_object_get(ext, "value");
    if (!field) {
        seterr(errstr, errstr_size, "external_id.field: missing");
        return BR_COMMAND_INVALID;
    }
    if (!value) {
        seterr(errstr, errstr_size, "external_id.value: missing");
        return BR_COMMAND_INVALID;
    }
    if (check_string(field, "external_id.field", 1, BR_COMMAND_API_NAME_MAX, api_name_ok,
                     "a field API name", errstr, errstr_size) != 0 ||
        check_string(value, "external_id.value", 1, BR_COMMAND_EXT_VALUE_MAX, no_control_chars,
                     "free of control characters", errstr, errstr_size) != 0)
        return BR_COMMAND_INVALID;
    memcpy(cmd->ext_field, json_string_value(field), json_string_length(field) + 1);
    if (!(cmd->ext_value = dup_string(value))) {
        seterr(errstr, errstr_size, "out of memory");
        return BR_COMMAND_INVALID;
    }
    return BR_COMMAND_OK;
}

/* Validates a parsed document against command.v1 and fills cmd. */
static br_command_err_t validate(const json_t *root, br_command_t *cmd, char *errstr,
                                 size_t errstr_size)
{
    char shown[128];
    if (!json_is_object(root)) {
        seterr(errstr, errstr_size, "command: must be a JSON object, not %s", type_name(root));
        return BR_COMMAND_INVALID;
    }

    /* additionalProperties: false. Keys are compared with their length: a key
     * holding "\u0000" must not pass for its prefix. */
    unsigned present = 0;
    for (void *it = json_object_iter((json_t *)root); it;
         it = json_object_iter_next((json_t *)root, it)) {
        const char *key = json_object_iter_key(it);
        size_t len = json_object_iter_key_len(it);
        unsigned bit = 0;
        for (size_t i = 0; i < MEMBER_COUNT && !bit; i++)
            if (strlen(members[i].name) == len && memcmp(members[i].name, key, len) == 0)
                bit = members[i].bit;
        if (!bit) {
            seterr(errstr, errstr_size,
                   "\"%s\": unknown member (a command has op, sobject, id, external_id, "
                   "fields, soql, command_id)",
                   printable(key, len, shown, sizeof(shown)));
            return BR_COMMAND_INVALID;
        }
        present |= bit;
    }

    const json_t *op = json_object_get(root, "op");
    if (!op) {
        seterr(errstr, errstr_size, "op: missing");
        return BR_COMMAND_INVALID;
    }
    if (!json_is_string(op)) {
        seterr(errstr, errstr_size, "op: must be a string, not %s", type_name(op));
        return BR_COMMAND_INVALID;
    }
    size_t k;
    for (k = 0; k < OP_COUNT; k++)
        if (json_string_length(op) == strlen(op_names[k]) &&
            strcmp(json_string_value(op), op_names[k]) == 0)
            break;
    if (k == OP_COUNT) {
        seterr(errstr, errstr_size,
               "op: \"%s\" is not one of insert, update, upsert, delete, publish, query",
               printable(json_string_value(op), json_string_length(op), shown, sizeof(shown)));
        return BR_COMMAND_INVALID;
    }
    cmd->op = (br_op_t)k;
    const char *opname = op_names[k];

    const json_t *sobject = json_object_get(root, "sobject");
    if (!sobject) {
        seterr(errstr, errstr_size, "sobject: missing");
        return BR_COMMAND_INVALID;
    }
    if (check_string(sobject, "sobject", 1, BR_COMMAND_API_NAME_MAX, api_name_ok,
                     "an sObject API name", errstr, errstr_size) != 0)
        return BR_COMMAND_INVALID;
    size_t sobject_len = json_string_length(sobject);
    memcpy(cmd->sobject, json_string_value(sobject), sobject_len + 1);
    if (cmd->op == BR_OP_PUBLISH &&
        (sobject_len < 3 || memcmp(cmd->sobject + sobject_len - 3, "__e", 3) != 0)) {
        seterr(errstr, errstr_size,
               "sobject: \"%s\" is not a platform event (op publish needs a name ending __e)",
               cmd->sobject);
        return BR_COMMAND_INVALID;
    }

    const json_t *command_id = json_object_get(root, "command_id");
    if (command_id) {
        if (check_string(command_id, "command_id", 1, BR_COMMAND_COMMAND_ID_MAX, no_control_chars,
                         "free of control characters", errstr, errstr_size) != 0)
            return BR_COMMAND_INVALID;
        if (!(cmd->command_id = dup_string(command_id))) {
            seterr(errstr, errstr_size, "out of memory");
            return BR_COMMAND_INVALID;
        }
    }

    /* The op's own members: nothing it does not take, everything it needs. */
    unsigned extra = present & ~(M_OP | M_SOBJECT | M_COMMAND_ID) & ~op_rules[cmd->op].allowed;
    for (size_t i = 0; i < MEMBER_COUNT; i++) {
        if (extra & members[i].bit) {
            seterr(errstr, errstr_size, "%s: not allowed for op \"%s\"", members[i].name, opname);
            return BR_COMMAND_INVALID;
        }
    }
    unsigned missing = op_rules[cmd->op].required & ~present;
    for (unsigned bit = 1; bit <= M_COMMAND_ID; bit <<= 1) {
        if (missing & bit) {
            seterr(errstr, errstr_size, "%s: required for op \"%s\"", member_name(bit), opname);
            return BR_COMMAND_INVALID;
        }
    }

    const json_t *id = json_object_get(root, "id");
    if (id) {
        if (check_string(id, "id", 15, BR_COMMAND_ID_MAX, salesforce_id_ok,
                         "a Salesforce id (15 or 18 letters and digits)", errstr, errstr_size) != 0)
            return BR_COMMAND_INVALID;
        memcpy(cmd->id, json_string_value(id), json_string_length(id) + 1);
    }

    const json_t *ext = json_object_get(root, "external_id");
    if (ext) {
        br_command_err_t err = check_external_id(ext, cmd, errstr, errstr_size);
        if (err != BR_COMMAND_OK)
            return err;
    }

    json_t *fields = json_object_get(root, "fields");
    if (fields) {
        br_command_err_t err = check_fields(fields, errstr, errstr_size);
        if (err != BR_COMMAND_OK)
            return err;
        cmd->fields = json_incref(fields);
    }

    const json_t *soql = json_object_get(root, "soql");
    if (soql) {
        if (check_string(soql, "soql", 1, BR_COMMAND_SOQL_MAX, NULL, NULL, errstr, errstr_size) !=
            0)
            return BR_COMMAND_INVALID;
        if (strlen(json_string_value(soql)) != json_string_length(soql)) {
            seterr(errstr, errstr_size, "soql: must not contain a NUL character");
            return BR_COMMAND_INVALID;
        }
        if (!(cmd->soql = dup_string(soql))) {
            seterr(errstr, errstr_size, "out of memory");
            return BR_COMMAND_INVALID;
        }
    }
    return BR_COMMAND_OK;
}

br_command_err_t br_command_parse(const char *bytes, size_t len, const br_command_limits_t *limits,
                                  br_command_t **out, char *errstr, size_t errstr_size)
{
    br_command_err_t err = BR_COMMAND_OK;
    json_t *root = NULL;
    br_command_t *cmd = NULL;
    size_t max_bytes = BR_COMMAND_DEFAULT_MAX_BYTES;
    int max_depth = BR_COMMAND_DEFAULT_MAX_DEPTH;
    if (limits && limits->max_bytes > 0)
        max_bytes = limits->max_bytes;
    if (limits && limits->max_depth > 0)
        max_depth = limits->max_depth;

    *out = NULL;
    seterr(errstr, errstr_size, "ok");

    if (!bytes || len == 0) {
        seterr(errstr, errstr_size, "not JSON: empty input");
        err = BR_COMMAND_NOT_JSON;
        goto done;
    }
    if (len > max_bytes) {
        seterr(errstr, errstr_size, "too large: %zu bytes, over the limit of %zu", len, max_bytes);
        err = BR_COMMAND_TOO_LARGE;
        goto done;
    }
    size_t bad = utf8_check((const unsigned char *)bytes, len);
    if (bad < len) {
        seterr(errstr, errstr_size, "not JSON: invalid UTF-8 at byte %zu", bad);
        err = BR_COMMAND_NOT_JSON;
        goto done;
    }
    if (nesting_depth(bytes, len, max_depth) > max_depth) {
        seterr(errstr, errstr_size, "too large: nested deeper than %d levels", max_depth);
        err = BR_COMMAND_TOO_LARGE;
        goto done;
    }

    /* DECODE_ANY: a bare scalar is JSON, just not a command (INVALID, below).
     * ALLOW_NUL: "\u0000" is legal JSON and legal in field values; the
     * validation refuses it where it could cut a string short. */
    json_error_t jerr;
    char text[sizeof(jerr.text) * 4];
    root = json_loadb(bytes, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!root) {
        enum json_error_code code = json_error_code(&jerr);
        /* Duplicate names and out-of-range numbers are well-formed JSON that
         * I-JSON forbids, and jansson cannot hold a key containing "\u0000"
         * (no Salesforce name can either): the producer wrote JSON, just not
         * a command we take. */
        if (code == json_error_duplicate_key || code == json_error_numeric_overflow ||
            code == json_error_null_byte_in_key) {
            seterr(errstr, errstr_size, "%s (line %d, column %d)",
                   one_line(jerr.text, text, sizeof(text)), jerr.line, jerr.column);
            err = BR_COMMAND_INVALID;
        } else {
            seterr(errstr, errstr_size, "not JSON: %s (line %d, column %d)",
                   one_line(jerr.text, text, sizeof(text)), jerr.line, jerr.column);
            err = BR_COMMAND_NOT_JSON;
        }
        goto done;
    }

    if (!(cmd = calloc(1, sizeof(*cmd)))) {
        seterr(errstr, errstr_size, "out of memory");
        err = BR_COMMAND_INVALID;
        goto done;
    }
    err = validate(root, cmd, errstr, errstr_size);
    if (err != BR_COMMAND_OK)
        goto done;
    *out = cmd;
    cmd = NULL;

done:
    br_command_destroy(cmd);
    json_decref(root);
    return err;
}

void br_command_destroy(br_command_t *cmd)
{
    if (!cmd)
        return;
    free(cmd->ext_value);
    free(cmd->command_id);
    free(cmd->soql);
    json_decref(cmd->fields);
    free(cmd);
}

const char *br_command_effective_id(const br_command_t *cmd, const char *topic, int32_t partition,
                                    int64_t offset, char *buf, size_t buf_size)
{
    if (buf_size == 0)
        return buf;
    if (cmd && cmd->command_id)
        snprintf(buf, buf_size, "%s", cmd->command_id);
    else
        snprintf(buf, buf_size, "%s/%" PRId32 "/%" PRId64, topic ? topic : "", partition, offset);
    return buf;
}

/* ---- results ---- */

/* Sets obj[key] to a string, checking UTF-8 and the schema's length bounds. */
/* Writes `"key":"s"` (with a leading comma unless first), checking that s
 * is UTF-8 of min..max characters. */
static int put_string(sfb_buf_t *b, bool first, const char *key, const char *s, size_t min,
                      size_t max, char *errstr, size_t errstr_size)
{
    if (!s) {
        seterr(errstr, errstr_size, "%s: missing", key);
        return -1;
    }
    size_t len = strlen(s);
    if (!first)
        sfb_buf_append(b, ",", 1);
    sfb_buf_json_cstring(b, key);
    sfb_buf_append(b, ":", 1);
    if (sfb_buf_json_string(b, s, len) != 0) {
        seterr(errstr, errstr_size, "%s: not valid UTF-8", key);
        return -1;
    }
    size_t chars = utf8_codepoints(s, len);
    if (chars < min || chars > max) {
        seterr(errstr, errstr_size, "%s: %zu characters, outside %zu..%zu", key, chars, min, max);
        return -1;
    }
    return 0;
}

static int put_errors(sfb_buf_t *b, const br_result_t *r, char *errstr, size_t errstr_size)
{
    sfb_buf_puts(b, ",\"errors\":[");
    for (size_t i = 0; i < r->errors_count; i++) {
        const br_result_error_t *e = &r->errors[i];
        sfb_buf_puts(b, i ? ",{" : "{");
        if (put_string(b, true, "code", e->code, 1, 255, errstr, errstr_size) != 0 ||
            put_string(b, false, "message", e->message ? e->message : "", 0, SIZE_MAX, errstr,
                       errstr_size) != 0)
            return -1;
        sfb_buf_puts(b, ",\"fields\":[");
        for (size_t f = 0; f < e->fields_count; f++) {
            if (f)
                sfb_buf_append(b, ",", 1);
            if (!e->fields[f] || sfb_buf_json_cstring(b, e->fields[f]) != 0) {
                seterr(errstr, errstr_size, "errors[%zu].fields[%zu]: missing or not UTF-8", i, f);
                return -1;
            }
        }
        sfb_buf_puts(b, "]}");
    }
    sfb_buf_append(b, "]", 1);
    return 0;
}

int br_result_to_json(const br_result_t *r, char **out, char *errstr, size_t errstr_size)
{
    int rc = -1;
    sfb_buf_t b;
    sfb_buf_init(&b);
    *out = NULL;

    /* The schema's cross-member rules first: a result the schema would reject
     * is a bug in the caller, and better refused here than published. */
    if ((unsigned)r->op >= OP_COUNT) {
        seterr(errstr, errstr_size, "op: %d is not an op", (int)r->op);
        goto done;
    }
    if (r->attempts < 1) {
        seterr(errstr, errstr_size, "attempts: %d, must be at least 1", r->attempts);
        goto done;
    }
    if (r->partition < 0 || r->offset < 0) {
        seterr(errstr, errstr_size, "source: partition and offset must not be negative");
        goto done;
    }
    if (r->ok && r->errors_count > 0) {
        seterr(errstr, errstr_size, "errors: an ok result carries no errors");
        goto done;
    }
    if (!r->ok && r->errors_count == 0) {
        seterr(errstr, errstr_size, "errors: an error result needs at least one error");
        goto done;
    }
    if (r->ok && r->op != BR_OP_QUERY && !r->id) {
        seterr(errstr, errstr_size, "id: required for an ok %s result", op_names[r->op]);
        goto done;
    }
    if (r->id && !salesforce_id_ok(r->id, strlen(r->id))) {
        seterr(errstr, errstr_size, "id: not a Salesforce id");
        goto done;
    }
    if (r->rows >= 0 && r->op != BR_OP_QUERY) {
        seterr(errstr, errstr_size, "rows: only a query result has rows");
        goto done;
    }

    /* Written straight into one buffer (the hot path: one result per
     * command), members in the schema's order. */
    sfb_buf_append(&b, "{", 1);
    if (put_string(&b, true, "command_id", r->command_id, 1, 512, errstr, errstr_size) != 0 ||
        put_string(&b, false, "org", r->org, 1, 255, errstr, errstr_size) != 0)
        goto done;
    sfb_buf_puts(&b, ",\"source\":{");
    if (put_string(&b, true, "topic", r->topic, 1, 249, errstr, errstr_size) != 0)
        goto done;
    sfb_buf_puts(&b, ",\"partition\":");
    sfb_buf_int(&b, r->partition);
    sfb_buf_puts(&b, ",\"offset\":");
    sfb_buf_int(&b, r->offset);
    sfb_buf_puts(&b, "},\"op\":\"");
    sfb_buf_puts(&b, op_names[r->op]);
    sfb_buf_append(&b, "\"", 1);
    if (put_string(&b, false, "sobject", r->sobject, 1, BR_COMMAND_API_NAME_MAX, errstr,
                   errstr_size) != 0)
        goto done;
    sfb_buf_puts(&b, r->ok ? ",\"status\":\"ok\"" : ",\"status\":\"error\"");
    if (r->id) { /* checked above: 15 or 18 alphanumerics */
        sfb_buf_puts(&b, ",\"id\":\"");
        sfb_buf_puts(&b, r->id);
        sfb_buf_append(&b, "\"", 1);
    }
    if (r->created >= 0)
        sfb_buf_puts(&b, r->created ? ",\"created\":true" : ",\"created\":false");
    if (r->rows >= 0) {
        sfb_buf_puts(&b, ",\"rows\":");
        sfb_buf_int(&b, r->rows);
    }
    if (put_errors(&b, r, errstr, errstr_size) != 0)
        goto done;
    sfb_buf_puts(&b, ",\"attempts\":");
    sfb_buf_int(&b, r->attempts);
    sfb_buf_append(&b, "}", 1);
    if (!(*out = sfb_buf_steal(&b))) {
        seterr(errstr, errstr_size, "out of memory");
        goto done;
    }
    rc = 0;

done:
    sfb_buf_free(&b);
    return rc;
}
