/*
 * emu_oauth_token.c - POST /services/oauth2/token: client authentication and
 * the five grants. Error bodies and texts follow the reference
 * (salesforce-wire.md 1.2-1.3); every refusal is HTTP 400 as in all of
 * Salesforce's examples. Successful replies carry access_token, instance_url,
 * id, token_type, issued_at, signature and scope; only the web-server flow
 * (authorization_code) adds a refresh_token, and only when the granted scope
 * has refresh_token or offline_access.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "emu_oauth_int.h"
#include "sfb.h"

#define GRANT_JWT "urn:ietf:params:oauth:grant-type:jwt-bearer"

/* Refresh tokens are "valid until revoked" by default in Salesforce; this bound only keeps
 * the table finite. Authorization codes: ~15 minutes (reference 1.3, UNCONFIRMED). */
#define EMU_REFRESH_TTL (90 * 24 * 3600)
#define EMU_CODE_TTL    900
/* Clock skew allowed on JWT exp/nbf (reference 1.3: about three minutes). */
#define EMU_JWT_SKEW 180

typedef struct token_req {
    emu_oauth_t *o;
    emu_form_t form;
    const char *grant;
    char *client_id, *client_secret; /* from the body or HTTP Basic */
    emu_reply_t *out;
} token_req_t;

static void refuse(token_req_t *r, const char *error, const char *desc, const char *why)
{
    emu_oauth_reply_error(r->out, 400, error, desc);
    /* `why` names the cause for whoever runs sfemu; it never holds a secret. */
    SFB_INFO(EMU_OAUTH_SCOPE, "oauth: token refused grant=%s: %s (%s)", r->grant ? r->grant : "-",
             desc, why);
}

static char *sign_id(const char *secret, const char *id, const char *issued_at)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    char msg[1024];
    int n = snprintf(msg, sizeof(msg), "%s%s", id, issued_at);
    if (n < 0 || (size_t)n >= sizeof(msg) ||
        !HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg, (size_t)n, mac,
              &maclen))
        return NULL;
    return emu_b64_encode(mac, maclen);
}

static emu_tok_t *new_tok(emu_tok_kind_t kind, char *token, size_t app, size_t user,
                          const char *scope, int64_t issued_ms)
{
    emu_tok_t *t = calloc(1, sizeof(*t));
    if (!t || !token || !(t->scope = strdup(scope))) {
        free(token);
        emu_tok_free(t);
        return NULL;
    }
    t->kind = kind;
    t->token = token;
    t->app = app;
    t->user = user;
    t->issued_ms = issued_ms;
    return t;
}

static char *new_access_token(const emu_oauth_t *o)
{
    /* Real ones: 15-char org id, '!', then an opaque string ("00Dx0000000BV7z!AR8AQ..."). */
    char *rnd = emu_oauth_random(48);
    char *tok = rnd ? malloc(16 + 1 + strlen(rnd) + 1) : NULL;
    if (tok)
        sprintf(tok, "%s!%s", o->org_id15, rnd);
    free(rnd);
    return tok;
}

/*
 * Issues an access token (and a refresh token when with_refresh) and builds the
 * success reply. `family` ties tokens issued from one refresh token together;
 * 0 starts a new family when a refresh token is issued.
 */
