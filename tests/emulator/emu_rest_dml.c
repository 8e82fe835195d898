/*
 * emu_rest_dml.c - create, update, upsert and delete of one record with
 * Salesforce's validation and error codes, shared by the sObject REST
 * resources, sObject Collections, composite and the control API's loader.
 *
 * Every function here runs with the store's write lock held by the caller,
 * and journals its changes in ctx->txn (if any) so allOrNone can roll back.
 */
#include "emu_cometd.h"
#include "emu_int.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

/* The unsigned modulos bound every field so the 32-byte buffer provably fits. */
static void emu_iso_format(char out[32], const struct tm *tm, int ms)
{
    snprintf(out, 32, "%04u-%02u-%02uT%02u:%02u:%02u.%03u+0000",
             (unsigned)(tm->tm_year + 1900) % 10000u, (unsigned)(tm->tm_mon + 1) % 100u,
             (unsigned)tm->tm_mday % 100u, (unsigned)tm->tm_hour % 100u,
             (unsigned)tm->tm_min % 100u, (unsigned)tm->tm_sec % 100u, (unsigned)ms % 1000u);
}

void emu_now_iso(char out[32])
{
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    emu_iso_format(out, &tm, (int)(tv.tv_usec / 1000));
}

void emu_dml_error(json_t *errors, const char *code, const char *fields_csv, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_t *fields = json_array();
    if (fields_csv && *fields_csv) {
        char buf[1024];
        snprintf(buf, sizeof(buf), "%s", fields_csv);
        char *save = NULL;
        for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
            json_array_append_new(fields, json_string(t));
    }
    json_array_append_new(
        errors, json_pack("{s:s,s:s,s:o}", "statusCode", code, "message", msg, "fields", fields));
}

int emu_dml_status(const char *code)
{
    if (!code)
        return 400;
    if (!strcmp(code, "NOT_FOUND") || !strcmp(code, "ENTITY_IS_DELETED"))
        return 404;
    if (!strcmp(code, "INVALID_SESSION_ID"))
        return 401;
    if (!strcmp(code, "REQUEST_LIMIT_EXCEEDED") || !strcmp(code, "INSUFFICIENT_ACCESS"))
        return 403;
    return 400;
}

json_t *emu_dml_top_errors(const json_t *errors)
{
    json_t *out = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e)
    {
        json_t *o = json_pack("{s:O,s:O}", "message", json_object_get(e, "message"), "errorCode",
                              json_object_get(e, "statusCode"));
        json_t *fields = json_object_get(e, "fields");
        if (json_array_size(fields) > 0)
            json_object_set(o, "fields", fields);
        json_array_append_new(out, o);
    }
    return out;
}

static size_t emu_utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

static const char *emu_field_label(const emu_field_t *f)
{
    const char *l = json_string_value(json_object_get(f->def, "label"));
    return l ? l : f->name;
}

static bool emu_parse_digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static bool emu_valid_date(const char *s, int *y, int *mo, int *d)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (!emu_parse_digits(s, 4, y) || s[4] != '-' || !emu_parse_digits(s + 5, 2, mo) ||
        s[7] != '-' || !emu_parse_digits(s + 8, 2, d))
        return false;
    return *mo >= 1 && *mo <= 12 && *d >= 1 && *d <= mdays[*mo - 1];
}

