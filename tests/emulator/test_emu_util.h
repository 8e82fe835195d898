/*
 * test_emu_util.h - helpers for the sfemu tests: an in-process emulator on an
 * ephemeral loopback port, a libcurl request helper, an OAuth token, and a
 * JSON shape comparison (same keys, same JSON types) for the reference
 * fixtures. Header-only so each test_emu_*.c stays one executable.
 */
#ifndef TEST_EMU_UTIL_H
#define TEST_EMU_UTIL_H

#include "emu.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

typedef struct t_resp {
    long status;
    char *body;
    size_t len;
    char headers[8192];
    json_t *json; /* parsed body when it is JSON, else NULL */
} t_resp_t;

static inline size_t t_write_cb(char *p, size_t size, size_t n, void *ud)
{
    t_resp_t *r = ud;
    size_t add = size * n;
    char *b = realloc(r->body, r->len + add + 1);
    if (!b)
        return 0;
    memcpy(b + r->len, p, add);
    r->body = b;
    r->len += add;
    r->body[r->len] = '\0';
    return add;
}

static inline size_t t_header_cb(char *p, size_t size, size_t n, void *ud)
{
    t_resp_t *r = ud;
    size_t add = size * n, have = strlen(r->headers);
    if (have + add + 1 < sizeof(r->headers)) {
        memcpy(r->headers + have, p, add);
        r->headers[have + add] = '\0';
    }
    return add;
}

static inline void t_resp_free(t_resp_t *r)
{
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}

/* Value of a response header (case-insensitive name) into out; false if absent. */
static inline bool t_header(const t_resp_t *r, const char *name, char *out, size_t out_size)
{
    size_t n = strlen(name);
    for (const char *p = r->headers; *p;) {
        const char *eol = strstr(p, "\r\n");
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > n + 1 && strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            snprintf(out, out_size, "%.*s", (int)(len - (size_t)(v - p)), v);
            return true;
        }
        p = eol ? eol + 2 : p + len;
    }
    return false;
}

/*
 * One HTTP request. `headers` is a NULL-terminated list of "Name: value"
 * strings (may be NULL); body may be NULL. Returns the response (free with
 * t_resp_free). Keeps no connection between calls unless `curl` is shared.
 */
static inline t_resp_t t_http_ex(CURL *shared, const char *method, const char *url,
                                 const char *const *headers, const char *body, size_t body_len)
{
    t_resp_t r;
    memset(&r, 0, sizeof(r));
    CURL *c = shared ? shared : curl_easy_init();
    struct curl_slist *h = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        h = curl_slist_append(h, headers[i]);
    h = curl_slist_append(h, "Expect:");
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, t_write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, t_header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
    }
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    else
        r.status = -(long)rc; /* transport failure: negative curl code */
    if (r.body)
        r.json = json_loadb(r.body, r.len, JSON_DECODE_ANY, NULL);
    curl_slist_free_all(h);
    if (!shared)
        curl_easy_cleanup(c);
    return r;
}

typedef struct t_env {
    emu_t *emu;
    char base[160];
    char api[200]; /* base + /services/data/v62.0 */
    char auth[2200];
} t_env_t;

static inline t_resp_t t_http(const char *method, const char *url, const char *auth,
                              const char *body)
{
    const char *hdrs[] = {auth, "Content-Type: application/json", NULL};
    if (!auth)
        hdrs[0] = "Content-Type: application/json", hdrs[1] = NULL;
    return t_http_ex(NULL, method, url, hdrs, body, body ? strlen(body) : 0);
}

/* Request to the versioned API: path is "/sobjects/Account" etc. */
static inline t_resp_t t_api(t_env_t *env, const char *method, const char *path, const char *body)
{
    char url[4400];
    snprintf(url, sizeof(url), "%s%s", env->api, path);
    return t_http(method, url, env->auth, body);
}

static inline t_resp_t t_apif(t_env_t *env, const char *method, const char *body, const char *fmt,
                              ...) __attribute__((format(printf, 4, 5)));
