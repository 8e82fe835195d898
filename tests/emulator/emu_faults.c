/*
 * emu_faults.c - injected faults, set through the control API or flags:
 *   latency   {"fixed_ms":N,"random_ms":M}         every request sleeps N + rand(0..M) ms
 *   error     {"status":503,"errorCode":"SERVER_UNAVAILABLE","message":..,
 *              "rate":0.2 | "next":3}               answers with that error instead
 *   body      {"mode":"truncate"|"malformed", "rate"|"next"}   damages the response body
 *   drop      {"rate"|"next"}                       closes the connection without answering
 * each optionally with "path_prefix" limiting it to matching request paths.
 * The control API itself (/__sfemu/) is never faulted.
 */
#include "emu_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct emu_fault_rule {
    bool on;
    double rate;
    long next; /* > 0: the next N matching requests; 0 with rate */
    char prefix[256];
} emu_fault_rule_t;

struct emu_faults {
    pthread_mutex_t lock;
    unsigned seed;
    long latency_fixed_ms, latency_random_ms;
    char latency_prefix[256];
    emu_fault_rule_t error, body, drop;
    int error_status;
    char error_code[64];
    char error_message[256];
    int body_mode;
};

emu_faults_t *emu_faults_create(void)
{
    emu_faults_t *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    pthread_mutex_init(&f->lock, NULL);
    f->seed = (unsigned)time(NULL);
    return f;
}

void emu_faults_destroy(emu_faults_t *f)
{
    if (!f)
        return;
    pthread_mutex_destroy(&f->lock);
    free(f);
}

void emu_faults_clear(emu_faults_t *f)
{
    pthread_mutex_lock(&f->lock);
    unsigned seed = f->seed;
    f->latency_fixed_ms = f->latency_random_ms = 0;
    f->latency_prefix[0] = '\0';
    memset(&f->error, 0, sizeof(f->error));
    memset(&f->body, 0, sizeof(f->body));
    memset(&f->drop, 0, sizeof(f->drop));
    f->seed = seed;
    pthread_mutex_unlock(&f->lock);
}

static const char *emu_default_message(const char *code)
{
    if (!strcmp(code, "UNABLE_TO_LOCK_ROW"))
        return "unable to obtain exclusive access to this record";
    if (!strcmp(code, "REQUEST_LIMIT_EXCEEDED"))
        return "TotalRequests Limit exceeded.";
    if (!strcmp(code, "SERVER_UNAVAILABLE"))
        return "Server temporarily unavailable.";
    return "Fault injected by sfemu";
}

static int emu_default_status(const char *code)
{
    if (!strcmp(code, "UNABLE_TO_LOCK_ROW"))
        return 400;
    if (!strcmp(code, "REQUEST_LIMIT_EXCEEDED"))
        return 403;
    return 503;
}

static int emu_rule_parse(const json_t *spec, emu_fault_rule_t *rule, char *err, size_t err_size)
{
    memset(rule, 0, sizeof(*rule));
    if (!spec || json_is_null(spec))
        return 0;
    if (!json_is_object(spec)) {
        snprintf(err, err_size, "a fault must be an object");
        return -1;
    }
    json_t *rate = json_object_get(spec, "rate");
    json_t *next = json_object_get(spec, "next");
    if (rate &&
        (!json_is_number(rate) || json_number_value(rate) < 0 || json_number_value(rate) > 1)) {
        snprintf(err, err_size, "\"rate\" must be a number from 0 to 1");
        return -1;
    }
    if (next && (!json_is_integer(next) || json_integer_value(next) < 0)) {
        snprintf(err, err_size, "\"next\" must be a non-negative integer");
        return -1;
    }
    if (!rate && !next) {
        snprintf(err, err_size, "a fault needs \"rate\" or \"next\"");
        return -1;
    }
    rule->rate = rate ? json_number_value(rate) : 0;
    rule->next = next ? (long)json_integer_value(next) : 0;
    const char *prefix = json_string_value(json_object_get(spec, "path_prefix"));
    snprintf(rule->prefix, sizeof(rule->prefix), "%s", prefix ? prefix : "");
    rule->on = rule->rate > 0 || rule->next > 0;
    return 0;
}