/* Accepts ISO 8601 forms Salesforce accepts and writes the UTC form it returns. */
static bool emu_normalize_datetime(const char *s, char out[32])
{
    int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0;
    if (!emu_valid_date(s, &y, &mo, &d))
        return false;
    const char *p = s + 10;
    int off_min = 0;
    if (*p == 'T') {
        if (!emu_parse_digits(p + 1, 2, &h) || p[3] != ':' || !emu_parse_digits(p + 4, 2, &mi))
            return false;
        p += 6;
        if (*p == ':') {
            if (!emu_parse_digits(p + 1, 2, &sec))
                return false;
            p += 3;
            if (*p == '.') {
                p++;
                int digits = 0;
                ms = 0;
                while (isdigit((unsigned char)*p)) {
                    if (digits < 3)
                        ms = ms * 10 + (*p - '0');
                    digits++;
                    p++;
                }
                for (; digits < 3; digits++)
                    ms *= 10;
            }
        }
        if (*p == 'Z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int oh, om;
            int sign = *p == '-' ? -1 : 1;
            if (!emu_parse_digits(p + 1, 2, &oh))
                return false;
            p += 3;
            if (*p == ':')
                p++;
            if (!emu_parse_digits(p, 2, &om))
                return false;
            p += 2;
            off_min = sign * (oh * 60 + om);
        }
    }
    if (*p != '\0' || h > 23 || mi > 59 || sec > 60)
        return false;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = sec};
    time_t t = timegm(&tm) - off_min * 60;
    gmtime_r(&t, &tm);
    emu_iso_format(out, &tm, ms);
    return true;
}

static const char *emu_json_token(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        return "VALUE_STRING";
    case JSON_INTEGER:
        return "VALUE_NUMBER_INT";
    case JSON_REAL:
        return "VALUE_NUMBER_FLOAT";
    case JSON_TRUE:
        return "VALUE_TRUE";
    case JSON_FALSE:
        return "VALUE_FALSE";
    case JSON_OBJECT:
        return "START_OBJECT";
    case JSON_ARRAY:
        return "START_ARRAY";
    default:
        return "VALUE_NULL";
    }
}

static void emu_parser_error(json_t *errors, const char *type, const json_t *v)
{
    char *text = json_is_string(v) ? strdup(json_string_value(v))
                                   : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    emu_dml_error(errors, "JSON_PARSER_ERROR", NULL,
                  "Cannot deserialize instance of %s from %s value %s or request may be missing "
                  "a required field",
                  type, emu_json_token(v), text ? text : "");
    free(text);
}

/* Converts a JSON value given for field f into the stored form. Returns NULL
 * (with an error appended) when Salesforce would reject it. */
