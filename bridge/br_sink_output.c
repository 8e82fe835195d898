/* br_sink_output.c - the messages the sink writes: results and dead letters. */
#include "br_sink_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sfb.h"

/* A dead letter keeps at most this much of the original value: the reason
 * matters more than the bytes, and a dead letter must fit in a Kafka message. */
#define DEAD_LETTER_VALUE_MAX (256 * 1024)

void sink_item_set_error(sink_item_t *item, const char *code, const char *message,
                         char *const *fields, size_t field_cnt)
{
    free(item->err_code);
    free(item->err_message);
    for (size_t i = 0; i < item->err_field_cnt; i++)
        free(item->err_fields[i]);
    free(item->err_fields);
    item->err_fields = NULL;
    item->err_field_cnt = 0;
    item->ok = false;
    item->err_code = strdup(code && *code ? code : "SFBRIDGE_ERROR");
    item->err_message = strdup(message ? message : "");
    if (field_cnt > 0 && (item->err_fields = calloc(field_cnt, sizeof(char *)))) {
        for (size_t i = 0; i < field_cnt; i++) {
            if ((item->err_fields[i] = strdup(fields[i])))
                item->err_field_cnt++;
        }
    }
}

/* Writes one value of a command's fields. Strings, booleans, null and
 * integers are written directly; anything else (reals, nested objects of
 * relationship fields) goes through jansson, which writes it as before. */
static void write_value(sfb_buf_t *b, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        sfb_buf_json_string(b, json_string_value(v), json_string_length(v));
        return;
    case JSON_TRUE:
        sfb_buf_puts(b, "true");
        return;
    case JSON_FALSE:
        sfb_buf_puts(b, "false");
        return;
    case JSON_NULL:
        sfb_buf_puts(b, "null");
        return;
    case JSON_INTEGER:
        sfb_buf_int(b, (int64_t)json_integer_value(v));
        return;
    default: {
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!text) {
            b->failed = true;
            return;
        }
        sfb_buf_puts(b, text);
        free(text);
        return;
    }
    }
}

sink_item_t *sink_item_for_command(const br_command_t *cmd, const char *command_id)
{
    bool by_id = cmd->op == BR_OP_UPDATE || cmd->op == BR_OP_DELETE;
    bool upsert = cmd->op == BR_OP_UPSERT;
    const char *src[] = {command_id, cmd->sobject, by_id ? cmd->id : NULL,
                         upsert ? cmd->ext_field : NULL, upsert ? cmd->ext_value : NULL};
    size_t len[sizeof(src) / sizeof(src[0])], total = 0;
    for (size_t i = 0; i < sizeof(src) / sizeof(src[0]); i++) {
        len[i] = src[i] ? strlen(src[i]) + 1 : 0;
        total += len[i];
    }
    sink_item_t *item = calloc(1, sizeof(*item) + total);
    if (!item)
        return NULL;
    const char **dst[] = {&item->command_id, &item->sobject, &item->record_id, &item->ext_field,
                          &item->ext_value};
    char *at = item->text;
    for (size_t i = 0; i < sizeof(src) / sizeof(src[0]); i++) {
        if (!src[i])
            continue;
        memcpy(at, src[i], len[i]);
        *dst[i] = at;
        at += len[i];
    }
    item->op = cmd->op;
    return item;
}

int sink_item_take_record(const sink_t *sink, sink_item_t *item, br_command_t *cmd)
{
    if (!cmd->fields)
        return 0; /* delete: no record */
    /* Members the worker writes itself replace the command's own. */
    const char *skip1 = "attributes", *skip2 = NULL;
    if (cmd->op == BR_OP_UPDATE)
        skip2 = "id";
    else if (cmd->op == BR_OP_UPSERT)
        skip2 = cmd->ext_field;
    else if (cmd->op == BR_OP_INSERT)
        skip2 = sink_dedupe_field(sink->config, cmd->sobject);
    sfb_buf_t b;
    sfb_buf_init(&b);
    const char *key;
    json_t *value;
    bool first = true;
    json_object_foreach(cmd->fields, key, value)
    {
        if (strcmp(key, skip1) == 0 || (skip2 && strcmp(key, skip2) == 0))
            continue;
        if (!first)
            sfb_buf_append(&b, ",", 1);
        first = false;
        sfb_buf_json_cstring(&b, key);
        sfb_buf_append(&b, ":", 1);
        write_value(&b, value);
    }
    item->record = sfb_buf_steal(&b);
    return item->record ? 0 : -1;
}