static void issue(token_req_t *r, size_t app, size_t user, const char *scope, bool with_refresh,
                  uint64_t family)
{
    emu_oauth_t *o = r->o;
    const emu_app_t *a = &o->apps[app];
    const emu_user_t *u = &o->users[user];
    int64_t now_ms = emu_oauth_now_ms();
    char issued_at[32], *id = NULL, *sig = NULL, *refresh = NULL;
    emu_tok_t *at = NULL, *rt = NULL;

    snprintf(issued_at, sizeof(issued_at), "%lld", (long long)now_ms);
    at = new_tok(EMU_TOK_ACCESS, new_access_token(o), app, user, scope, now_ms);
    if (with_refresh) {
        refresh = emu_oauth_random(48);
        rt = new_tok(EMU_TOK_REFRESH, refresh ? strdup(refresh) : NULL, app, user, scope, now_ms);
    }
    id = emu_oauth_identity_url(o, u);
    sig = id ? sign_id(a->client_secret, id, issued_at) : NULL;
    if (!at || !id || !sig || (with_refresh && !rt)) {
        emu_oauth_reply_error(r->out, 500, "server_error", "could not issue a token");
        emu_tok_free(at);
        emu_tok_free(rt);
        goto done;
    }
    r->out->json = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "access_token", at->token,
                             "signature", sig, "scope", scope, "instance_url", o->base_url, "id",
                             id, "token_type", "Bearer", "issued_at", issued_at);
    if (rt)
        json_object_set_new(r->out->json, "refresh_token", json_string(refresh));
    r->out->status = 200;

    pthread_mutex_lock(&o->mu);
    at->expires = (time_t)(now_ms / 1000) + o->token_ttl;
    if (rt) {
        if (family == 0)
            family = o->next_family++;
        rt->family = family;
        rt->expires = (time_t)(now_ms / 1000) + EMU_REFRESH_TTL;
    }
    at->family = family;
    emu_tok_insert(o, at);
    if (rt)
        emu_tok_insert(o, rt);
    pthread_mutex_unlock(&o->mu);
    SFB_DEBUG(EMU_OAUTH_SCOPE, "oauth: token issued grant=%s app=%s user=%s refresh=%s", r->grant,
              a->name, u->username, rt ? "yes" : "no");
done:
    free(id);
    free(sig);
    free(refresh);
}

int emu_oauth_client_of(const char *authorization_header, const emu_form_t *form, char **id,
                        char **secret)
{
    const char *h = authorization_header;
    *id = *secret = NULL;
    while (h && *h == ' ')
        h++;
    if (h && strncasecmp(h, "Basic ", 6) == 0) {
        h += 6;
        while (*h == ' ')
            h++;
        size_t n = 0;
        unsigned char *raw = emu_b64_decode(h, strlen(h), false, &n);
        char *colon = raw ? memchr(raw, ':', n) : NULL;
        if (!colon || memchr(raw, '\0', n)) {
            free(raw);
            return -1;
        }
        *id = emu_url_decode((const char *)raw, (size_t)(colon - (char *)raw), true);
        *secret = emu_url_decode(colon + 1, n - (size_t)(colon + 1 - (char *)raw), true);
        free(raw);
        if (*id && *secret)
            return 0;
        free(*id);
        free(*secret);
        *id = *secret = NULL;
        return -1;
    }
    const char *fid = emu_form_get(form, "client_id");
    const char *fsecret = emu_form_get(form, "client_secret");
    *id = fid ? strdup(fid) : NULL;
    *secret = fsecret ? strdup(fsecret) : NULL;
    return 0;
}

/* Looks the client up and checks its secret. secret_required=false still rejects a wrong one. */
static long authenticate_client(token_req_t *r, bool secret_required)
{
    long app = emu_oauth_find_app(r->o, r->client_id);
    if (app < 0) {
        refuse(r, "invalid_client_id", "client identifier invalid", "unknown client_id");
        return -1;
    }
    if ((secret_required || r->client_secret) &&
        !emu_oauth_secret_eq(r->client_secret, r->o->apps[app].client_secret)) {
        refuse(r, "invalid_client", "invalid client credentials",
               r->client_secret ? "wrong client_secret" : "client_secret missing");
        return -1;
    }
    return app;
}

static bool user_usable(token_req_t *r, long user)
{
    if (!r->o->users[user].active) {
        refuse(r, "invalid_grant", "inactive user", r->o->users[user].username);
        return false;
    }
    return true;
}