static json_t *emu_convert(emu_dml_ctx_t *ctx, const emu_field_t *f, const json_t *v,
                           json_t *errors)
{
    const char *t = f->type;
    if (json_is_null(v))
        return !strcmp(t, "boolean") ? json_false() : json_null();
    if (json_is_object(v) || json_is_array(v)) {
        emu_parser_error(errors, t, v);
        return NULL;
    }
    if (!strcmp(t, "boolean")) {
        if (json_is_boolean(v))
            return json_incref((json_t *)v);
        if (json_is_string(v) && !strcasecmp(json_string_value(v), "true"))
            return json_true();
        if (json_is_string(v) && !strcasecmp(json_string_value(v), "false"))
            return json_false();
        emu_parser_error(errors, "boolean", v);
        return NULL;
    }
    if (!strcmp(t, "int") || !strcmp(t, "double") || !strcmp(t, "currency") ||
        !strcmp(t, "percent")) {
        double d;
        if (json_is_number(v)) {
            d = json_number_value(v);
        } else if (json_is_string(v)) {
            char *end = NULL;
            d = strtod(json_string_value(v), &end);
            if (!end || *end || end == json_string_value(v)) {
                emu_parser_error(errors, !strcmp(t, "int") ? "int" : "double", v);
                return NULL;
            }
        } else {
            emu_parser_error(errors, t, v);
            return NULL;
        }
        if (!strcmp(t, "int")) {
            if (d != (double)(long long)d) {
                emu_parser_error(errors, "int", v);
                return NULL;
            }
            return json_integer((json_int_t)d);
        }
        return json_real(d);
    }
    /* Everything else travels as a string. */
    char num[64];
    const char *s;
    if (json_is_string(v)) {
        s = json_string_value(v);
    } else if (json_is_integer(v)) {
        snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
        s = num;
    } else if (json_is_real(v)) {
        snprintf(num, sizeof(num), "%g", json_real_value(v));
        s = num;
    } else {
        s = json_is_true(v) ? "true" : "false";
    }
    if (!strcmp(t, "date")) {
        int y, mo, d;
        if (strlen(s) != 10 || !emu_valid_date(s, &y, &mo, &d)) {
            emu_parser_error(errors, "date", v);
            return NULL;
        }
        return json_string(s);
    }
    if (!strcmp(t, "datetime")) {
        char out[32];
        if (!emu_normalize_datetime(s, out)) {
            emu_parser_error(errors, "datetime", v);
            return NULL;
        }
        return json_string(out);
    }
    if (!strcmp(t, "id") || !strcmp(t, "reference")) {
        char id[19];
        if (*s == '\0')
            return json_null();
        if (emu_id_normalize(s, id) != 0) {
            emu_dml_error(errors, "MALFORMED_ID", f->name, "%s: id value of incorrect type: %s",
                          emu_field_label(f), s);
            return NULL;
        }
        json_t *refs = json_object_get(f->def, "referenceTo");
        size_t i;
        json_t *r;
        bool known = false, prefix_ok = json_array_size(refs) == 0;
        json_array_foreach(refs, i, r)
        {
            const emu_sobject_t *target = emu_schema_find(ctx->emu->schema, json_string_value(r));
            if (!target) {
                prefix_ok = true; /* a type sfemu does not model (Group, RecordType) */
                continue;
            }
            known = true;
            if (emu_id_has_prefix(id, target->key_prefix))
                prefix_ok = true;
        }
        if (!prefix_ok) {
            emu_dml_error(errors, "MALFORMED_ID", f->name, "%s: id value of incorrect type: %s",
                          emu_field_label(f), s);
            return NULL;
        }
        if (known && !ctx->trusted) {
            json_t *target = emu_store_get(ctx->emu->store, id);
            if ((!target || json_is_true(json_object_get(target, "IsDeleted"))) &&
                emu_schema_by_prefix(ctx->emu->schema, id)) {
                emu_dml_error(errors, "INVALID_CROSS_REFERENCE_KEY", f->name,
                              "invalid cross reference id");
                return NULL;
            }
        }
        return json_string(id);
    }
    if (f->length > 0 && emu_utf8_len(s) > (size_t)f->length) {
        emu_dml_error(errors, "STRING_TOO_LONG", f->name,
                      "%s: data value too large: %.200s (max length=%d)", emu_field_label(f), s,
                      f->length);
        return NULL;
    }
    if (!strcmp(t, "email") && *s) {
        const char *at = strchr(s, '@');
        if (!at || at == s || !strchr(at, '.') || strchr(s, ' ')) {
            emu_dml_error(errors, "INVALID_EMAIL_ADDRESS", f->name, "%s: invalid email address: %s",
                          emu_field_label(f), s);
            return NULL;
        }
    }
    return json_string(s);
}

static bool emu_is_system_field(const char *name)
{
    static const char *const sys[] = {"Id",
                                      "IsDeleted",
                                      "CreatedDate",
                                      "CreatedById",
                                      "LastModifiedDate",
                                      "LastModifiedById",
                                      "SystemModstamp",
                                      "ReplayId",
                                      "EventUuid"};
    for (size_t i = 0; i < sizeof(sys) / sizeof(sys[0]); i++)
        if (!strcmp(sys[i], name))
            return true;
    return false;
}

