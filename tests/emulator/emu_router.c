/*
 * emu_router.c - maps a request (method, path, query, body) to its handler:
 * the control API (/__sfemu/), OAuth and identity endpoints (emu_oauth_*),
 * the versions list, and the versioned REST API, which is authenticated
 * (emu_oauth_check_bearer) and counted against the daily allocation before
 * it is dispatched by emu_route_api().
 *
 * emu_route() needs no socket, so the fuzz target drives it directly.
 */
#include "emu_cometd.h"
#include "emu_int.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void emu_resp_clear(emu_resp_t *resp)
{
    json_decref(resp->json);
    free(resp->text);
    free(resp->location);
    resp->json = NULL;
    resp->text = NULL;
    resp->location = NULL;
}

void emu_resp_json(emu_resp_t *resp, int status, json_t *json)
{
    json_decref(resp->json);
    resp->status = status;
    resp->json = json;
}

void emu_resp_error(emu_resp_t *resp, int status, const char *code, const char *fields_csv,
                    const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_t *err = json_pack("{s:s,s:s}", "message", msg, "errorCode", code);
    if (fields_csv && *fields_csv) {
        json_t *fields = json_array();
        char buf[1024];
        snprintf(buf, sizeof(buf), "%s", fields_csv);
        char *save = NULL;
        for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
            json_array_append_new(fields, json_string(t));
        json_object_set_new(err, "fields", fields);
    }
    emu_resp_json(resp, status, json_pack("[o]", err));
}

