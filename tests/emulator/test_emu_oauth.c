/*
 * test_emu_oauth.c - unit tests of sfemu's OAuth module, calling the
 * handlers in-process with raw request pieces (form bodies, query strings,
 * Authorization headers) the way the HTTP layer does; the wire itself is
 * covered by the CORE engineer's HTTP tests.
 *
 * Everything a client would compute is computed here independently of the
 * module: form encoding with libcurl, base64 and HMAC and RS256 signatures
 * with OpenSSL, so a bug in the module's own helpers cannot hide on both
 * sides.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include "emu_oauth.h"
#include "sfb.h"

#define BASE    "http://127.0.0.1:18443"
#define ORG     "00D5j00000SfEmuEAF"
#define ORG15   "00D5j00000SfEmu"
#define ADMIN   "0055j00000AdMinAAF"
#define INTEG   "0055j00000InTegAAF"
#define JWTUSER "0055j00000JwTusAAF"

#define APP_ID      "3MVG9sfemu.sfbridge.CONSUMERKEY"
#define APP_SECRET  "sfemu-sfbridge-secret"
#define JWT_APP     "3MVG9sfemu.jwt.CONSUMERKEY"
#define JWT_SECRET  "sfemu-jwt-secret"
#define INTER_APP   "3MVG9sfemu.interactive.CONSUMERKEY"
#define INTER_SEC   "sfemu-interactive-secret"
#define REDIRECT    "http://127.0.0.1:8765/callback"
#define GRANT_JWT   "urn:ietf:params:oauth:grant-type:jwt-bearer"
#define PASSWORD_OK "sfemu-Admin-1TOKENADMIN1"

static json_t *org_json;
static EVP_PKEY *app_key;   /* data/test-keys: matches the apps' certificate */
static EVP_PKEY *wrong_key; /* generated per run: matches nothing */

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s)
        s[n] = '\0';
    fclose(f);
    return s;
}

static emu_oauth_t *make(int ttl)
{
    char err[256];
    emu_oauth_t *o = emu_oauth_create(org_json, BASE "/", ttl, err, sizeof(err));
    if (!o)
        fail_msg("emu_oauth_create: %s", err);
    return o;
}

/* ---- client-side helpers, independent of the module ---- */

static char *enc(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    char *copy = strdup(e);
    curl_free(e);
    return copy;
}

/* Builds a form body from name, value pairs ended by a NULL name; NULL values are left out.
 * Values are encoded with libcurl. */
static char *form(const char *first, ...)
{
    static char buf[65536];
    size_t len = 0;
    va_list ap;
    va_start(ap, first);
    for (const char *name = first; name; name = va_arg(ap, const char *)) {
        const char *value = va_arg(ap, const char *);
        if (!value)
            continue; /* optional parameter left out */
        char *v = enc(value);
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s=%s", len ? "&" : "", name, v);
        free(v);
    }
    va_end(ap);
    return strdup(buf);
}

static char *b64url(const unsigned char *in, size_t len)
{
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    while (n > 0 && out[n - 1] == '=')
        n--;
    out[n] = '\0';
    for (char *p = out; *p; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    return out;
}

/* A compact JWS of header and claims (JSON text); alg "RS256" signs with key, "HS256" with
 * secret, anything else leaves the signature empty. */
static char *jws(const char *header, const char *claims, EVP_PKEY *key, const char *secret)
{
    char *h = b64url((const unsigned char *)header, strlen(header));
    char *c = b64url((const unsigned char *)claims, strlen(claims));
    size_t n = strlen(h) + strlen(c) + 2;
    char *signing = malloc(n);
    snprintf(signing, n, "%s.%s", h, c);
    unsigned char sig[1024];
    size_t siglen = 0;
    if (key) {
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        siglen = sizeof(sig);
        assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key), 1);
        assert_int_equal(
            EVP_DigestSign(md, sig, &siglen, (const unsigned char *)signing, strlen(signing)), 1);
        EVP_MD_CTX_free(md);
    } else if (secret) {
        unsigned int l = 0;
        HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)signing,
             strlen(signing), sig, &l);
        siglen = l;
    }
    char *s = b64url(sig, siglen);
    char *out = malloc(strlen(signing) + strlen(s) + 2);
    sprintf(out, "%s.%s", signing, s);
    free(h);
    free(c);
    free(signing);
    free(s);
    return out;
}

static char *claims_json(const char *iss, const char *sub_name, const char *sub, const char *aud,
                         long long exp_offset, bool exp_as_string)
{
    json_t *c = json_object();
    if (iss)
        json_object_set_new(c, "iss", json_string(iss));
    if (sub)
        json_object_set_new(c, sub_name, json_string(sub));
    if (aud)
        json_object_set_new(c, "aud", json_string(aud));
    long long exp = (long long)time(NULL) + exp_offset;
    if (exp_as_string) {
        char s[32];
        snprintf(s, sizeof(s), "%lld", exp);
        json_object_set_new(c, "exp", json_string(s));
    } else {
        json_object_set_new(c, "exp", json_integer(exp));
    }
    char *s = json_dumps(c, JSON_COMPACT);
    json_decref(c);
    return s;
}

static const char *jstr(const emu_reply_t *r, const char *key)
{
    return json_string_value(json_object_get(r->json, key));
}

static void token(emu_oauth_t *o, const char *body, const char *authz, emu_reply_t *r)
{
    memset(r, 0, sizeof(*r));
    emu_oauth_token(o, body, body ? strlen(body) : 0, authz, r);
}

static void expect_error(const emu_reply_t *r, int status, const char *error, const char *desc)
{
    assert_int_equal(r->status, status);
    assert_non_null(r->json);
    assert_string_equal(jstr(r, "error"), error);
    assert_string_equal(jstr(r, "error_description"), desc);
    assert_int_equal(json_object_size(r->json), 2);
}

/* Checks the success shape and the HMAC signature; returns a copy of the access token. */
static char *expect_token(const emu_reply_t *r, const char *user_id, const char *secret,
                          bool with_refresh)
{
    if (r->status != 200) {
        char *d = r->json ? json_dumps(r->json, 0) : NULL;
        fail_msg("token status %d: %s", r->status, d ? d : "(no json)");
    }
    const char *at = jstr(r, "access_token");
    assert_non_null(at);
    assert_true(strncmp(at, ORG15 "!", 16) == 0 && strlen(at) > 40);
    assert_string_equal(jstr(r, "instance_url"), BASE);
    char id[256];
    snprintf(id, sizeof(id), BASE "/id/" ORG "/%s", user_id);
    assert_string_equal(jstr(r, "id"), id);
    assert_string_equal(jstr(r, "token_type"), "Bearer");
    const char *issued_at = jstr(r, "issued_at");
    assert_non_null(issued_at);
    assert_true(strspn(issued_at, "0123456789") == strlen(issued_at) && strlen(issued_at) == 13);
    long long ms = atoll(issued_at);
    assert_true(llabs(ms / 1000 - (long long)time(NULL)) < 5);
    assert_non_null(jstr(r, "scope"));
    /* signature = base64(HMAC-SHA256(client secret, id + issued_at)) */
    char msg[512];
    unsigned char mac[32];
    unsigned int maclen = 0;
    char b64[64];
    snprintf(msg, sizeof(msg), "%s%s", id, issued_at);
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)msg, strlen(msg), mac,
         &maclen);
    EVP_EncodeBlock((unsigned char *)b64, mac, (int)maclen);
    assert_string_equal(jstr(r, "signature"), b64);
    assert_int_equal(jstr(r, "refresh_token") != NULL, with_refresh);
    return strdup(at);
}