/* Validates and converts `fields` into `out` (field name -> stored value). */
static int emu_dml_fields(emu_dml_ctx_t *ctx, const emu_sobject_t *so, const json_t *fields,
                          bool create, const char *self_id, json_t *out, json_t *errors)
{
    size_t before = json_array_size(errors);
    const char *key;
    json_t *v;
    char denied[1024] = "";
    json_object_foreach((json_t *)fields, key, v)
    {
        if (!strcmp(key, "attributes"))
            continue;
        const emu_field_t *f = emu_schema_field(so, key);
        if (!f) {
            emu_dml_error(errors, "INVALID_FIELD", NULL,
                          "No such column '%s' on sobject of type %s", key, so->name);
            return -1;
        }
        if (!create && !strcmp(f->name, "Id")) {
            char id[19];
            if (json_is_string(v) && self_id && emu_id_normalize(json_string_value(v), id) == 0 &&
                !strcmp(id, self_id))
                continue; /* the record's own id in an update body is allowed */
        }
        bool allowed = create ? f->createable : f->updateable;
        if (ctx->trusted && emu_is_system_field(f->name))
            allowed = true;
        if (!allowed) {
            size_t len = strlen(denied);
            snprintf(denied + len, sizeof(denied) - len, "%s%s", len ? "," : "", f->name);
            continue;
        }
        json_t *conv = emu_convert(ctx, f, v, errors);
        if (!conv)
            continue;
        json_object_set_new(out, f->name, conv);
    }
    if (*denied) {
        char msg[1200];
        snprintf(msg, sizeof(msg), "%s", denied);
        for (char *p = msg; *p; p++)
            if (*p == ',')
                *p = ' ';
        emu_dml_error(errors, "INVALID_FIELD_FOR_INSERT_UPDATE", denied,
                      "Unable to %s fields: %s. Please check the security settings of this field "
                      "and verify that it is read/write for your profile or permission set.",
                      create ? "create" : "update", msg);
    }
    return json_array_size(errors) > before ? -1 : 0;
}

static int emu_dml_check_required(const emu_sobject_t *so, const json_t *rec, json_t *errors)
{
    char missing[1024] = "", shown[1100];
    for (size_t i = 0; i < so->nfields; i++) {
        const emu_field_t *f = &so->fields[i];
        if (f->nillable || !f->createable || f->defaulted || !strcmp(f->type, "boolean"))
            continue;
        const json_t *v = json_object_get(rec, f->name);
        if (v && !json_is_null(v) && !(json_is_string(v) && !*json_string_value(v)))
            continue;
        size_t len = strlen(missing);
        snprintf(missing + len, sizeof(missing) - len, "%s%s", len ? "," : "", f->name);
    }
    if (!*missing)
        return 0;
    size_t o = 0;
    for (const char *p = missing; *p && o + 3 < sizeof(shown); p++) {
        if (*p == ',') {
            shown[o++] = ',';
            shown[o++] = ' ';
        } else {
            shown[o++] = *p;
        }
    }
    shown[o] = '\0';
    emu_dml_error(errors, "REQUIRED_FIELD_MISSING", missing, "Required fields are missing: [%s]",
                  shown);
    return -1;
}

static int emu_dml_check_unique(emu_dml_ctx_t *ctx, const emu_sobject_t *so, const json_t *rec,
                                const char *self_id, json_t *errors)
{
    for (size_t i = 0; i < so->nfields; i++) {
        const emu_field_t *f = &so->fields[i];
        if (!f->unique)
            continue;
        const json_t *v = json_object_get(rec, f->name);
        char num[64];
        const char *s = json_string_value(v);
        if (json_is_number(v)) {
            snprintf(num, sizeof(num), "%lld", (long long)json_number_value(v));
            s = num;
        }
        if (!s || !*s)
            continue;
        json_t *hits[2];
        size_t n = emu_store_find(ctx->emu->store, so, f, s, hits, 2);
        for (size_t k = 0; k < n && k < 2; k++) {
            const char *hid = json_string_value(json_object_get(hits[k], "Id"));
            if (self_id && hid && !strcmp(hid, self_id))
                continue;
            emu_dml_error(errors, "DUPLICATE_VALUE", f->name,
                          "duplicate value found: %s duplicates value on record with id: %s",
                          f->name, hid ? hid : "");
            return -1;
        }
    }
    return 0;
}

