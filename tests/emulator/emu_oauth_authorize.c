/*
 * emu_oauth_authorize.c - the browser-facing authorize page (web-server flow,
 * PKCE), token revocation and token introspection.
 *
 * Authorize follows RFC 6749 4.1.2.1: while the client or its redirect_uri is
 * unknown the answer is an error page (400), never a redirect, so an
 * attacker cannot bounce a browser to an arbitrary URL; once both are known,
 * every other error goes back to the client as a redirect with `error`.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_oauth_int.h"
#include "sfb.h"

/* A growable string; bounded by its inputs, which are bounded by EMU_OAUTH_MAX_FORM. */
typedef struct strbuf {
    char *s;
    size_t len, cap;
    bool failed;
} strbuf_t;

static void sb_add(strbuf_t *b, const char *s)
{
    size_t n = strlen(s);
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->failed = true;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n + 1);
    b->len += n;
}

static void sb_add_html(strbuf_t *b, const char *s)
{
    char *e = emu_html_escape(s ? s : "");
    if (e)
        sb_add(b, e);
    else
        b->failed = true;
    free(e);
}

static void sb_add_url(strbuf_t *b, const char *s)
{
    char *e = emu_url_encode(s);
    if (e)
        sb_add(b, e);
    else
        b->failed = true;
    free(e);
}

static char *sb_take(strbuf_t *b)
{
    if (b->failed) {
        free(b->s);
        return NULL;
    }
    return b->s ? b->s : strdup("");
}

static void reply_html(emu_reply_t *out, int status, strbuf_t *b)
{
    out->text = sb_take(b);
    out->status = out->text ? status : 500;
    out->content_type = "text/html;charset=UTF-8";
}

static void error_page(emu_reply_t *out, const char *error, const char *desc)
{
    strbuf_t b = {0};
    sb_add(&b, "<!DOCTYPE html>\n<html><head><title>Error | sfemu</title></head><body>\n"
               "<h1>OAuth error</h1>\n<p id=\"error\">error=");
    sb_add_html(&b, error);
    sb_add(&b, "</p>\n<p id=\"error_description\">");
    sb_add_html(&b, desc);
    sb_add(&b, "</p>\n</body></html>\n");
    reply_html(out, 400, &b);
    SFB_INFO(EMU_OAUTH_SCOPE, "oauth: authorize error page: %s (%s)", error, desc);
}

/* 302 to redirect_uri with the given NULL-terminated name/value pairs (NULL values skipped). */
static void redirect(emu_reply_t *out, const char *redirect_uri, ...)
{
    strbuf_t b = {0};
    va_list ap;
    char sep = strchr(redirect_uri, '?') ? '&' : '?';
    sb_add(&b, redirect_uri);
    va_start(ap, redirect_uri);
    for (const char *name = va_arg(ap, const char *); name; name = va_arg(ap, const char *)) {
        const char *value = va_arg(ap, const char *);
        if (!value)
            continue;
        char s[2] = {sep, '\0'};
        sb_add(&b, s);
        sb_add(&b, name);
        sb_add(&b, "=");
        sb_add_url(&b, value);
        sep = '&';
    }
    va_end(ap);
    out->location = sb_take(&b);
    out->status = out->location ? 302 : 500;
}

static void login_page(emu_reply_t *out, const emu_oauth_t *o, const emu_app_t *a,
                       const emu_form_t *f, const char *username, const char *message)
{
    static const char *const hidden[] = {
        "response_type",         "client_id", "redirect_uri", "state", "scope", "code_challenge",
        "code_challenge_method", "nonce",     "display",      "prompt"};
    strbuf_t b = {0};
    sb_add(&b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Login | ");
    sb_add_html(&b, o->org_name);
    sb_add(&b, "</title></head><body>\n<h1>Log in to ");
    sb_add_html(&b, o->org_name);
    sb_add(&b, "</h1>\n<p>Allow <b>");
    sb_add_html(&b, a->name);
    sb_add(&b, "</b> to access your data?</p>\n");
    if (message) {
        sb_add(&b, "<p id=\"error\" role=\"alert\">");
        sb_add_html(&b, message);
        sb_add(&b, "</p>\n");
    }
    sb_add(&b, "<form method=\"post\" action=\"/services/oauth2/authorize\">\n");
    for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++) {
        const char *v = emu_form_get(f, hidden[i]);
        if (!v)
            continue;
        sb_add(&b, "<input type=\"hidden\" name=\"");
        sb_add(&b, hidden[i]);
        sb_add(&b, "\" value=\"");
        sb_add_html(&b, v);
        sb_add(&b, "\">\n");
    }
    sb_add(&b, "<label>Username <input type=\"text\" name=\"username\" value=\"");
    sb_add_html(&b, username ? username : "");
    sb_add(&b,
           "\"></label>\n<label>Password <input type=\"password\" name=\"password\">"
           "</label>\n<button type=\"submit\" name=\"action\" value=\"approve\">Allow</button>\n"
           "<button type=\"submit\" name=\"action\" value=\"deny\">Deny</button>\n"
           "</form>\n</body></html>\n");
    reply_html(out, 200, &b);
}