static char *bearer(const char *token)
{
    char *h = malloc(strlen(token) + 8);
    sprintf(h, "Bearer %s", token);
    return h;
}

static bool live(emu_oauth_t *o, const char *token, const char *expect_user)
{
    char *h = bearer(token);
    emu_session_t s;
    int rc = emu_oauth_check_bearer(o, h, &s);
    free(h);
    if (rc == 0 && expect_user) {
        assert_string_equal(s.user_id, expect_user);
        assert_string_equal(s.org_id, ORG);
    }
    return rc == 0;
}

/* ---- configuration ---- */

static void test_certificate_matches_file(void **state)
{
    (void)state;
    char *pem = read_file(EMU_DATA_DIR "/jwt-app.crt");
    assert_non_null(pem);
    const json_t *apps = json_object_get(org_json, "connected_apps");
    size_t i;
    const json_t *a;
    int with_cert = 0;
    json_array_foreach(apps, i, a)
    {
        const char *c = json_string_value(json_object_get(a, "certificate"));
        if (c) {
            assert_string_equal(c, pem);
            with_cert++;
        }
    }
    assert_true(with_cert >= 1);
    free(pem);
}

static void test_create_rejects_bad_config(void **state)
{
    (void)state;
    static const struct {
        const char *json, *err_part;
    } rows[] = {
        {"{\"org\":{\"id\":\"short\"},\"users\":[],\"connected_apps\":[]}", "org.id"},
        {"{\"org\":{\"id\":\"00D5j00000SfEmuEAF\"},\"users\":[],\"connected_apps\":[]}",
         "\"users\""},
        {"{\"org\":{\"id\":\"00D5j00000SfEmuEAF\"},\"users\":[{\"id\":\"0055j00000AdMinAAF\","
         "\"username\":\"a@b\"}],\"connected_apps\":[]}",
         "username and password"},
        {"{\"org\":{\"id\":\"00D5j00000SfEmuEAF\"},\"users\":[{\"id\":\"0055j00000AdMinAAF\","
         "\"username\":\"a@b\",\"password\":\"p\"}],\"connected_apps\":[{\"client_id\":\"x\"}]}",
         "client_secret"},
        {"{\"org\":{\"id\":\"00D5j00000SfEmuEAF\"},\"users\":[{\"id\":\"0055j00000AdMinAAF\","
         "\"username\":\"a@b\",\"password\":\"p\"}],\"connected_apps\":[{\"client_id\":\"x\","
         "\"client_secret\":\"s\",\"run_as\":\"nobody@b\"}]}",
         "run_as"},
        {"{\"org\":{\"id\":\"00D5j00000SfEmuEAF\"},\"users\":[{\"id\":\"0055j00000AdMinAAF\","
         "\"username\":\"a@b\",\"password\":\"p\"}],\"connected_apps\":[{\"client_id\":\"x\","
         "\"client_secret\":\"s\",\"certificate\":\"-----BEGIN CERTIFICATE-----\\nAAAA\\n\"}]}",
         "certificate"},
        {"{\"org\":{\"id\":\"00D5j00000SfEmuEAF\"},\"users\":[{\"id\":\"0055j00000AdMinAAF\","
         "\"username\":\"a@b\",\"password\":\"p\"},{\"id\":\"0055j00000InTegAAF\","
         "\"username\":\"A@B\",\"password\":\"p\"}],\"connected_apps\":[]}",
         "twice"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char err[256] = "";
        json_t *j = json_loads(rows[i].json, 0, NULL);
        assert_non_null(j);
        emu_oauth_t *o = emu_oauth_create(j, BASE, 0, err, sizeof(err));
        if (o || !strstr(err, rows[i].err_part))
            fail_msg("row %zu: expected an error naming '%s', got '%s'", i, rows[i].err_part, err);
        json_decref(j);
    }
}

/* ---- grants ---- */

static void test_password_grant(void **state)
{
    (void)state;
    emu_oauth_t *o = make(0);
    emu_reply_t r;
    char *body = form("grant_type", "password", "client_id", APP_ID, "client_secret", APP_SECRET,
                      "username", "admin@sfemu.test", "password", PASSWORD_OK, NULL);
    token(o, body, NULL, &r);
    char *at = expect_token(&r, ADMIN, APP_SECRET, false);
    assert_true(live(o, at, ADMIN));
    assert_string_equal(jstr(&r, "scope"), "api refresh_token web id");
    emu_reply_clear(&r);
    free(at);
    free(body);

    /* HTTP Basic client auth, '+' and %-escapes in the body, username case-insensitive. */
    char basic[256], *cred = NULL;
    const char *pair = APP_ID ":" APP_SECRET;
    cred = malloc(256);
    EVP_EncodeBlock((unsigned char *)cred, (const unsigned char *)pair, (int)strlen(pair));
    snprintf(basic, sizeof(basic), "Basic %s", cred);
    token(o,
          "grant_type=password&username=ADMIN%40sfemu.TEST&password=sfemu-Admin-1TOKENADMIN1"
          "&unused=a+b",
          basic, &r);
    at = expect_token(&r, ADMIN, APP_SECRET, false);
    assert_true(live(o, at, ADMIN));
    assert_true(live(o, at, NULL));
    char oauth_hdr[512];
    snprintf(oauth_hdr, sizeof(oauth_hdr), "OAuth %s", at);
    assert_int_equal(emu_oauth_check_bearer(o, oauth_hdr, NULL), 0);
    emu_reply_clear(&r);
    free(at);
    free(cred);
    emu_oauth_destroy(o);
}

static void test_client_credentials_grant(void **state)
{
    (void)state;
    emu_oauth_t *o = make(0);
    emu_reply_t r;
    token(o, "grant_type=client_credentials&client_id=" APP_ID "&client_secret=" APP_SECRET, NULL,
          &r);
    char *at = expect_token(&r, INTEG, APP_SECRET, false);
    assert_true(live(o, at, INTEG));
    emu_reply_clear(&r);
    free(at);
    emu_oauth_destroy(o);
}

typedef struct err_row {
    const char *body, *authz;
    const char *error, *desc;
} err_row_t;

static void test_token_errors(void **state)
{
    (void)state;
    static const err_row_t rows[] = {
        {"grant_type=password&client_id=nope&client_secret=x&username=admin%40sfemu.test"
         "&password=" PASSWORD_OK,
         NULL, "invalid_client_id", "client identifier invalid"},
        {"grant_type=password&username=admin%40sfemu.test&password=" PASSWORD_OK, NULL,
         "invalid_client_id", "client identifier invalid"},
        {"grant_type=password&client_id=" APP_ID "&client_secret=wrong&username=admin%40sfemu"
         ".test&password=" PASSWORD_OK,
         NULL, "invalid_client", "invalid client credentials"},
        {"grant_type=password&client_id=" APP_ID
         "&username=admin%40sfemu.test&password=" PASSWORD_OK,
         NULL, "invalid_client", "invalid client credentials"},
        {"grant_type=password&client_id=" APP_ID "&client_secret=" APP_SECRET
         "&username=nobody%40sfemu.test&password=x",
         NULL, "invalid_grant", "authentication failure"},
        {"grant_type=password&client_id=" APP_ID "&client_secret=" APP_SECRET
         "&username=admin%40sfemu.test&password=sfemu-Admin-1",
         NULL, "invalid_grant", "authentication failure - Invalid Password"},
        {"grant_type=password&client_id=" APP_ID "&client_secret=" APP_SECRET
         "&username=admin%40sfemu.test&password=wrongTOKENADMIN1",
         NULL, "invalid_grant", "authentication failure - Invalid Password"},
        {"grant_type=password&client_id=" APP_ID "&client_secret=" APP_SECRET
         "&username=inactive%40sfemu.test&password=sfemu-Inactive-1",
         NULL, "invalid_grant", "inactive user"},
        {"client_id=" APP_ID "&client_secret=" APP_SECRET, NULL, "unsupported_grant_type",
         "grant type not supported"},
        {"grant_type=implicit&client_id=" APP_ID, NULL, "unsupported_grant_type",
         "grant type not supported"},
        {"grant_type=password&grant_type=password", NULL, "invalid_request", "duplicate parameter"},
        {"grant_type=pass%2word", NULL, "invalid_request", "malformed form encoding"},
        {"grant_type=pass%00word", NULL, "invalid_request", "malformed form encoding"},
        {"grant_type=password%", NULL, "invalid_request", "malformed form encoding"},
        {"grant_type=client_credentials&client_id=" JWT_APP "&client_secret=" JWT_SECRET, NULL,
         "invalid_grant", "no client credentials user enabled"},
        {"grant_type=refresh_token&client_id=" APP_ID "&refresh_token=nope", NULL, "invalid_grant",
         "expired access/refresh token"},
        {"grant_type=refresh_token&client_id=" APP_ID, NULL, "invalid_grant",
         "expired access/refresh token"},
        {"grant_type=authorization_code&client_id=" APP_ID "&client_secret=" APP_SECRET
         "&code=nope&redirect_uri=" REDIRECT,
         NULL, "invalid_grant", "expired authorization code"},
        {"grant_type=authorization_code&client_id=" APP_ID "&code=nope", NULL, "invalid_client",
         "invalid client credentials"},
        {"grant_type=client_credentials", "Basic !!notbase64", "invalid_client",
         "invalid client credentials"},
        {"grant_type=client_credentials", "Basic bm9jb2xvbg==", "invalid_client",
         "invalid client credentials"},
        {"grant_type=" GRANT_JWT, NULL, "invalid_grant", "invalid assertion"},
        {"grant_type=" GRANT_JWT "&assertion=not-a-jwt", NULL, "invalid_grant",
         "invalid assertion"},
        {"grant_type=" GRANT_JWT "&assertion=%%%", NULL, "invalid_request",
         "malformed form encoding"},
        {"grant_type=" GRANT_JWT "&assertion=a.b.c", NULL, "invalid_grant", "invalid assertion"},
        {"grant_type=" GRANT_JWT "&assertion=e30.e30.", NULL, "invalid_grant", "invalid assertion"},
        {"grant_type=" GRANT_JWT "&assertion=e30.e30.e30.e30", NULL, "invalid_grant",
         "invalid assertion"},
    };
    emu_oauth_t *o = make(0);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        emu_reply_t r;
        token(o, rows[i].body, rows[i].authz, &r);
        const char *e = jstr(&r, "error"), *d = jstr(&r, "error_description");
        if (r.status != 400 || !e || !d || strcmp(e, rows[i].error) || strcmp(d, rows[i].desc))
            fail_msg("row %zu (%s): got %d %s / %s", i, rows[i].body, r.status, e ? e : "-",
                     d ? d : "-");
        emu_reply_clear(&r);
    }
    /* Nothing was issued by any of them. */
    assert_int_equal(emu_oauth_session_count(o), 0);
    /* An oversized body is refused before parsing. */
    size_t big = EMU_OAUTH_MAX_FORM + 10;
    char *body = malloc(big + 1);
    memset(body, 'a', big);
    body[big] = '\0';
    emu_reply_t r;
    token(o, body, NULL, &r);
    expect_error(&r, 400, "invalid_request", "request body too large");
    emu_reply_clear(&r);
    free(body);
    emu_oauth_destroy(o);
}