static inline t_resp_t t_apif(t_env_t *env, const char *method, const char *body, const char *fmt,
                              ...)
{
    char path[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    return t_api(env, method, path, body);
}

static inline t_resp_t t_control(t_env_t *env, const char *method, const char *what,
                                 const char *body)
{
    char url[512];
    snprintf(url, sizeof(url), "%s/__sfemu/%s", env->base, what);
    return t_http(method, url, NULL, body);
}

/* A fresh access token (client-credentials grant of the shipped connected app). */
static inline int t_token(t_env_t *env)
{
    char url[512];
    snprintf(url, sizeof(url), "%s/services/oauth2/token", env->base);
    const char *hdrs[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    const char *form = "grant_type=client_credentials&client_id=3MVG9sfemu.sfbridge.CONSUMERKEY"
                       "&client_secret=sfemu-sfbridge-secret";
    t_resp_t r = t_http_ex(NULL, "POST", url, hdrs, form, strlen(form));
    const char *tok = json_string_value(json_object_get(r.json, "access_token"));
    int rc = tok ? 0 : -1;
    if (tok)
        snprintf(env->auth, sizeof(env->auth), "Authorization: Bearer %s", tok);
    t_resp_free(&r);
    return rc;
}

static inline int t_env_start(t_env_t *env, const emu_options_t *opt_in)
{
    emu_options_t opt;
    memset(&opt, 0, sizeof(opt));
    if (opt_in)
        opt = *opt_in;
    opt.threads = opt.threads ? opt.threads : 4;
    char err[512];
    memset(env, 0, sizeof(*env));
    env->emu = emu_create(&opt, err, sizeof(err));
    if (!env->emu || emu_start(env->emu, err, sizeof(err)) != 0) {
        fprintf(stderr, "emulator: %s\n", err);
        emu_destroy(env->emu);
        env->emu = NULL;
        return -1;
    }
    snprintf(env->base, sizeof(env->base), "%s", emu_base_url(env->emu));
    snprintf(env->api, sizeof(env->api), "%s/services/data/v62.0", env->base);
    return t_token(env);
}

static inline void t_env_stop(t_env_t *env)
{
    emu_destroy(env->emu);
    env->emu = NULL;
}

/* errorCode of a top-level error array body, or "" */
static inline const char *t_error_code(const t_resp_t *r)
{
    const char *c = json_string_value(json_object_get(json_array_get(r->json, 0), "errorCode"));
    return c ? c : "";
}

/*
 * Shape comparison: every key of `want` is in `have` with the same JSON type
 * (integer and real are both "number"; null on either side matches anything,
 * since a fixture's null field may hold a value here and vice versa). Arrays
 * of the same length are compared element by element, others by comparing the
 * first element of `want` with every element of `have`.
 * Returns true, or false with the path of the first difference in `where`.
 */
static inline bool t_shape_match(const json_t *want, const json_t *have, const char *path,
                                 char *where, size_t where_size)
{
    if (json_is_null(want) || json_is_null(have))
        return true;
    if (json_is_number(want) && json_is_number(have))
        return true;
    if (json_is_boolean(want) && json_is_boolean(have))
        return true;
    if (json_typeof(want) != json_typeof(have)) {
        snprintf(where, where_size, "%.400s: type differs", path);
        return false;
    }
    if (json_is_object(want)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)want, k, v)
        {
            char sub[512];
            snprintf(sub, sizeof(sub), "%.300s.%.200s", path, k);
            json_t *hv = json_object_get(have, k);
            if (!hv) {
                snprintf(where, where_size, "%.400s: missing", sub);
                return false;
            }
            if (!t_shape_match(v, hv, sub, where, where_size))
                return false;
        }
    } else if (json_is_array(want) && json_array_size(want) > 0) {
        /* Same length: element by element; otherwise the first against all. */
        bool pairwise = json_array_size(want) == json_array_size(have);
        size_t i;
        json_t *hv;
        json_array_foreach((json_t *)have, i, hv)
        {
            char sub[512];
            snprintf(sub, sizeof(sub), "%.300s[%zu]", path, i);
            if (!t_shape_match(json_array_get(want, pairwise ? i : 0), hv, sub, where, where_size))
                return false;
        }
    }
    return true;
}

static inline json_t *t_fixture(const char *name)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/tests/emulator/fixtures/%s", SFB_SOURCE_DIR, name);
    json_t *j = json_load_file(path, JSON_DECODE_ANY, NULL);
    if (!j)
        fprintf(stderr, "fixture %s: cannot load\n", path);
    return j;
}

#endif