static void grant_password(token_req_t *r)
{
    emu_oauth_t *o = r->o;
    long app = authenticate_client(r, true);
    if (app < 0)
        return;
    const char *username = emu_form_get(&r->form, "username");
    const char *password = emu_form_get(&r->form, "password");
    long user = emu_oauth_find_user(o, username);
    if (user < 0 || !password) {
        refuse(r, "invalid_grant", "authentication failure",
               user < 0 ? "unknown username" : "password missing");
        return;
    }
    /* The security token is appended to the password with no separator. */
    const emu_user_t *u = &o->users[user];
    size_t pl = strlen(u->password), tl = strlen(u->security_token);
    char *expected = malloc(pl + tl + 1);
    if (!expected) {
        emu_oauth_reply_error(r->out, 500, "server_error", "out of memory");
        return;
    }
    memcpy(expected, u->password, pl);
    memcpy(expected + pl, u->security_token, tl + 1);
    bool ok = emu_oauth_secret_eq(password, expected);
    free(expected);
    if (!ok) {
        /* restforce's captured fixture carries this suffix for a wrong password. */
        refuse(r, "invalid_grant", "authentication failure - Invalid Password",
               "wrong password or security token");
        return;
    }
    if (!user_usable(r, user))
        return;
    issue(r, (size_t)app, (size_t)user, o->apps[app].scopes, false, 0);
}

static void grant_client_credentials(token_req_t *r)
{
    long app = authenticate_client(r, true);
    if (app < 0)
        return;
    long user = r->o->apps[app].run_as;
    if (user < 0) {
        refuse(r, "invalid_grant", "no client credentials user enabled", "app has no run_as");
        return;
    }
    if (!user_usable(r, user))
        return;
    issue(r, (size_t)app, (size_t)user, r->o->apps[app].scopes, false, 0);
}

static void grant_refresh_token(token_req_t *r)
{
    emu_oauth_t *o = r->o;
    long app = authenticate_client(r, false);
    if (app < 0)
        return;
    const char *token = emu_form_get(&r->form, "refresh_token");
    size_t user = 0;
    char *scope = NULL;
    uint64_t family = 0;
    bool rotate = o->apps[app].rotate_refresh_tokens;
    pthread_mutex_lock(&o->mu);
    emu_tok_t *t = emu_tok_find(o, token, EMU_TOK_REFRESH);
    if (t && t->app == (size_t)app) {
        user = t->user;
        family = t->family;
        scope = strdup(t->scope);
        if (rotate)
            emu_tok_remove(o, t); /* the family (and its access tokens) lives on */
    }
    pthread_mutex_unlock(&o->mu);
    if (!scope) {
        refuse(r, "invalid_grant", "expired access/refresh token",
               token ? "unknown, revoked or other app's refresh token" : "refresh_token missing");
        return;
    }
    if (user_usable(r, (long)user))
        issue(r, (size_t)app, user, scope, rotate, family);
    free(scope);
}

/* RFC 7636: 43-128 characters of [A-Za-z0-9-._~]. */
static bool verifier_well_formed(const char *v)
{
    size_t n = strlen(v);
    if (n < 43 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_' || c == '~'))
            return false;
    }
    return true;
}