/* ---- web-server flow ---- */

static char *query_param(const char *location, const char *name)
{
    const char *q = strchr(location, '?');
    size_t nl = strlen(name);
    for (const char *p = q; p && *p; p = strchr(p + 1, '&')) {
        if (strncmp(p + 1, name, nl) == 0 && p[1 + nl] == '=') {
            const char *v = p + 2 + nl;
            size_t vl = strcspn(v, "&");
            int outlen = 0;
            char *d = curl_easy_unescape(NULL, v, (int)vl, &outlen);
            char *copy = strdup(d);
            curl_free(d);
            return copy;
        }
    }
    return NULL;
}

static const char *VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-sfemu-test-verifier";

static char *challenge_of(const char *verifier)
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)verifier, strlen(verifier), d);
    return b64url(d, sizeof(d));
}

/* GET /authorize on the auto-approve app with login_hint; returns the code. */
static char *authorize_hint(emu_oauth_t *o, const char *user, const char *scope, bool pkce)
{
    char *ch = challenge_of(VERIFIER);
    char *qs =
        form("response_type", "code", "client_id", APP_ID, "redirect_uri", REDIRECT, "state",
             "st&=1", "login_hint", user, "scope", scope, "code_challenge", pkce ? ch : NULL, NULL);
    emu_reply_t r = {0};
    emu_oauth_authorize(o, "GET", qs, NULL, 0, &r);
    assert_int_equal(r.status, 302);
    assert_non_null(r.location);
    assert_true(strncmp(r.location, REDIRECT "?code=", strlen(REDIRECT "?code=")) == 0);
    char *st = query_param(r.location, "state");
    assert_string_equal(st, "st&=1");
    char *code = query_param(r.location, "code");
    assert_non_null(code);
    free(st);
    free(qs);
    free(ch);
    emu_reply_clear(&r);
    return code;
}