/* The page accepts the password alone or with the security token appended, like the login page. */
static long page_login(const emu_oauth_t *o, const char *username, const char *password)
{
    long user = emu_oauth_find_user(o, username);
    if (user < 0 || !password || !o->users[user].active)
        return -1;
    const emu_user_t *u = &o->users[user];
    if (emu_oauth_secret_eq(password, u->password))
        return user;
    size_t pl = strlen(u->password);
    if (*u->security_token && strncmp(password, u->password, pl) == 0 &&
        emu_oauth_secret_eq(password + pl, u->security_token))
        return user;
    return -1;
}

static bool redirect_registered(const emu_app_t *a, const char *uri)
{
    for (size_t i = 0; uri && i < a->n_redirect_uris; i++)
        if (strcmp(a->redirect_uris[i], uri) == 0)
            return true;
    return false;
}

void emu_oauth_authorize(emu_oauth_t *o, const char *method, const char *query_string,
                         const char *body, size_t body_len, emu_reply_t *out)
{
    emu_form_t f = {0};
    char err[128], *scope = NULL, *code = NULL;
    bool post = method && strcasecmp(method, "POST") == 0;
    const char *src = post ? body : query_string;
    size_t src_len = post ? (body ? body_len : 0) : (query_string ? strlen(query_string) : 0);

    if (emu_form_parse(src, src_len, &f, err, sizeof(err)) != 0) {
        error_page(out, "invalid_request", err);
        goto done;
    }
    long app = emu_oauth_find_app(o, emu_form_get(&f, "client_id"));
    if (app < 0) {
        error_page(out, "invalid_client_id", "client identifier invalid");
        goto done;
    }
    const emu_app_t *a = &o->apps[app];
    const char *redirect_uri = emu_form_get(&f, "redirect_uri");
    if (!redirect_registered(a, redirect_uri)) {
        error_page(out, "redirect_uri_mismatch", "redirect_uri must match configuration");
        goto done;
    }
    const char *state = emu_form_get(&f, "state");
    const char *response_type = emu_form_get(&f, "response_type");
    if (!response_type || strcmp(response_type, "code") != 0) {
        /* Only the web-server flow is emulated; the user-agent flow (token) is not. */
        redirect(out, redirect_uri, "error", "unsupported_response_type", "error_description",
                 "response type not supported", "state", state, NULL);
        goto done;
    }
    const char *challenge = emu_form_get(&f, "code_challenge");
    const char *method_cc = emu_form_get(&f, "code_challenge_method");
    if (method_cc && strcmp(method_cc, "S256") != 0) {
        redirect(out, redirect_uri, "error", "invalid_request", "error_description",
                 "code challenge method not supported", "state", state, NULL);
        goto done;
    }
    if (challenge && !*challenge)
        challenge = NULL;
    scope = emu_oauth_grant_scope(a, emu_form_get(&f, "scope"));
    if (!scope) {
        error_page(out, "server_error", "out of memory");
        goto done;
    }

    long user = -1;
    if (!post) {
        /* Non-interactive shortcut for scripts: a known login_hint on an auto-approve app. */
        long hinted = emu_oauth_find_user(o, emu_form_get(&f, "login_hint"));
        if (hinted >= 0 && a->auto_approve && o->users[hinted].active)
            user = hinted;
        else {
            login_page(out, o, a, &f, emu_form_get(&f, "login_hint"), NULL);
            goto done;
        }
    } else {
        const char *action = emu_form_get(&f, "action");
        if (action && strcmp(action, "deny") == 0) {
            redirect(out, redirect_uri, "error", "access_denied", "error_description",
                     "end-user denied authorization", "state", state, NULL);
            goto done;
        }
        user = page_login(o, emu_form_get(&f, "username"), emu_form_get(&f, "password"));
        if (user < 0) {
            login_page(out, o, a, &f, emu_form_get(&f, "username"),
                       "Please check your username and password. If you still can't log in, "
                       "contact your Salesforce administrator.");
            goto done;
        }
    }
    code = emu_oauth_issue_code(o, (size_t)app, (size_t)user, redirect_uri, challenge, scope);
    if (!code) {
        redirect(out, redirect_uri, "error", "server_error", "state", state, NULL);
        goto done;
    }
    redirect(out, redirect_uri, "code", code, "state", state, NULL);
    SFB_DEBUG(EMU_OAUTH_SCOPE, "oauth: code issued app=%s user=%s pkce=%s", a->name,
              o->users[user].username, challenge ? "yes" : "no");
done:
    free(scope);
    free(code);
    emu_form_clear(&f);
}

/* A JSONP callback name must be a plain identifier path, or it would inject script. */
static bool callback_ok(const char *cb)
{
    size_t n = strlen(cb);
    if (n == 0 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = cb[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '$' || c == '.'))
            return false;
    }
    return true;
}