/* Contact, Lead and User derive Name from FirstName and LastName. */
static void emu_dml_compound_name(const emu_sobject_t *so, json_t *rec)
{
    const emu_field_t *name = emu_schema_field(so, "Name");
    if (!name || name->createable || !emu_schema_field(so, "LastName"))
        return;
    const char *first = json_string_value(json_object_get(rec, "FirstName"));
    const char *last = json_string_value(json_object_get(rec, "LastName"));
    char buf[512];
    snprintf(buf, sizeof(buf), "%s%s%s", first ? first : "", first && last ? " " : "",
             last ? last : "");
    json_object_set_new(rec, "Name", json_string(buf));
}

static void emu_uuid(char out[37])
{
    unsigned char b[16];
    for (int i = 0; i < 16; i++)
        b[i] = (unsigned char)(random() & 0xff);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

int emu_dml_create(emu_dml_ctx_t *ctx, const emu_sobject_t *so, const json_t *fields,
                   char id_out[19], json_t *errors)
{
    int rc = -1;
    json_t *rec = json_object();
    json_t *given = json_object();
    if (!json_is_object(fields)) {
        emu_parser_error(errors, so->name, fields);
        goto done;
    }
    if (!so->createable) {
        emu_dml_error(errors, "INVALID_TYPE", NULL, "sObject type '%s' is not supported.",
                      so->name);
        goto done;
    }
    if (!ctx->trusted && json_object_get(fields, "Id") &&
        !json_is_null(json_object_get(fields, "Id"))) {
        emu_dml_error(errors, "INVALID_FIELD_FOR_INSERT_UPDATE", "Id",
                      "Record ID: cannot specify Id in an insert call");
        goto done;
    }
    if (emu_dml_fields(ctx, so, fields, true, NULL, given, errors) != 0)
        goto done;
    /* Unset fields are left out (readers treat a missing key as null), except
     * booleans, which Salesforce never reports as null. Storing ~40 nulls per
     * record halved the collections throughput. */
    for (size_t i = 0; i < so->nfields; i++)
        if (so->fields[i].is_boolean)
            json_object_set_new(rec, so->fields[i].name, json_false());
    json_object_update(rec, given);
    for (size_t i = 0; i < so->nfields; i++) {
        const json_t *dv = so->fields[i].default_value;
        if (dv && !json_object_get(given, so->fields[i].name))
            json_object_set(rec, so->fields[i].name, (json_t *)dv);
    }
    if (emu_dml_check_required(so, rec, errors) != 0)
        goto done;
    char id[19];
    const char *given_id = json_string_value(json_object_get(given, "Id"));
    if (given_id) {
        snprintf(id, sizeof(id), "%s", given_id);
        if (!emu_id_has_prefix(id, so->key_prefix) || emu_store_get(ctx->emu->store, id)) {
            emu_dml_error(errors, "DUPLICATE_VALUE", "Id",
                          "duplicate value found: Id duplicates value on record with id: %s", id);
            goto done;
        }
    } else {
        emu_id_make(so->key_prefix, emu_store_next_seq(ctx->emu->store, so), id);
    }
    if (emu_dml_check_unique(ctx, so, rec, NULL, errors) != 0)
        goto done;
    char now[32];
    emu_now_iso(now);
    const char *user = ctx->sess ? ctx->sess->user_id : ctx->emu->default_user_id;
    json_object_set_new(rec, "Id", json_string(id));
    /* One JSON string each for the time and the user, shared by the fields
     * (values are immutable once stored): fewer allocations per record. */
    json_t *jnow = json_string(now), *juser = *user ? json_string(user) : NULL;
    struct {
        const char *name;
        json_t *value;
    } sys[] = {{"CreatedDate", jnow},  {"LastModifiedDate", jnow},  {"SystemModstamp", jnow},
               {"CreatedById", juser}, {"LastModifiedById", juser}, {"OwnerId", juser}};
    for (size_t i = 0; i < sizeof(sys) / sizeof(sys[0]); i++) {
        if (!sys[i].value || !emu_schema_field(so, sys[i].name))
            continue;
        json_t *cur = json_object_get(rec, sys[i].name);
        if (ctx->trusted && json_is_string(cur))
            continue;
        if (!strcmp(sys[i].name, "OwnerId") && json_is_string(cur))
            continue;
        json_object_set(rec, sys[i].name, sys[i].value);
    }
    json_decref(jnow);
    json_decref(juser);
    if (emu_schema_field(so, "IsDeleted") && !json_is_true(json_object_get(given, "IsDeleted")))
        json_object_set_new(rec, "IsDeleted", json_false());
    if (so->is_event) {
        /* The replay id is the bus's, given when the event is published
         * (after the transaction commits): see emu_cometd_events.c. */
        char uuid[37];
        emu_uuid(uuid);
        if (emu_schema_field(so, "EventUuid"))
            json_object_set_new(rec, "EventUuid", json_string(uuid));
    }
    emu_dml_compound_name(so, rec);
    /* A custom object's Name defaults to the record id; auto-number fields count up. */
    const emu_field_t *name_f = emu_schema_field(so, "Name");
    if (so->custom && name_f && name_f->createable && json_is_null(json_object_get(rec, "Name")))
        json_object_set_new(rec, "Name", json_string(id));
    for (size_t i = 0; i < so->nfields; i++)
        if (so->fields[i].auto_number && json_is_null(json_object_get(rec, so->fields[i].name)))
            json_object_set_new(
                rec, so->fields[i].name,
                json_sprintf("%08llu",
                             (unsigned long long)(1000 + emu_store_next_seq(ctx->emu->store, so))));
    if (emu_store_insert(ctx->emu->store, so, rec, ctx->txn) != 0) {
        emu_dml_error(errors, "UNKNOWN_EXCEPTION", NULL, "out of memory");
        goto done;
    }
    emu_cometd_on_change(ctx, so, rec, NULL, EMU_CHANGE_CREATE); /* CDC, PushTopic, events */
    memcpy(id_out, id, 19);
    rc = 0;
done:
    json_decref(rec);
    json_decref(given);
    return rc;
}

/* Finds a live record of type so (or any type when so is NULL) for a write. */
static json_t *emu_dml_target(emu_dml_ctx_t *ctx, const emu_sobject_t *so, const char *id_in,
                              char id[19], json_t *errors)
{
    if (emu_id_normalize(id_in, id) != 0) {
        emu_dml_error(errors, "MALFORMED_ID", NULL, "malformed id %s", id_in ? id_in : "");
        return NULL;
    }
    const emu_sobject_t *type = emu_schema_by_prefix(ctx->emu->schema, id);
    if (!type || (so && type != so)) {
        if (so)
            emu_dml_error(errors, "MALFORMED_ID", "Id", "%s ID: id value of incorrect type: %s",
                          so->name, id_in);
        else
            emu_dml_error(errors, "MALFORMED_ID", NULL, "malformed id %s", id_in);
        return NULL;
    }
    json_t *rec = emu_store_get(ctx->emu->store, id);
    if (!rec) {
        emu_dml_error(errors, "NOT_FOUND", NULL, "The requested resource does not exist");
        return NULL;
    }
    if (json_is_true(json_object_get(rec, "IsDeleted"))) {
        emu_dml_error(errors, "ENTITY_IS_DELETED", NULL, "entity is deleted");
        return NULL;
    }
    return rec;
}

static int emu_dml_apply_update(emu_dml_ctx_t *ctx, const emu_sobject_t *so, json_t *rec,
                                const char *id, const json_t *fields, json_t *errors)
{
    int rc = -1;
    json_t *changes = json_object();
    json_t *merged = NULL;
    if (!json_is_object(fields)) {
        emu_parser_error(errors, so->name, fields);
        goto done;
    }
    if (!so->updateable) {
        emu_dml_error(errors, "INVALID_TYPE", NULL, "sObject type '%s' is not supported.",
                      so->name);
        goto done;
    }
    if (emu_dml_fields(ctx, so, fields, false, id, changes, errors) != 0)
        goto done;
    merged = json_copy(rec);
    json_object_update(merged, changes);
    /* An update may not blank a required field. */
    for (size_t i = 0; i < so->nfields; i++) {
        const emu_field_t *f = &so->fields[i];
        json_t *v = json_object_get(changes, f->name);
        if (v && json_is_null(v) && !f->nillable && strcmp(f->type, "boolean") != 0) {
            emu_dml_error(errors, "REQUIRED_FIELD_MISSING", f->name,
                          "Required fields are missing: [%s]", f->name);
            goto done;
        }
    }
    if (emu_dml_check_unique(ctx, so, merged, id, errors) != 0)
        goto done;
    char now[32];
    emu_now_iso(now);
    const char *user = ctx->sess ? ctx->sess->user_id : ctx->emu->default_user_id;
    json_object_set_new(changes, "LastModifiedDate", json_string(now));
    json_object_set_new(changes, "SystemModstamp", json_string(now));
    if (*user)
        json_object_set_new(changes, "LastModifiedById", json_string(user));
    emu_dml_compound_name(so, merged);
    if (json_object_get(merged, "Name") && !emu_schema_field(so, "Name")->createable)
        json_object_set(changes, "Name", json_object_get(merged, "Name"));
    emu_cometd_on_change(ctx, so, rec, changes, EMU_CHANGE_UPDATE); /* before: it diffs */
    emu_store_update(ctx->emu->store, so, rec, changes, ctx->txn);
    rc = 0;
done:
    json_decref(changes);
    json_decref(merged);
    return rc;
}

int emu_dml_update(emu_dml_ctx_t *ctx, const emu_sobject_t *so, const char *id_in,
                   const json_t *fields, json_t *errors)
{
    char id[19];
    json_t *rec = emu_dml_target(ctx, so, id_in, id, errors);
    if (!rec)
        return -1;
    return emu_dml_apply_update(ctx, emu_store_type_of(ctx->emu->store, rec), rec, id, fields,
                                errors);
}

int emu_dml_delete(emu_dml_ctx_t *ctx, const char *id_in, json_t *errors)
{
    char id[19];
    json_t *rec = emu_dml_target(ctx, NULL, id_in, id, errors);
    if (!rec)
        return -1;
    const emu_sobject_t *so = emu_store_type_of(ctx->emu->store, rec);
    if (!so->deletable) {
        emu_dml_error(errors, "INVALID_TYPE", NULL, "sObject type '%s' is not supported.",
                      so->name);
        return -1;
    }
    char now[32];
    emu_now_iso(now);
    json_t *changes =
        json_pack("{s:b,s:s,s:s}", "IsDeleted", 1, "SystemModstamp", now, "LastModifiedDate", now);
    emu_cometd_on_change(ctx, so, rec, changes, EMU_CHANGE_DELETE);
    emu_store_update(ctx->emu->store, so, rec, changes, ctx->txn);
    json_decref(changes);
    return 0;
}

int emu_dml_undelete(emu_dml_ctx_t *ctx, const char *id_in, char id_out[19], json_t *errors)
{
    char id[19];
    if (!id_in || emu_id_normalize(id_in, id) != 0) {
        emu_dml_error(errors, "MALFORMED_ID", NULL, "malformed id %s", id_in ? id_in : "");
        return -1;
    }
    json_t *rec = emu_store_get(ctx->emu->store, id);
    if (!rec) {
        emu_dml_error(errors, "INVALID_ID_FIELD", NULL, "invalid record id");
        return -1;
    }
    if (!json_is_true(json_object_get(rec, "IsDeleted"))) {
        emu_dml_error(errors, "UNDELETE_FAILED", NULL, "Entity is not in the recycle bin");
        return -1;
    }
    const emu_sobject_t *so = emu_store_type_of(ctx->emu->store, rec);
    char now[32];
    emu_now_iso(now);
    json_t *changes =
        json_pack("{s:b,s:s,s:s}", "IsDeleted", 0, "SystemModstamp", now, "LastModifiedDate", now);
    emu_cometd_on_change(ctx, so, rec, changes, EMU_CHANGE_UNDELETE);
    emu_store_update(ctx->emu->store, so, rec, changes, ctx->txn);
    json_decref(changes);
    memcpy(id_out, id, 19);
    return 0;
}

int emu_dml_upsert(emu_dml_ctx_t *ctx, const emu_sobject_t *so, const emu_field_t *f,
                   const char *value, const json_t *fields, char id_out[19], bool *created,
                   json_t *errors, json_t *matches)
{
    json_t *hits[16];
    size_t n = 0;
    if (!strcmp(f->name, "Id")) {
        char id[19];
        json_t *rec = (value && *value && emu_id_normalize(value, id) == 0)
                          ? emu_store_get(ctx->emu->store, id)
                          : NULL;
        if (rec && !json_is_true(json_object_get(rec, "IsDeleted")) &&
            emu_store_type_of(ctx->emu->store, rec) == so)
            hits[n++] = rec;
        else if (value && *value) {
            emu_dml_error(errors, "NOT_FOUND", NULL, "The requested resource does not exist");
            return -1;
        }
    } else if (value && *value) {
        n = emu_store_find(ctx->emu->store, so, f, value, hits, 16);
    }
    if (n > 1) {
        for (size_t i = 0; i < n && i < 16 && matches; i++)
            json_array_append(matches, json_object_get(hits[i], "Id"));
        emu_dml_error(errors, "MULTIPLE_RECORDS_FOUND", f->name,
                      "More than one record found for external id field %s: %s", f->name, value);
        return -1;
    }
    json_t *body = json_deep_copy(fields);
    if (!json_is_object(body)) {
        json_decref(body);
        emu_parser_error(errors, so->name, fields);
        return -1;
    }
    int rc;
    if (n == 0) {
        /* The external id from the URL becomes the new record's value. */
        if (strcmp(f->name, "Id") != 0 && value && *value)
            json_object_set_new(body, f->name, json_string(value));
        rc = emu_dml_create(ctx, so, body, id_out, errors);
        *created = true;
    } else {
        const char *id = json_string_value(json_object_get(hits[0], "Id"));
        json_t *given = json_object_get(body, f->name);
        if (given && strcmp(f->name, "Id") != 0)
            json_object_del(body, f->name); /* the matching value itself is not an update */
        rc = emu_dml_apply_update(ctx, so, hits[0], id, body, errors);
        snprintf(id_out, 19, "%s", id);
        *created = false;
    }
    json_decref(body);
    return rc;
}

json_t *emu_record_view(const emu_sobject_t *so, const json_t *rec, const char *version,
                        const char *fields_csv, char *bad_field, size_t bad_size)
{
    const char *id = json_string_value(json_object_get(rec, "Id"));
    json_t *out = json_object();
    json_object_set_new(out, "attributes",
                        json_pack("{s:s,s:o}", "type", so->name, "url",
                                  json_sprintf("/services/data/v%s/sobjects/%s/%s", version,
                                               so->name, id ? id : "")));
    if (fields_csv && *fields_csv) {
        char buf[4096];
        snprintf(buf, sizeof(buf), "%s", fields_csv);
        char *save = NULL;
        bool saw_id = false;
        for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            while (*t == ' ')
                t++;
            const emu_field_t *f = emu_schema_field(so, t);
            if (!f) {
                snprintf(bad_field, bad_size, "%s", t);
                json_decref(out);
                return NULL;
            }
            saw_id |= !strcmp(f->name, "Id");
            json_t *v = json_object_get(rec, f->name);
            json_object_set(out, f->name, v ? v : json_null());
        }
        if (!saw_id)
            json_object_set_new(out, "Id", json_string(id ? id : ""));
        return out;
    }
    for (size_t i = 0; i < so->nfields; i++) {
        json_t *v = json_object_get(rec, so->fields[i].name);
        json_object_set(out, so->fields[i].name, v ? v : json_null());
    }
    return out;
}