void sink_item_free(sink_item_t *item)
{
    if (!item)
        return;
    free(item->record);
    free(item->out_json);
    free(item->out_key);
    free(item->err_code);
    free(item->err_message);
    for (size_t i = 0; i < item->err_field_cnt; i++)
        free(item->err_fields[i]);
    free(item->err_fields);
    free(item);
}

char *sink_result_json(const sink_t *sink, const sink_item_t *item)
{
    br_result_error_t err;
    br_result_t r;
    char *out = NULL;
    char errstr[256];

    memset(&r, 0, sizeof(r));
    r.command_id = item->command_id;
    r.org = item->part->org->conf->name;
    r.topic = sink->config->sink.command_topic;
    r.partition = item->part->partition;
    r.offset = item->offset;
    r.op = item->op;
    r.sobject = item->sobject;
    r.ok = item->ok;
    r.id = item->id[0] ? item->id : NULL;
    r.created = item->created_known ? (item->created ? 1 : 0) : -1;
    r.rows = -1;
    r.attempts = item->attempts > 0 ? item->attempts : 1;
    if (!item->ok) {
        err.code = item->err_code ? item->err_code : "SFBRIDGE_ERROR";
        err.message = item->err_message;
        err.fields = (const char *const *)item->err_fields;
        err.fields_count = item->err_field_cnt;
        r.errors = &err;
        r.errors_count = 1;
    }
    if (br_result_to_json(&r, &out, errstr, sizeof(errstr)) != 0) {
        /* Our own bug (a result the schema does not allow): say so in a
         * result that is valid, rather than lose the command's outcome. */
        SFB_ERROR("sink", "result of %s/%d/%lld does not serialise: %s", r.topic, r.partition,
                  (long long)r.offset, errstr);
        err.code = "SFBRIDGE_INTERNAL";
        err.message = errstr;
        err.fields = NULL;
        err.fields_count = 0;
        r.ok = false;
        r.errors = &err;
        r.errors_count = 1;
        if (br_result_to_json(&r, &out, errstr, sizeof(errstr)) != 0)
            out = NULL;
    }
    return out;
}

static json_t *base64_json(const void *data, size_t len)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (!data)
        return json_null();
    size_t out_len = 4 * ((len + 2) / 3);
    char *out = malloc(out_len + 1);
    if (!out)
        return NULL;
    const unsigned char *p = data;
    size_t o = 0, i = 0;
    for (; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = tbl[v >> 18 & 63];
        out[o++] = tbl[v >> 12 & 63];
        out[o++] = tbl[v >> 6 & 63];
        out[o++] = tbl[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0);
        out[o++] = tbl[v >> 18 & 63];
        out[o++] = tbl[v >> 12 & 63];
        out[o++] = i + 1 < len ? tbl[v >> 6 & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    json_t *j = json_stringn(out, o);
    free(out);
    return j;
}

char *sink_dead_letter_json(const sink_t *sink, const kf_message_t *msg, const char *org,
                            const char *reason, const char *detail)
{
    char at[40];
    int64_t wall = sink_wall_ms();
    time_t secs = (time_t)(wall / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(at + n, sizeof(at) - n, ".%03dZ", (int)(wall % 1000));

    size_t keep = msg->value_len > DEAD_LETTER_VALUE_MAX ? DEAD_LETTER_VALUE_MAX : msg->value_len;
    char detail_buf[1024];
    snprintf(detail_buf, sizeof(detail_buf), "%s", detail ? detail : "");

    json_t *headers = json_array();
    for (size_t i = 0; headers && i < msg->header_cnt; i++) {
        kf_header_t h;
        if (kf_message_header(msg, i, &h) != KF_OK)
            continue;
        json_array_append_new(headers, json_pack("{s:s, s:o}", "name", h.name ? h.name : "",
                                                 "value", base64_json(h.value, h.size)));
    }
    json_t *dl =
        json_pack("{s:{s:s, s:i, s:I}, s:s, s:s, s:s, s:o, s:I, s:b, s:o, s:o}", "source", "topic",
                  sink->config->sink.command_topic, "partition", (int)msg->partition, "offset",
                  (json_int_t)msg->offset, "reason", reason, "detail", detail_buf, "at", at,
                  "value", msg->value ? base64_json(msg->value, keep) : json_null(), "value_size",
                  (json_int_t)msg->value_len, "value_truncated", keep < msg->value_len, "key",
                  base64_json(msg->key, msg->key_len), "headers", headers ? headers : json_array());
    if (!dl)
        return NULL;
    if (org)
        json_object_set_new(dl, "org", json_string(org));
    char *out = json_dumps(dl, JSON_COMPACT);
    json_decref(dl);
    return out;
}