static void test_authorization_code_pkce(void **state)
{
    (void)state;
    emu_oauth_t *o = make(0);
    emu_reply_t r;
    char *code = authorize_hint(o, "admin@sfemu.test", "api refresh_token", true);
    char *body =
        form("grant_type", "authorization_code", "code", code, "client_id", APP_ID, "client_secret",
             APP_SECRET, "redirect_uri", REDIRECT, "code_verifier", VERIFIER, NULL);
    token(o, body, NULL, &r);
    char *at = expect_token(&r, ADMIN, APP_SECRET, true);
    assert_string_equal(jstr(&r, "scope"), "api refresh_token");
    assert_true(live(o, at, ADMIN));
    emu_reply_clear(&r);
    /* A code is single use. */
    token(o, body, NULL, &r);
    expect_error(&r, 400, "invalid_grant", "expired authorization code");
    emu_reply_clear(&r);
    free(body);
    free(code);
    free(at);

    /* Without refresh_token/offline_access in the scope there is no refresh token; scopes
     * the app does not allow are dropped, repeats kept once. */
    code = authorize_hint(o, "admin@sfemu.test", "chatter_api api web api", false);
    body = form("grant_type", "authorization_code", "code", code, "client_id", APP_ID,
                "client_secret", APP_SECRET, "redirect_uri", REDIRECT, NULL);
    token(o, body, NULL, &r);
    free(expect_token(&r, ADMIN, APP_SECRET, false));
    assert_string_equal(jstr(&r, "scope"), "api web");
    emu_reply_clear(&r);
    free(body);
    free(code);

    /* PKCE and redirect errors; each attempt consumes its code. */
    static const struct {
        const char *verifier, *redirect, *error, *desc;
    } rows[] = {
        {NULL, REDIRECT, "invalid_grant", "invalid code verifier"},
        {"wrong-verifier-wrong-verifier-wrong-verifier-wrong", REDIRECT, "invalid_request",
         "invalid code verifier"},
        {"short", REDIRECT, "invalid_request", "invalid code verifier"},
        {"VERIFIER", "http://127.0.0.1:8765/other", "redirect_uri_mismatch",
         "redirect_uri must match configuration"},
        {"VERIFIER", NULL, "redirect_uri_mismatch", "redirect_uri must match configuration"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        code = authorize_hint(o, "admin@sfemu.test", NULL, true);
        const char *v =
            rows[i].verifier && !strcmp(rows[i].verifier, "VERIFIER") ? VERIFIER : rows[i].verifier;
        char extra[512] = "";
        if (v)
            snprintf(extra, sizeof(extra), "&code_verifier=%s", v);
        if (rows[i].redirect) {
            char *e = enc(rows[i].redirect);
            snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), "&redirect_uri=%s", e);
            free(e);
        }
        char b[1024];
        snprintf(b, sizeof(b),
                 "grant_type=authorization_code&client_id=" APP_ID "&client_secret=" APP_SECRET
                 "&code=%s%s",
                 code, extra);
        token(o, b, NULL, &r);
        const char *e = jstr(&r, "error"), *d = jstr(&r, "error_description");
        if (r.status != 400 || !e || strcmp(e, rows[i].error) || strcmp(d, rows[i].desc))
            fail_msg("pkce row %zu: %d %s / %s", i, r.status, e ? e : "-", d ? d : "-");
        emu_reply_clear(&r);
        /* and the code is gone */
        snprintf(b, sizeof(b),
                 "grant_type=authorization_code&client_id=" APP_ID "&client_secret=" APP_SECRET
                 "&code=%s&code_verifier=%s&redirect_uri=%s",
                 code, VERIFIER, "http%3A%2F%2F127.0.0.1%3A8765%2Fcallback");
        token(o, b, NULL, &r);
        expect_error(&r, 400, "invalid_grant", "expired authorization code");
        emu_reply_clear(&r);
        free(code);
    }
    /* Another app cannot redeem the code. */
    code = authorize_hint(o, "admin@sfemu.test", NULL, false);
    body = form("grant_type", "authorization_code", "code", code, "client_id", JWT_APP,
                "client_secret", JWT_SECRET, "redirect_uri", REDIRECT, NULL);
    token(o, body, NULL, &r);
    expect_error(&r, 400, "invalid_grant", "expired authorization code");
    emu_reply_clear(&r);
    free(body);
    free(code);
    emu_oauth_destroy(o);
}

static void test_authorize_page(void **state)
{
    (void)state;
    emu_oauth_t *o = make(0);
    emu_reply_t r = {0};
    char *ch = challenge_of(VERIFIER);
    char *qs = form("response_type", "code", "client_id", INTER_APP, "redirect_uri", REDIRECT,
                    "state", "<x\"y>", "code_challenge", ch, "code_challenge_method", "S256", NULL);

    /* GET: a login page carrying the request in escaped hidden fields. */
    emu_oauth_authorize(o, "GET", qs, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_null(r.location);
    assert_non_null(strstr(r.content_type, "text/html"));
    assert_non_null(strstr(r.text, "name=\"password\""));
    assert_non_null(strstr(r.text, "value=\"&lt;x&quot;y&gt;\""));
    assert_null(strstr(r.text, "<x\"y>"));
    emu_reply_clear(&r);

    /* POST with a wrong password: the page again, with a message, no redirect. */
    char *post = form("response_type", "code", "client_id", INTER_APP, "redirect_uri", REDIRECT,
                      "state", "s1", "code_challenge", ch, "username", "admin@sfemu.test",
                      "password", "wrong", "action", "approve", NULL);
    emu_oauth_authorize(o, "POST", NULL, post, strlen(post), &r);
    assert_int_equal(r.status, 200);
    assert_null(r.location);
    assert_non_null(strstr(r.text, "Please check your username and password"));
    emu_reply_clear(&r);
    free(post);

    /* Deny: back to the client with access_denied and the state. */
    post = form("response_type", "code", "client_id", INTER_APP, "redirect_uri", REDIRECT, "state",
                "s2", "action", "deny", NULL);
    emu_oauth_authorize(o, "POST", NULL, post, strlen(post), &r);
    assert_int_equal(r.status, 302);
    char *err = query_param(r.location, "error"), *st = query_param(r.location, "state");
    assert_string_equal(err, "access_denied");
    assert_string_equal(st, "s2");
    assert_null(query_param(r.location, "code"));
    free(err);
    free(st);
    emu_reply_clear(&r);
    free(post);

    /* Right password (the page takes it without the security token): a code. */
    post = form("response_type", "code", "client_id", INTER_APP, "redirect_uri", REDIRECT, "state",
                "s3", "code_challenge", ch, "username", "admin@sfemu.test", "password",
                "sfemu-Admin-1", "action", "approve", NULL);
    emu_oauth_authorize(o, "POST", NULL, post, strlen(post), &r);
    assert_int_equal(r.status, 302);
    char *code = query_param(r.location, "code");
    assert_non_null(code);
    emu_reply_clear(&r);
    free(post);
    /* This app does not require its secret for the web-server flow. */
    char *body = form("grant_type", "authorization_code", "code", code, "client_id", INTER_APP,
                      "redirect_uri", REDIRECT, "code_verifier", VERIFIER, NULL);
    token(o, body, NULL, &r);
    free(expect_token(&r, ADMIN, INTER_SEC, true));
    emu_reply_clear(&r);
    free(body);
    free(code);

    /* The shortcut needs auto_approve: this app shows the page even with login_hint. */
    char *qs2 = form("response_type", "code", "client_id", INTER_APP, "redirect_uri", REDIRECT,
                     "login_hint", "admin@sfemu.test", NULL);
    emu_oauth_authorize(o, "GET", qs2, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.text, "value=\"admin@sfemu.test\""));
    emu_reply_clear(&r);
    free(qs2);

    /* Unknown client or unregistered redirect_uri: an error page, never a redirect. */
    static const char *const bad[] = {
        "response_type=code&client_id=nope&redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcallback",
        "response_type=code&client_id=" INTER_APP "&redirect_uri=http%3A%2F%2Fevil.example%2F",
        "response_type=code&client_id=" INTER_APP,
        "response_type=code&client_id=" INTER_APP "&client_id=x",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        emu_oauth_authorize(o, "GET", bad[i], NULL, 0, &r);
        assert_int_equal(r.status, 400);
        assert_null(r.location);
        assert_non_null(r.text);
        emu_reply_clear(&r);
    }
    /* Known client and redirect: errors go back to the client. */
    emu_oauth_authorize(o, "GET",
                        "response_type=token&state=z&client_id=" INTER_APP
                        "&redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcallback",
                        NULL, 0, &r);
    assert_int_equal(r.status, 302);
    err = query_param(r.location, "error");
    assert_string_equal(err, "unsupported_response_type");
    free(err);
    emu_reply_clear(&r);
    emu_oauth_authorize(o, "GET",
                        "response_type=code&code_challenge_method=plain&code_challenge=abc"
                        "&client_id=" INTER_APP
                        "&redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcallback",
                        NULL, 0, &r);
    assert_int_equal(r.status, 302);
    err = query_param(r.location, "error");
    assert_string_equal(err, "invalid_request");
    free(err);
    emu_reply_clear(&r);
    free(qs);
    free(ch);
    emu_oauth_destroy(o);
}