static int emu_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void emu_route_url_decode(char *s, bool form)
{
    char *o = s;
    for (char *p = s; *p; p++) {
        if (*p == '%' && emu_hex(p[1]) >= 0 && emu_hex(p[2]) >= 0) {
            char c = (char)(emu_hex(p[1]) * 16 + emu_hex(p[2]));
            p += 2;
            *o++ = c ? c : '?'; /* a NUL would cut the string short */
        } else if (form && *p == '+') {
            *o++ = ' ';
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
}

bool emu_query_param(const char *query, const char *name, char *out, size_t out_size)
{
    size_t nlen = strlen(name);
    for (const char *p = query; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
            size_t vlen = len - nlen - 1;
            if (vlen >= out_size)
                vlen = out_size - 1;
            memcpy(out, p + nlen + 1, vlen);
            out[vlen] = '\0';
            emu_route_url_decode(out, true);
            return true;
        }
        if (len == nlen && strncmp(p, name, nlen) == 0) {
            out[0] = '\0';
            return true;
        }
        p = amp ? amp + 1 : NULL;
    }
    return false;
}

static bool emu_is(const char *method, const char *want)
{
    return strcmp(method, want) == 0;
}

static void emu_method_not_allowed(emu_resp_t *resp, const char *method, const char *allowed)
{
    emu_resp_error(resp, 405, "METHOD_NOT_ALLOWED", NULL,
                   "HTTP Method '%s' not allowed. Allowed are %s", method, allowed);
}

static void emu_not_found(emu_resp_t *resp)
{
    emu_resp_error(resp, 404, "NOT_FOUND", NULL, "The requested resource does not exist");
}

/* "62.0/sobjects" -> version "62.0", rest "sobjects". Returns false if unsupported. */
static bool emu_parse_version(const char *p, char version[16], const char **rest)
{
    int major = 0, i = 0;
    while (isdigit((unsigned char)p[i]) && i < 4)
        major = major * 10 + (p[i++] - '0');
    if (i == 0 || p[i] != '.' || p[i + 1] != '0')
        return false;
    i += 2;
    if (p[i] != '\0' && p[i] != '/')
        return false;
    if (major < EMU_API_MIN_VERSION || major > EMU_API_MAX_VERSION)
        return false;
    snprintf(version, 16, "%d.0", major);
    *rest = p[i] == '/' ? p + i + 1 : p + i;
    return true;
}

void emu_route_api(emu_t *emu, const emu_req_t *req, const emu_session_info_t *sess,
                   const char *version, const char *rest_in, emu_resp_t *resp)
{
    char rest[2048];
    snprintf(rest, sizeof(rest), "%s", rest_in);
    size_t n = strlen(rest);
    while (n > 0 && rest[n - 1] == '/')
        rest[--n] = '\0';
    const char *m = req->method;
    if (n == 0) {
        if (!emu_is(m, "GET") && !emu_is(m, "HEAD"))
            return emu_method_not_allowed(resp, m, "GET,HEAD");
        return emu_rest_resources(emu, version, sess, resp);
    }
    if (!strcmp(rest, "limits")) {
        if (!emu_is(m, "GET") && !emu_is(m, "HEAD"))
            return emu_method_not_allowed(resp, m, "GET,HEAD");
        return emu_limits_body(emu, resp);
    }
    if (!strcmp(rest, "sobjects") || !strncmp(rest, "sobjects/", 9))
        return emu_rest_sobjects(emu, req, sess, version, rest[8] ? rest + 9 : "", resp);
    if (!strcmp(rest, "query") || !strncmp(rest, "query/", 6))
        return emu_rest_query(emu, req, version, rest[5] ? rest + 6 : "", false, resp);
    if (!strcmp(rest, "queryAll") || !strncmp(rest, "queryAll/", 9))
        return emu_rest_query(emu, req, version, rest[8] ? rest + 9 : "", true, resp);
    if (!strcmp(rest, "composite/sobjects") || !strncmp(rest, "composite/sobjects/", 19))
        return emu_collections(emu, req, sess, version, rest[18] ? rest + 19 : "", resp);
    if (!strcmp(rest, "composite") || !strncmp(rest, "composite/", 10))
        return emu_composite(emu, req, sess, version, rest[9] ? rest + 10 : "", resp);
    emu_not_found(resp);
}

/* The resource name an API call is counted under: "sobjects", "query", ... */
static void emu_resource_name(const char *rest, char *out, size_t out_size)
{
    size_t n = strcspn(rest, "/");
    if (n == 0) {
        snprintf(out, out_size, "resources");
        return;
    }
    if (n >= out_size)
        n = out_size - 1;
    memcpy(out, rest, n);
    out[n] = '\0';
}

#ifdef EMU_HAVE_OAUTH
static void emu_from_reply(emu_resp_t *resp, emu_reply_t *r)
{
    resp->status = r->status;
    resp->json = r->json;
    resp->text = r->text;
    resp->content_type = r->content_type;
    resp->location = r->location;
    r->json = NULL;
    r->text = NULL;
    r->location = NULL;
    emu_reply_clear(r);
}

static bool emu_route_oauth(emu_t *emu, const emu_req_t *req, emu_resp_t *resp)
{
    const char *p = req->path;
    const char *m = req->method;
    emu_reply_t r = {0};
    if (!strcmp(p, "/services/oauth2/token")) {
        if (!emu_is(m, "POST"))
            emu_method_not_allowed(resp, m, "POST");
        else {
            emu_oauth_token(emu->oauth, req->body, req->body_len, req->authorization, &r);
            emu_from_reply(resp, &r);
        }
    } else if (!strcmp(p, "/services/oauth2/authorize")) {
        emu_oauth_authorize(emu->oauth, m, req->query, req->body, req->body_len, &r);
        emu_from_reply(resp, &r);
    } else if (!strcmp(p, "/services/oauth2/revoke")) {
        emu_oauth_revoke(emu->oauth, m, req->query, req->body, req->body_len, &r);
        emu_from_reply(resp, &r);
    } else if (!strcmp(p, "/services/oauth2/introspect")) {
        emu_oauth_introspect(emu->oauth, req->body, req->body_len, req->authorization, &r);
        emu_from_reply(resp, &r);
    } else if (!strcmp(p, "/services/oauth2/userinfo")) {
        emu_oauth_userinfo(emu->oauth, req->authorization, &r);
        emu_from_reply(resp, &r);
    } else if (!strncmp(p, "/id/", 4)) {
        emu_oauth_identity(emu->oauth, p, req->authorization, &r);
        emu_from_reply(resp, &r);
    } else if (!strcmp(p, "/.well-known/openid-configuration")) {
        emu_oauth_openid_configuration(emu->oauth, &r);
        emu_from_reply(resp, &r);
    } else {
        return false;
    }
    return true;
}
#endif

static bool emu_check_session(emu_t *emu, const emu_req_t *req, emu_session_info_t *sess)
{
#ifdef EMU_HAVE_OAUTH
    emu_session_t s;
    memset(&s, 0, sizeof(s));
    if (!emu->oauth || emu_oauth_check_bearer(emu->oauth, req->authorization, &s) != 0)
        return false;
    snprintf(sess->user_id, sizeof(sess->user_id), "%s", s.user_id);
    snprintf(sess->org_id, sizeof(sess->org_id), "%s", s.org_id);
    snprintf(sess->username, sizeof(sess->username), "%s", s.username);
    if (!sess->user_id[0])
        snprintf(sess->user_id, sizeof(sess->user_id), "%s", emu->default_user_id);
    return true;
#else
    (void)emu;
    (void)req;
    (void)sess;
    return false; /* built without the OAuth module: no session can be valid */
#endif
}

void emu_route(emu_t *emu, const emu_req_t *req, emu_resp_t *resp)
{
    const char *p = req->path;
    resp->status = 200;
    if (!strncmp(p, "/__sfemu", 8) && (p[8] == '\0' || p[8] == '/')) {
        emu_control(emu, req, p[8] ? p + 9 : "", resp);
        return;
    }
    bool api = !strncmp(p, "/services/data/v", 16);
    if (emu_faults_apply(emu->faults, p, resp)) {
        resp->limit_info = api;
        return;
    }
#ifdef EMU_HAVE_OAUTH
    if (!emu->oauth) {
        emu_resp_error(resp, 503, "SERVER_UNAVAILABLE", NULL, "sfemu is not started");
        return;
    }
    if (emu_route_oauth(emu, req, resp))
        return;
#else
    if (!strncmp(p, "/services/oauth2/", 17) || !strncmp(p, "/id/", 4) ||
        !strcmp(p, "/.well-known/openid-configuration")) {
        emu_resp_error(resp, 501, "NOT_IMPLEMENTED", NULL,
                       "sfemu was built without its OAuth module (emu_oauth.h)");
        return;
    }
#endif
    if (!strncmp(p, "/cometd", 7) && (p[7] == '\0' || p[7] == '/')) {
        emu_cometd_handle(emu, req, resp); /* Streaming API: its own auth and errors */
        return;
    }
    if (!strcmp(p, "/services/data") || !strcmp(p, "/services/data/")) {
        if (!emu_is(req->method, "GET") && !emu_is(req->method, "HEAD"))
            return emu_method_not_allowed(resp, req->method, "GET,HEAD");
        return emu_rest_versions(emu, resp);
    }
    if (!api) {
        emu_not_found(resp);
        return;
    }
    char version[16];
    const char *rest = NULL;
    if (!emu_parse_version(p + 16, version, &rest)) {
        emu_not_found(resp);
        return;
    }
    emu_session_info_t sess;
    memset(&sess, 0, sizeof(sess));
    if (!emu_check_session(emu, req, &sess)) {
        emu_resp_error(resp, 401, "INVALID_SESSION_ID", NULL, "Session expired or invalid");
        return;
    }
    char resource[64];
    emu_resource_name(rest, resource, sizeof(resource));
    resp->limit_info = true;
    if (!emu_limits_take(emu, resource)) {
        emu_resp_error(resp, 403, "REQUEST_LIMIT_EXCEEDED", NULL, "TotalRequests Limit exceeded.");
        return;
    }
    emu_route_api(emu, req, &sess, version, rest, resp);
}