static void grant_authorization_code(token_req_t *r)
{
    emu_oauth_t *o = r->o;
    long app = emu_oauth_find_app(o, r->client_id);
    if (app >= 0)
        app = authenticate_client(r, o->apps[app].require_secret_for_web_server);
    else
        app = authenticate_client(r, true);
    if (app < 0)
        return;
    const char *code = emu_form_get(&r->form, "code");
    const char *redirect_uri = emu_form_get(&r->form, "redirect_uri");
    const char *verifier = emu_form_get(&r->form, "code_verifier");
    emu_tok_t *t = NULL;

    /* Single use: the code leaves the table whatever happens next (RFC 6749 4.1.2). */
    pthread_mutex_lock(&o->mu);
    t = emu_tok_find(o, code, EMU_TOK_CODE);
    if (t && t->app == (size_t)app)
        emu_tok_unlink(o, t); /* now ours to free */
    else
        t = NULL;
    pthread_mutex_unlock(&o->mu);

    if (!t) {
        refuse(r, "invalid_grant", "expired authorization code",
               code ? "unknown, used, expired or other app's code" : "code missing");
        goto done;
    }
    if (!redirect_uri || strcmp(redirect_uri, t->redirect_uri) != 0) {
        refuse(r, "redirect_uri_mismatch", "redirect_uri must match configuration",
               "redirect_uri differs from the authorize request");
        goto done;
    }
    if (t->code_challenge) {
        /* Reference 1.3 (ja v224): no verifier -> invalid_grant; bad or unmatched ->
         * invalid_request. */
        if (!verifier) {
            refuse(r, "invalid_grant", "invalid code verifier", "code_verifier missing");
            goto done;
        }
        unsigned char digest[SHA256_DIGEST_LENGTH];
        SHA256((const unsigned char *)verifier, strlen(verifier), digest);
        char *expect = emu_b64url_encode(digest, sizeof(digest));
        bool match =
            expect && verifier_well_formed(verifier) && strcmp(expect, t->code_challenge) == 0;
        free(expect);
        if (!match) {
            refuse(r, "invalid_request", "invalid code verifier",
                   "code_verifier does not match code_challenge");
            goto done;
        }
    }
    if (!user_usable(r, (long)t->user))
        goto done;
    issue(r, (size_t)app, t->user, t->scope,
          emu_oauth_has_scope(t->scope, "refresh_token") ||
              emu_oauth_has_scope(t->scope, "offline_access"),
          0);
done:
    emu_tok_free(t);
}

static bool audience_ok(const emu_oauth_t *o, const char *aud)
{
    if (!aud)
        return false;
    size_t al = strlen(aud);
    while (al > 0 && aud[al - 1] == '/')
        al--; /* "https://login.salesforce.com/" is the same audience */
    if (strlen(o->base_url) == al && strncmp(o->base_url, aud, al) == 0)
        return true;
    for (size_t i = 0; i < o->n_login_urls; i++)
        if (strlen(o->login_urls[i]) == al && strncmp(o->login_urls[i], aud, al) == 0)
            return true;
    return false;
}

static void grant_jwt_bearer(token_req_t *r)
{
    emu_oauth_t *o = r->o;
    const char *assertion = emu_form_get(&r->form, "assertion");
    emu_jwt_t jwt = {0};
    char why[128];
    int64_t exp = 0, nbf = 0, now = emu_oauth_now_ms() / 1000;

    if (!assertion || emu_jwt_parse(assertion, strlen(assertion), &jwt, why, sizeof(why)) != 0) {
        refuse(r, "invalid_grant", "invalid assertion", assertion ? why : "assertion missing");
        goto done;
    }
    const char *alg = json_string_value(json_object_get(jwt.header, "alg"));
    if (!alg || strcmp(alg, "RS256") != 0) {
        refuse(r, "invalid_grant", "invalid assertion", "alg is not RS256");
        goto done;
    }
    const char *iss = json_string_value(json_object_get(jwt.claims, "iss"));
    if (!iss) {
        refuse(r, "invalid_grant", "invalid assertion", "iss missing");
        goto done;
    }
    long app = emu_oauth_find_app(o, iss);
    if (app < 0) {
        refuse(r, "invalid_client_id", "client identifier invalid", "iss is no consumer key");
        goto done;
    }
    if (emu_jwt_verify_rs256(&jwt, o->apps[app].pkey, why, sizeof(why)) != 0) {
        refuse(r, "invalid_grant", "invalid assertion", why);
        goto done;
    }
    /* aud may be one string or an array of strings (RFC 7519 4.1.3). */
    const json_t *aud = json_object_get(jwt.claims, "aud");
    bool aud_ok = audience_ok(o, json_string_value(aud));
    for (size_t i = 0; !aud_ok && json_is_array(aud) && i < json_array_size(aud); i++)
        aud_ok = audience_ok(o, json_string_value(json_array_get(aud, i)));
    if (!aud_ok) {
        refuse(r, "invalid_grant", "Audience validation failed", "aud is not a login URL");
        goto done;
    }
    if (emu_jwt_claim_time(jwt.claims, "exp", &exp) != 0) {
        refuse(r, "invalid_grant", "invalid assertion", "exp missing or not a number");
        goto done;
    }
    if (exp + EMU_JWT_SKEW < now) {
        /* Salesforce's text for an expired assertion, odd as it reads. */
        refuse(r, "invalid_grant", "expired authorization code", "exp is in the past");
        goto done;
    }
    if (json_object_get(jwt.claims, "nbf") &&
        (emu_jwt_claim_time(jwt.claims, "nbf", &nbf) != 0 || nbf - EMU_JWT_SKEW > now)) {
        refuse(r, "invalid_grant", "invalid assertion", "nbf is in the future");
        goto done;
    }
    /* Salesforce's worked example uses the legacy prn claim for the subject. */
    const char *sub = json_string_value(json_object_get(jwt.claims, "sub"));
    if (!sub)
        sub = json_string_value(json_object_get(jwt.claims, "prn"));
    long user = emu_oauth_find_user(o, sub);
    if (user < 0) {
        refuse(r, "invalid_grant", "invalid assertion", sub ? "unknown subject" : "sub missing");
        goto done;
    }
    if (!user_usable(r, user))
        goto done;
    pthread_mutex_lock(&o->mu);
    bool approved = o->apps[app].preauth[user] || o->approved[(size_t)app * o->n_users + user];
    pthread_mutex_unlock(&o->mu);
    if (!approved) {
        refuse(r, "invalid_grant", "user hasn't approved this consumer", o->users[user].username);
        goto done;
    }
    issue(r, (size_t)app, (size_t)user, o->apps[app].scopes, false, 0);
done:
    emu_jwt_clear(&jwt);
}