/* ---- refresh and revoke ---- */

static char *login_with_refresh(emu_oauth_t *o, char **refresh)
{
    emu_reply_t r;
    char *code = authorize_hint(o, "admin@sfemu.test", "api refresh_token", false);
    char *body = form("grant_type", "authorization_code", "code", code, "client_id", APP_ID,
                      "client_secret", APP_SECRET, "redirect_uri", REDIRECT, NULL);
    token(o, body, NULL, &r);
    char *at = expect_token(&r, ADMIN, APP_SECRET, true);
    *refresh = strdup(jstr(&r, "refresh_token"));
    emu_reply_clear(&r);
    free(body);
    free(code);
    return at;
}

static void test_refresh_and_revoke(void **state)
{
    (void)state;
    emu_oauth_t *o = make(0);
    emu_reply_t r;
    char *rt = NULL;
    char *at1 = login_with_refresh(o, &rt);

    /* Refresh: a new access token, no new refresh token (rotation off), old one still live. */
    char *body = form("grant_type", "refresh_token", "refresh_token", rt, "client_id", APP_ID,
                      "client_secret", APP_SECRET, "format", "json", NULL);
    token(o, body, NULL, &r);
    char *at2 = expect_token(&r, ADMIN, APP_SECRET, false);
    emu_reply_clear(&r);
    assert_string_not_equal(at1, at2);
    assert_true(live(o, at1, ADMIN) && live(o, at2, ADMIN));
    /* The secret is optional for refresh, but a wrong one is refused. */
    char *b2 = form("grant_type", "refresh_token", "refresh_token", rt, "client_id", APP_ID, NULL);
    token(o, b2, NULL, &r);
    char *at3 = expect_token(&r, ADMIN, APP_SECRET, false);
    emu_reply_clear(&r);
    free(b2);
    b2 = form("grant_type", "refresh_token", "refresh_token", rt, "client_id", APP_ID,
              "client_secret", "bad", NULL);
    token(o, b2, NULL, &r);
    expect_error(&r, 400, "invalid_client", "invalid client credentials");
    emu_reply_clear(&r);
    free(b2);
    /* Another app cannot use it. */
    b2 = form("grant_type", "refresh_token", "refresh_token", rt, "client_id", JWT_APP, NULL);
    token(o, b2, NULL, &r);
    expect_error(&r, 400, "invalid_grant", "expired access/refresh token");
    emu_reply_clear(&r);
    free(b2);

    /* Revoking one access token (GET form) kills only that one. */
    char *q = form("token", at3, NULL);
    memset(&r, 0, sizeof(r));
    emu_oauth_revoke(o, "GET", q, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_null(r.json);
    assert_null(r.text);
    emu_reply_clear(&r);
    free(q);
    assert_false(live(o, at3, NULL));
    assert_true(live(o, at1, NULL));

    /* Revoking the refresh token (POST) kills it and every access token of its family. */
    char *pb = form("token", rt, NULL);
    emu_oauth_revoke(o, "POST", NULL, pb, strlen(pb), &r);
    assert_int_equal(r.status, 200);
    emu_reply_clear(&r);
    assert_false(live(o, at1, NULL));
    assert_false(live(o, at2, NULL));
    token(o, body, NULL, &r);
    expect_error(&r, 400, "invalid_grant", "expired access/refresh token");
    emu_reply_clear(&r);
    /* Revoking again: invalid_token. */
    emu_oauth_revoke(o, "POST", NULL, pb, strlen(pb), &r);
    expect_error(&r, 400, "invalid_token", "invalid token");
    emu_reply_clear(&r);
    emu_oauth_revoke(o, "POST", NULL, "", 0, &r);
    expect_error(&r, 400, "invalid_token", "invalid token");
    emu_reply_clear(&r);
    /* JSONP form */
    emu_oauth_revoke(o, "GET", "token=nope&callback=cb.done", NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.text, "cb.done({\"error\":\"invalid_token\"})");
    emu_reply_clear(&r);
    emu_oauth_revoke(o, "GET", "token=nope&callback=alert(1)", NULL, 0, &r);
    assert_int_equal(r.status, 400);
    emu_reply_clear(&r);
    free(pb);
    free(body);
    free(at1);
    free(at2);
    free(at3);
    free(rt);
    emu_oauth_destroy(o);
}

static void test_refresh_rotation(void **state)
{
    (void)state;
    json_t *copy = json_deep_copy(org_json);
    json_object_set_new(json_array_get(json_object_get(copy, "connected_apps"), 0),
                        "rotate_refresh_tokens", json_true());
    char err[256];
    emu_oauth_t *o = emu_oauth_create(copy, BASE, 0, err, sizeof(err));
    assert_non_null(o);
    char *rt = NULL, *at = login_with_refresh(o, &rt);
    emu_reply_t r;
    char *body =
        form("grant_type", "refresh_token", "refresh_token", rt, "client_id", APP_ID, NULL);
    token(o, body, NULL, &r);
    free(expect_token(&r, ADMIN, APP_SECRET, true));
    assert_string_not_equal(jstr(&r, "refresh_token"), rt);
    emu_reply_clear(&r);
    token(o, body, NULL, &r); /* the old refresh token is spent */
    expect_error(&r, 400, "invalid_grant", "expired access/refresh token");
    emu_reply_clear(&r);
    free(body);
    free(rt);
    free(at);
    emu_oauth_destroy(o);
    json_decref(copy);
}

/* ---- JWT bearer ---- */

typedef struct jwt_row {
    const char *name;
    const char *header;
    const char *iss, *sub_name, *sub, *aud;
    long long exp_offset;
    bool exp_string;
    int key;                  /* 0 app key, 1 wrong key, 2 HMAC with the client secret, 3 none */
    const char *error, *desc; /* NULL = success */
} jwt_row_t;

static void test_jwt_bearer(void **state)
{
    (void)state;
    static const jwt_row_t rows[] = {
        {"sub, numeric exp", "{\"alg\":\"RS256\"}", JWT_APP, "sub", "jwt@sfemu.test",
         "https://login.salesforce.com", 180, false, 0, NULL, NULL},
        {"prn, string exp", "{\"alg\":\"RS256\",\"typ\":\"JWT\"}", JWT_APP, "prn", "jwt@sfemu.test",
         "https://test.salesforce.com", 180, true, 0, NULL, NULL},
        {"aud = own base url", "{\"alg\":\"RS256\"}", JWT_APP, "sub", "jwt@sfemu.test", BASE, 180,
         false, 0, NULL, NULL},
        {"aud with slash", "{\"alg\":\"RS256\"}", JWT_APP, "sub", "jwt@sfemu.test",
         "https://login.salesforce.com/", 180, false, 0, NULL, NULL},
        {"exp within skew", "{\"alg\":\"RS256\"}", JWT_APP, "sub", "jwt@sfemu.test",
         "https://login.salesforce.com", -60, false, 0, NULL, NULL},
        {"wrong key", "{\"alg\":\"RS256\"}", JWT_APP, "sub", "jwt@sfemu.test",
         "https://login.salesforce.com", 180, false, 1, "invalid_grant", "invalid assertion"},
        {"HS256", "{\"alg\":\"HS256\"}", JWT_APP, "sub", "jwt@sfemu.test",
         "https://login.salesforce.com", 180, false, 2, "invalid_grant", "invalid assertion"},
        {"alg none", "{\"alg\":\"none\"}", JWT_APP, "sub", "jwt@sfemu.test",
         "https://login.salesforce.com", 180, false, 3, "invalid_grant", "invalid assertion"},
        {"RS256 unsigned", "{\"alg\":\"RS256\"}", JWT_APP, "sub", "jwt@sfemu.test",
         "https://login.salesforce.com", 180, false, 3, "invalid_grant", "invalid assertion"},
        {"no alg", "{\"typ\":\"JWT\"}", JWT_APP, "sub", "jwt@sfemu.test",
         "https://login.salesforce.com", 180, false, 0, "invalid_grant", "invalid assertion"},
        {"header not an object", "[1]", JWT_APP, "sub", "jwt@sfemu.test",
         "https://login.salesforce.com", 180, false, 0, "invalid_grant", "invalid assertion"},
        {"wrong aud", "{\"alg\":\"RS256\"}", JWT_APP, "sub", "jwt@sfemu.test",
         "https://evil.example.com", 180, false, 0, "invalid_grant", "Audience validation failed"},
        {"no aud", "{\"alg\":\"RS256\"}", JWT_APP, "sub", "jwt@sfemu.test", NULL, 180, false, 0,
         "invalid_grant", "Audience validation failed"},
        {"expired", "{\"alg\":\"RS256\"}", JWT_APP, "sub", "jwt@sfemu.test",
         "https://login.salesforce.com", -600, false, 0, "invalid_grant",
         "expired authorization code"},
        {"expired string", "{\"alg\":\"RS256\"}", JWT_APP, "sub", "jwt@sfemu.test",
         "https://login.salesforce.com", -600, true, 0, "invalid_grant",
         "expired authorization code"},
        {"no iss", "{\"alg\":\"RS256\"}", NULL, "sub", "jwt@sfemu.test",
         "https://login.salesforce.com", 180, false, 0, "invalid_grant", "invalid assertion"},
        {"unknown iss", "{\"alg\":\"RS256\"}", "3MVGunknown", "sub", "jwt@sfemu.test",
         "https://login.salesforce.com", 180, false, 0, "invalid_client_id",
         "client identifier invalid"},
        {"app without certificate", "{\"alg\":\"RS256\"}", INTER_APP, "sub", "admin@sfemu.test",
         "https://login.salesforce.com", 180, false, 0, "invalid_grant", "invalid assertion"},
        {"no sub", "{\"alg\":\"RS256\"}", JWT_APP, "sub", NULL, "https://login.salesforce.com", 180,
         false, 0, "invalid_grant", "invalid assertion"},
        {"unknown sub", "{\"alg\":\"RS256\"}", JWT_APP, "sub", "ghost@sfemu.test",
         "https://login.salesforce.com", 180, false, 0, "invalid_grant", "invalid assertion"},
        {"not approved", "{\"alg\":\"RS256\"}", JWT_APP, "sub", "noapproval@sfemu.test",
         "https://login.salesforce.com", 180, false, 0, "invalid_grant",
         "user hasn't approved this consumer"},
        {"inactive", "{\"alg\":\"RS256\"}", JWT_APP, "sub", "inactive@sfemu.test",
         "https://login.salesforce.com", 180, false, 0, "invalid_grant", "inactive user"},
    };
    emu_oauth_t *o = make(0);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const jwt_row_t *row = &rows[i];
        char *claims = claims_json(row->iss, row->sub_name, row->sub, row->aud, row->exp_offset,
                                   row->exp_string);
        EVP_PKEY *key = row->key == 0 ? app_key : row->key == 1 ? wrong_key : NULL;
        char *a = jws(row->header, claims, key, row->key == 2 ? JWT_SECRET : NULL);
        char *body = form("grant_type", GRANT_JWT, "assertion", a, NULL);
        emu_reply_t r;
        token(o, body, NULL, &r);
        if (row->error) {
            const char *e = jstr(&r, "error"), *d = jstr(&r, "error_description");
            if (r.status != 400 || !e || strcmp(e, row->error) || strcmp(d, row->desc))
                fail_msg("jwt row '%s': %d %s / %s", row->name, r.status, e ? e : "-", d ? d : "-");
        } else {
            char *at = expect_token(&r, JWTUSER, JWT_SECRET, false);
            assert_string_equal(jstr(&r, "scope"), "api id");
            assert_true(live(o, at, JWTUSER));
            free(at);
        }
        emu_reply_clear(&r);
        free(body);
        free(a);
        free(claims);
    }

    /* A signed token whose claims were altered afterwards. */
    char *claims =
        claims_json(JWT_APP, "sub", "jwt@sfemu.test", "https://login.salesforce.com", 180, false);
    char *a = jws("{\"alg\":\"RS256\"}", claims, app_key, NULL);
    char *other =
        claims_json(JWT_APP, "sub", "admin@sfemu.test", "https://login.salesforce.com", 180, false);
    char *oc = b64url((const unsigned char *)other, strlen(other));
    char *dot1 = strchr(a, '.'), *dot2 = strchr(dot1 + 1, '.');
    char tampered[8192];
    snprintf(tampered, sizeof(tampered), "%.*s.%s%s", (int)(dot1 - a), a, oc, dot2);
    char *body = form("grant_type", GRANT_JWT, "assertion", tampered, NULL);
    emu_reply_t r;
    token(o, body, NULL, &r);
    expect_error(&r, 400, "invalid_grant", "invalid assertion");
    emu_reply_clear(&r);
    free(body);
    /* aud as an array holding a login URL. */
    free(claims);
    claims = strdup("{\"iss\":\"" JWT_APP "\",\"sub\":\"jwt@sfemu.test\",\"aud\":["
                    "\"https://x.example\",\"https://login.salesforce.com\"],\"exp\":9999999999}");
    free(a);
    a = jws("{\"alg\":\"RS256\"}", claims, app_key, NULL);
    body = form("grant_type", GRANT_JWT, "assertion", a, NULL);
    token(o, body, NULL, &r);
    free(expect_token(&r, JWTUSER, JWT_SECRET, false));
    emu_reply_clear(&r);
    free(body);
    free(a);
    free(claims);
    free(other);
    free(oc);
    emu_oauth_destroy(o);
}