void emu_oauth_revoke(emu_oauth_t *o, const char *method, const char *query_string,
                      const char *body, size_t body_len, emu_reply_t *out)
{
    emu_form_t fq = {0}, fb = {0};
    char err[128];
    bool post = method && strcasecmp(method, "POST") == 0;
    if (emu_form_parse(query_string, query_string ? strlen(query_string) : 0, &fq, err,
                       sizeof(err)) != 0 ||
        (post && emu_form_parse(body, body ? body_len : 0, &fb, err, sizeof(err)) != 0)) {
        emu_oauth_reply_error(out, 400, "invalid_request", err);
        goto done;
    }
    const char *token = post ? emu_form_get(&fb, "token") : NULL;
    if (!token)
        token = emu_form_get(&fq, "token");
    const char *callback = post ? NULL : emu_form_get(&fq, "callback");
    if (callback && !callback_ok(callback)) {
        emu_oauth_reply_error(out, 400, "invalid_request", "invalid callback");
        goto done;
    }

    bool revoked = false;
    pthread_mutex_lock(&o->mu);
    emu_tok_t *t = emu_tok_find(o, token, EMU_TOK_ACCESS);
    if (t) {
        emu_tok_remove(o, t);
        revoked = true;
    } else if ((t = emu_tok_find(o, token, EMU_TOK_REFRESH)) != NULL) {
        /* Revoking a refresh token revokes every access token issued with or from it. */
        emu_tok_remove_family(o, t->family);
        revoked = true;
    }
    pthread_mutex_unlock(&o->mu);

    if (callback) {
        /* JSONP answers are always 200 so the script tag runs; the body tells the outcome. */
        strbuf_t b = {0};
        sb_add(&b, callback);
        sb_add(&b, revoked ? "({})" : "({\"error\":\"invalid_token\"})");
        out->text = sb_take(&b);
        out->content_type = "application/javascript;charset=UTF-8";
        out->status = out->text ? 200 : 500;
    } else if (revoked) {
        out->status = 200; /* empty body */
    } else {
        emu_oauth_reply_error(out, 400, "invalid_token", "invalid token");
    }
    SFB_DEBUG(EMU_OAUTH_SCOPE, "oauth: revoke %s", revoked ? "done" : "of an unknown token");
done:
    emu_form_clear(&fq);
    emu_form_clear(&fb);
}

void emu_oauth_introspect(emu_oauth_t *o, const char *body, size_t body_len,
                          const char *authorization_header, emu_reply_t *out)
{
    emu_form_t f = {0};
    char err[128], *client_id = NULL, *client_secret = NULL, *sub = NULL;
    if (emu_form_parse(body, body ? body_len : 0, &f, err, sizeof(err)) != 0) {
        emu_oauth_reply_error(out, 400, "invalid_request", err);
        goto done;
    }
    if (emu_oauth_client_of(authorization_header, &f, &client_id, &client_secret) != 0) {
        emu_oauth_reply_error(out, 400, "invalid_client", "invalid client credentials");
        goto done;
    }
    long app = emu_oauth_find_app(o, client_id);
    if (app < 0) {
        emu_oauth_reply_error(out, 400, "invalid_client_id", "client identifier invalid");
        goto done;
    }
    if (!emu_oauth_secret_eq(client_secret, o->apps[app].client_secret)) {
        emu_oauth_reply_error(out, 400, "invalid_client", "invalid client credentials");
        goto done;
    }
    const char *token = emu_form_get(&f, "token");
    if (!token) {
        emu_oauth_reply_error(out, 400, "invalid_request", "token parameter required");
        goto done;
    }

    /* A client may only introspect tokens issued to itself; anything else is just inactive. */
    bool active = false;
    emu_tok_kind_t kind = EMU_TOK_ACCESS;
    size_t user = 0;
    char *scope = NULL;
    int64_t iat = 0, exp = 0;
    pthread_mutex_lock(&o->mu);
    emu_tok_t *t = emu_tok_find(o, token, EMU_TOK_ACCESS);
    if (!t)
        t = emu_tok_find(o, token, EMU_TOK_REFRESH);
    if (t && t->app == (size_t)app) {
        active = true;
        kind = t->kind;
        user = t->user;
        scope = strdup(t->scope);
        iat = t->issued_ms / 1000;
        exp = (int64_t)t->expires;
    }
    pthread_mutex_unlock(&o->mu);

    if (!active || !scope) {
        out->json = json_pack("{s:b}", "active", 0);
    } else {
        sub = emu_oauth_identity_url(o, &o->users[user]);
        out->json = json_pack("{s:b, s:s, s:s, s:s, s:s?, s:s, s:I, s:I, s:I}", "active", 1,
                              "scope", scope, "client_id", o->apps[app].client_id, "username",
                              o->users[user].username, "sub", sub, "token_type",
                              kind == EMU_TOK_ACCESS ? "access_token" : "refresh_token", "exp",
                              (json_int_t)exp, "iat", (json_int_t)iat, "nbf", (json_int_t)iat);
    }
    free(scope);
    out->status = out->json ? 200 : 500;
done:
    free(client_id);
    free(client_secret);
    free(sub);
    emu_form_clear(&f);
}