void emu_oauth_token(emu_oauth_t *o, const char *body, size_t body_len,
                     const char *authorization_header, emu_reply_t *out)
{
    token_req_t r = {.o = o, .out = out};
    char err[128];
    if (!body)
        body_len = 0;
    if (emu_form_parse(body, body_len, &r.form, err, sizeof(err)) != 0) {
        refuse(&r, "invalid_request", err, "form body rejected");
        goto done;
    }
    r.grant = emu_form_get(&r.form, "grant_type");
    if (emu_oauth_client_of(authorization_header, &r.form, &r.client_id, &r.client_secret) != 0) {
        refuse(&r, "invalid_client", "invalid client credentials", "malformed Basic header");
        goto done;
    }
    if (!r.grant)
        refuse(&r, "unsupported_grant_type", "grant type not supported", "grant_type missing");
    else if (strcmp(r.grant, "password") == 0)
        grant_password(&r);
    else if (strcmp(r.grant, "client_credentials") == 0)
        grant_client_credentials(&r);
    else if (strcmp(r.grant, "refresh_token") == 0)
        grant_refresh_token(&r);
    else if (strcmp(r.grant, "authorization_code") == 0)
        grant_authorization_code(&r);
    else if (strcmp(r.grant, GRANT_JWT) == 0)
        grant_jwt_bearer(&r);
    else
        refuse(&r, "unsupported_grant_type", "grant type not supported", "unknown grant_type");
done:
    free(r.client_id);
    free(r.client_secret);
    emu_form_clear(&r.form);
}

char *emu_oauth_issue_code(emu_oauth_t *o, size_t app, size_t user, const char *redirect_uri,
                           const char *code_challenge, const char *scope)
{
    int64_t now_ms = emu_oauth_now_ms();
    char *code = emu_oauth_random(33);
    emu_tok_t *t = new_tok(EMU_TOK_CODE, code ? strdup(code) : NULL, app, user, scope, now_ms);
    if (!t || !(t->redirect_uri = strdup(redirect_uri)) ||
        (code_challenge && !(t->code_challenge = strdup(code_challenge)))) {
        emu_tok_free(t);
        free(code);
        return NULL;
    }
    t->expires = (time_t)(now_ms / 1000) + EMU_CODE_TTL;
    pthread_mutex_lock(&o->mu);
    emu_tok_insert(o, t);
    /* Approving on the page counts as the user's approval for the JWT flow too. */
    o->approved[app * o->n_users + user] = true;
    pthread_mutex_unlock(&o->mu);
    return code;
}