/* Approving the app on the authorize page counts as approval for the JWT flow too. */
static void test_jwt_after_page_approval(void **state)
{
    (void)state;
    emu_oauth_t *o = make(0);
    char *claims = claims_json(APP_ID, "sub", "noapproval@sfemu.test",
                               "https://login.salesforce.com", 180, false);
    char *a = jws("{\"alg\":\"RS256\"}", claims, app_key, NULL);
    char *body = form("grant_type", GRANT_JWT, "assertion", a, NULL);
    emu_reply_t r;
    token(o, body, NULL, &r);
    expect_error(&r, 400, "invalid_grant", "user hasn't approved this consumer");
    emu_reply_clear(&r);
    char *code = authorize_hint(o, "noapproval@sfemu.test", NULL, false);
    free(code);
    token(o, body, NULL, &r);
    free(expect_token(&r, "0055j00000NoAppAAF", APP_SECRET, false));
    emu_reply_clear(&r);
    free(body);
    free(a);
    free(claims);
    emu_oauth_destroy(o);
}

/* ---- introspect, userinfo, identity, discovery ---- */

/* The reference fixtures live beside the repository (../shared/reference); NULL when absent,
 * e.g. in a checkout without them, and the shape comparison is then skipped. */
static json_t *load_fixture(const char *name)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/../shared/reference/fixtures/%s", SFB_SOURCE_DIR, name);
    json_t *j = json_load_file(path, 0, NULL);
    if (!j)
        fprintf(stderr, "note: fixture %s not found; shape check skipped\n", path);
    return j;
}