int emu_faults_set(emu_faults_t *f, const json_t *spec, char *err, size_t err_size)
{
    if (!json_is_object(spec)) {
        snprintf(err, err_size, "faults: a JSON object expected");
        return -1;
    }
    emu_fault_rule_t error, body, drop;
    if (emu_rule_parse(json_object_get(spec, "error"), &error, err, err_size) != 0 ||
        emu_rule_parse(json_object_get(spec, "body"), &body, err, err_size) != 0 ||
        emu_rule_parse(json_object_get(spec, "drop"), &drop, err, err_size) != 0)
        return -1;
    const json_t *e = json_object_get(spec, "error");
    const char *code = json_string_value(json_object_get(e, "errorCode"));
    if (!code)
        code = "SERVER_UNAVAILABLE";
    int status = (int)json_integer_value(json_object_get(e, "status"));
    if (status == 0)
        status = emu_default_status(code);
    if (status < 400 || status > 599) {
        snprintf(err, err_size, "error.status must be 400..599");
        return -1;
    }
    const char *msg = json_string_value(json_object_get(e, "message"));
    const char *mode = json_string_value(json_object_get(json_object_get(spec, "body"), "mode"));
    int body_mode = EMU_BODY_TRUNCATE;
    if (mode && !strcmp(mode, "malformed"))
        body_mode = EMU_BODY_MALFORMED;
    else if (mode && strcmp(mode, "truncate") != 0) {
        snprintf(err, err_size, "body.mode must be \"truncate\" or \"malformed\"");
        return -1;
    }
    const json_t *lat = json_object_get(spec, "latency");
    pthread_mutex_lock(&f->lock);
    if (lat) {
        f->latency_fixed_ms = (long)json_integer_value(json_object_get(lat, "fixed_ms"));
        f->latency_random_ms = (long)json_integer_value(json_object_get(lat, "random_ms"));
        const char *lp = json_string_value(json_object_get(lat, "path_prefix"));
        snprintf(f->latency_prefix, sizeof(f->latency_prefix), "%s", lp ? lp : "");
    }
    if (json_object_get(spec, "error")) {
        f->error = error;
        f->error_status = status;
        snprintf(f->error_code, sizeof(f->error_code), "%s", code);
        snprintf(f->error_message, sizeof(f->error_message), "%s",
                 msg ? msg : emu_default_message(code));
    }
    if (json_object_get(spec, "body")) {
        f->body = body;
        f->body_mode = body_mode;
    }
    if (json_object_get(spec, "drop"))
        f->drop = drop;
    pthread_mutex_unlock(&f->lock);
    return 0;
}

static json_t *emu_rule_json(const emu_fault_rule_t *r)
{
    if (!r->on)
        return json_null();
    return json_pack("{s:f,s:I,s:s}", "rate", r->rate, "next", (json_int_t)r->next, "path_prefix",
                     r->prefix);
}

json_t *emu_faults_get(emu_faults_t *f)
{
    pthread_mutex_lock(&f->lock);
    json_t *out = json_pack(
        "{s:{s:I,s:I,s:s},s:o,s:o,s:o}", "latency", "fixed_ms", (json_int_t)f->latency_fixed_ms,
        "random_ms", (json_int_t)f->latency_random_ms, "path_prefix", f->latency_prefix, "error",
        emu_rule_json(&f->error), "body", emu_rule_json(&f->body), "drop", emu_rule_json(&f->drop));
    if (f->error.on) {
        json_t *e = json_object_get(out, "error");
        json_object_set_new(e, "status", json_integer(f->error_status));
        json_object_set_new(e, "errorCode", json_string(f->error_code));
        json_object_set_new(e, "message", json_string(f->error_message));
    }
    if (f->body.on)
        json_object_set_new(
            json_object_get(out, "body"), "mode",
            json_string(f->body_mode == EMU_BODY_MALFORMED ? "malformed" : "truncate"));
    pthread_mutex_unlock(&f->lock);
    return out;
}

/* Called with the lock held: does this rule fire for this path? */
static bool emu_rule_fires(emu_faults_t *f, emu_fault_rule_t *r, const char *path)
{
    if (!r->on || strncmp(path, r->prefix, strlen(r->prefix)) != 0)
        return false;
    if (r->next > 0) {
        if (--r->next == 0 && r->rate <= 0)
            r->on = false;
        return true;
    }
    return (double)rand_r(&f->seed) / ((double)RAND_MAX + 1.0) < r->rate;
}

bool emu_faults_apply(emu_faults_t *f, const char *path, emu_resp_t *resp)
{
    if (!f)
        return false;
    pthread_mutex_lock(&f->lock);
    long sleep_ms = 0;
    if ((f->latency_fixed_ms > 0 || f->latency_random_ms > 0) &&
        !strncmp(path, f->latency_prefix, strlen(f->latency_prefix)))
        sleep_ms = f->latency_fixed_ms +
                   (f->latency_random_ms > 0 ? rand_r(&f->seed) % (f->latency_random_ms + 1) : 0);
    bool drop = emu_rule_fires(f, &f->drop, path);
    bool error = !drop && emu_rule_fires(f, &f->error, path);
    int body = (!drop && !error && emu_rule_fires(f, &f->body, path)) ? f->body_mode : 0;
    int status = f->error_status;
    char code[64], msg[256];
    snprintf(code, sizeof(code), "%s", f->error_code);
    snprintf(msg, sizeof(msg), "%s", f->error_message);
    pthread_mutex_unlock(&f->lock);
    if (sleep_ms > 0) {
        struct timespec ts = {sleep_ms / 1000, (sleep_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    resp->body_fault = body;
    if (drop) {
        resp->drop = true;
        return true;
    }
    if (error) {
        emu_resp_error(resp, status, code, NULL, "%s", msg);
        return true;
    }
    return false;
}