static void test_introspect(void **state)
{
    (void)state;
    emu_oauth_t *o = make(0);
    char *rt = NULL, *at = login_with_refresh(o, &rt);
    emu_reply_t r = {0};
    char *body = form("token", at, "token_type_hint", "access_token", "client_id", APP_ID,
                      "client_secret", APP_SECRET, NULL);
    emu_oauth_introspect(o, body, strlen(body), NULL, &r);
    assert_int_equal(r.status, 200);
    /* Same keys and JSON types as the reference fixture. */
    json_t *fx = load_fixture("oauth_introspect_active.sf_postman_placeholders.json");
    const char *k;
    json_t *v;
    json_object_foreach(fx, k, v) /* no-op when the reference is not checked out */
    {
        json_t *mine = json_object_get(r.json, k);
        if (!mine || json_typeof(mine) != json_typeof(v))
            fail_msg("introspect key %s missing or of another type", k);
    }
    json_decref(fx);
    assert_true(json_is_true(json_object_get(r.json, "active")));
    assert_string_equal(jstr(&r, "token_type"), "access_token");
    assert_string_equal(jstr(&r, "username"), "admin@sfemu.test");
    assert_string_equal(jstr(&r, "client_id"), APP_ID);
    assert_string_equal(jstr(&r, "sub"), BASE "/id/" ORG "/" ADMIN);
    emu_reply_clear(&r);
    free(body);

    /* Refresh token via Basic auth. */
    char basic[256], cred[200];
    EVP_EncodeBlock((unsigned char *)cred, (const unsigned char *)APP_ID ":" APP_SECRET,
                    (int)strlen(APP_ID ":" APP_SECRET));
    snprintf(basic, sizeof(basic), "Basic %s", cred);
    body = form("token", rt, NULL);
    emu_oauth_introspect(o, body, strlen(body), basic, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(&r, "token_type"), "refresh_token");
    emu_reply_clear(&r);
    free(body);

    /* Another app sees nothing; unknown tokens are inactive; bad credentials refused. */
    body = form("token", at, "client_id", JWT_APP, "client_secret", JWT_SECRET, NULL);
    emu_oauth_introspect(o, body, strlen(body), NULL, &r);
    assert_int_equal(r.status, 200);
    assert_true(json_is_false(json_object_get(r.json, "active")));
    assert_int_equal(json_object_size(r.json), 1);
    emu_reply_clear(&r);
    free(body);
    body = form("token", "nope", "client_id", APP_ID, "client_secret", APP_SECRET, NULL);
    emu_oauth_introspect(o, body, strlen(body), NULL, &r);
    assert_true(json_is_false(json_object_get(r.json, "active")));
    emu_reply_clear(&r);
    free(body);
    body = form("token", at, "client_id", APP_ID, "client_secret", "bad", NULL);
    emu_oauth_introspect(o, body, strlen(body), NULL, &r);
    expect_error(&r, 400, "invalid_client", "invalid client credentials");
    emu_reply_clear(&r);
    free(body);
    free(at);
    free(rt);
    emu_oauth_destroy(o);
}

static void test_identity_and_userinfo(void **state)
{
    (void)state;
    emu_oauth_t *o = make(0);
    emu_reply_t r = {0};
    token(o,
          "grant_type=password&client_id=" APP_ID "&client_secret=" APP_SECRET
          "&username=admin%40sfemu.test&password=" PASSWORD_OK,
          NULL, &r);
    char *at = expect_token(&r, ADMIN, APP_SECRET, false);
    emu_reply_clear(&r);
    char *h = bearer(at);

    static const char *const paths[] = {"/id/" ORG "/" ADMIN, "/id/" ORG15 "/0055j00000AdMin",
                                        "/id/" ORG "/" INTEG "/"};
    for (size_t i = 0; i < 3; i++) {
        emu_oauth_identity(o, paths[i], h, &r);
        assert_int_equal(r.status, 200);
        const char *want = i == 2 ? INTEG : ADMIN;
        assert_string_equal(jstr(&r, "user_id"), want);
        assert_string_equal(jstr(&r, "organization_id"), ORG);
        char id[256];
        snprintf(id, sizeof(id), BASE "/id/" ORG "/%s", want);
        assert_string_equal(jstr(&r, "id"), id);
        static const char *const strs[] = {"username",          "display_name", "email",
                                           "user_type",         "language",     "locale",
                                           "last_modified_date"};
        for (size_t k = 0; k < sizeof(strs) / sizeof(strs[0]); k++)
            if (!jstr(&r, strs[k]))
                fail_msg("identity: %s missing", strs[k]);
        assert_true(json_is_true(json_object_get(r.json, "active")));
        assert_true(json_is_integer(json_object_get(r.json, "utcOffset")));
        json_t *urls = json_object_get(r.json, "urls");
        assert_string_equal(json_string_value(json_object_get(urls, "rest")),
                            BASE "/services/data/v{version}/");
        assert_string_equal(json_string_value(json_object_get(urls, "partner")),
                            BASE "/services/Soap/u/{version}/" ORG15);
        emu_reply_clear(&r);
    }
    static const char *const bad_paths[] = {"/id/00D000000000000AAA/" ADMIN,
                                            "/id/" ORG "/0050000000000000AA", "/id/" ORG,
                                            "/id/" ORG "/" ADMIN "x", "/nope"};
    for (size_t i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++) {
        emu_oauth_identity(o, bad_paths[i], h, &r);
        if (r.status != 404)
            fail_msg("identity %s: %d", bad_paths[i], r.status);
        emu_reply_clear(&r);
    }
    emu_oauth_identity(o, paths[0], "Bearer nope", &r);
    assert_int_equal(r.status, 403);
    assert_string_equal(r.text, "Bad_OAuth_Token");
    emu_reply_clear(&r);
    emu_oauth_identity(o, paths[0], NULL, &r);
    assert_int_equal(r.status, 403);
    emu_reply_clear(&r);

    emu_oauth_userinfo(o, h, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(jstr(&r, "user_id"), ADMIN);
    assert_string_equal(jstr(&r, "organization_id"), ORG);
    assert_string_equal(jstr(&r, "preferred_username"), "admin@sfemu.test");
    assert_string_equal(jstr(&r, "sub"), BASE "/id/" ORG "/" ADMIN);
    emu_reply_clear(&r);
    emu_oauth_userinfo(o, "Basic abc", &r);
    assert_int_equal(r.status, 403);
    emu_reply_clear(&r);
    free(h);
    free(at);
    emu_oauth_destroy(o);
}

static void test_openid_configuration(void **state)
{
    (void)state;
    emu_oauth_t *o = make(0);
    emu_reply_t r = {0};
    emu_oauth_openid_configuration(o, &r);
    assert_int_equal(r.status, 200);
    json_t *fx = load_fixture("oidc_openid_configuration.login_salesforce_com.json");
    if (!fx) {
        emu_reply_clear(&r);
        emu_oauth_destroy(o);
        skip();
    }
    const char *k;
    json_t *v;
    json_object_foreach(fx, k, v)
    {
        json_t *mine = json_object_get(r.json, k);
        if (!mine || json_typeof(mine) != json_typeof(v))
            fail_msg("discovery key %s missing or of another type", k);
        if (json_is_string(v)) {
            /* Same URL with login.salesforce.com replaced by our base. */
            const char *fs = json_string_value(v), *ms = json_string_value(mine);
            const char *host = "https://login.salesforce.com";
            assert_true(strncmp(fs, host, strlen(host)) == 0);
            assert_true(strncmp(ms, BASE, strlen(BASE)) == 0);
            assert_string_equal(fs + strlen(host), ms + strlen(BASE));
        } else {
            assert_true(json_equal(v, mine));
        }
    }
    assert_int_equal(json_object_size(fx), json_object_size(r.json));
    json_decref(fx);
    emu_reply_clear(&r);
    emu_oauth_destroy(o);
}

/* ---- sessions ---- */

static void test_expiry_and_expire_all(void **state)
{
    (void)state;
    emu_oauth_t *o = make(0);
    emu_reply_t r;
    char *rt = NULL, *at = login_with_refresh(o, &rt);
    assert_true(live(o, at, ADMIN));
    /* The control API kills access tokens; the refresh token still works. */
    emu_oauth_expire_all_sessions(o);
    assert_false(live(o, at, NULL));
    char *body =
        form("grant_type", "refresh_token", "refresh_token", rt, "client_id", APP_ID, NULL);
    token(o, body, NULL, &r);
    char *at2 = expect_token(&r, ADMIN, APP_SECRET, false);
    emu_reply_clear(&r);
    assert_true(live(o, at2, ADMIN));

    /* A 1-second TTL applies to tokens issued from then on. */
    emu_oauth_set_token_ttl(o, 1);
    token(o, body, NULL, &r);
    char *short_lived = expect_token(&r, ADMIN, APP_SECRET, false);
    emu_reply_clear(&r);
    assert_true(live(o, short_lived, ADMIN));
    sleep(2);
    assert_false(live(o, short_lived, NULL));
    assert_true(live(o, at2, ADMIN));
    emu_oauth_set_token_ttl(o, 0);
    free(body);
    free(short_lived);
    free(at2);
    free(at);
    free(rt);
    emu_oauth_destroy(o);
}

static void test_table_is_bounded(void **state)
{
    (void)state;
    emu_oauth_t *o = make(0);
    emu_reply_t r;
    char *first = NULL, *last = NULL;
    const char *body =
        "grant_type=client_credentials&client_id=" APP_ID "&client_secret=" APP_SECRET;
    for (size_t i = 0; i < EMU_OAUTH_MAX_SESSIONS + 5; i++) {
        token(o, body, NULL, &r);
        assert_int_equal(r.status, 200);
        if (i == 0)
            first = strdup(jstr(&r, "access_token"));
        if (i == EMU_OAUTH_MAX_SESSIONS + 4)
            last = strdup(jstr(&r, "access_token"));
        emu_reply_clear(&r);
    }
    assert_int_equal(emu_oauth_session_count(o), EMU_OAUTH_MAX_SESSIONS);
    assert_false(live(o, first, NULL)); /* the oldest went first */
    assert_true(live(o, last, INTEG));
    free(first);
    free(last);
    emu_oauth_destroy(o);
}

typedef struct worker {
    emu_oauth_t *o;
    int ok, failed;
} worker_t;

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    for (int i = 0; i < 300; i++) {
        emu_reply_t r = {0};
        const char *body =
            i % 2 ? "grant_type=client_credentials&client_id=" APP_ID "&client_secret=" APP_SECRET
                  : "grant_type=password&client_id=" APP_ID "&client_secret=" APP_SECRET
                    "&username=admin%40sfemu.test&password=" PASSWORD_OK;
        emu_oauth_token(w->o, body, strlen(body), NULL, &r);
        const char *at = json_string_value(json_object_get(r.json, "access_token"));
        char h[512];
        snprintf(h, sizeof(h), "Bearer %s", at ? at : "");
        emu_session_t s;
        if (r.status == 200 && emu_oauth_check_bearer(w->o, h, &s) == 0)
            w->ok++;
        else
            w->failed++;
        if (at && i % 3 == 0) {
            char rb[512];
            snprintf(rb, sizeof(rb), "token=%s", at);
            emu_reply_t rv = {0};
            emu_oauth_revoke(w->o, "POST", NULL, rb, strlen(rb), &rv);
            if (rv.status != 200 || emu_oauth_check_bearer(w->o, h, NULL) == 0)
                w->failed++;
            emu_reply_clear(&rv);
        }
        emu_oauth_check_bearer(w->o, "Bearer " ORG15 "!unknown", NULL);
        emu_reply_clear(&r);
    }
    return NULL;
}

static void test_concurrency_smoke(void **state)
{
    (void)state;
    emu_oauth_t *o = make(0);
    pthread_t th[4];
    worker_t w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker_t){.o = o};
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].failed, 0);
        assert_int_equal(w[i].ok, 300);
    }
    assert_int_equal(emu_oauth_session_count(o), 4 * 200);
    emu_oauth_destroy(o);
}

static int setup(void **state)
{
    (void)state;
    sfb_log_init(SFB_LOG_WARN, SFB_LOG_FORMAT_TEXT, 2);
    json_error_t je;
    org_json = json_load_file(EMU_DATA_DIR "/org.json", 0, &je);
    if (!org_json) {
        fprintf(stderr, "org.json: %s line %d\n", je.text, je.line);
        return -1;
    }
    FILE *f = fopen(EMU_DATA_DIR "/test-keys/jwt-app.TEST-ONLY.key", "r");
    if (!f)
        return -1;
    app_key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    wrong_key = EVP_RSA_gen(2048);
    return app_key && wrong_key ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    json_decref(org_json);
    EVP_PKEY_free(app_key);
    EVP_PKEY_free(wrong_key);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_certificate_matches_file),
        cmocka_unit_test(test_create_rejects_bad_config),
        cmocka_unit_test(test_password_grant),
        cmocka_unit_test(test_client_credentials_grant),
        cmocka_unit_test(test_token_errors),
        cmocka_unit_test(test_authorization_code_pkce),
        cmocka_unit_test(test_authorize_page),
        cmocka_unit_test(test_refresh_and_revoke),
        cmocka_unit_test(test_refresh_rotation),
        cmocka_unit_test(test_jwt_bearer),
        cmocka_unit_test(test_jwt_after_page_approval),
        cmocka_unit_test(test_introspect),
        cmocka_unit_test(test_identity_and_userinfo),
        cmocka_unit_test(test_openid_configuration),
        cmocka_unit_test(test_expiry_and_expire_all),
        cmocka_unit_test(test_table_is_bounded),
        cmocka_unit_test(test_concurrency_smoke),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
