/*
 * sf_auth.c - OAuth 2.0 per org: JWT bearer, client credentials, refresh
 * token, username-password, the web-server flow pieces (PKCE), revoke.
 *
 * One access token per org, shared by every thread. A token request is
 * single flight: the first thread that needs one does the request, the others
 * wait on tok_cond for its result. A final refusal (the token endpoint said no
 * with an OAuth error, the key cannot sign, the stored token is unreadable)
 * puts the org in SF_ORG_FAILED with a sentence telling the user what to do.
 */
#include "sf_int.h"
#include "sfb.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

size_t sf_b64url(const unsigned char *in, size_t len, char *out)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0, i = 0;
    for (; i + 2 < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        out[o++] = tbl[(v >> 18) & 63];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = tbl[(v >> 6) & 63];
        out[o++] = tbl[v & 63];
    }
    if (len - i == 1) {
        unsigned v = (unsigned)in[i] << 16;
        out[o++] = tbl[(v >> 18) & 63];
        out[o++] = tbl[(v >> 12) & 63];
    } else if (len - i == 2) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
        out[o++] = tbl[(v >> 18) & 63];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = tbl[(v >> 6) & 63];
    }
    out[o] = '\0';
    return o;
}

/* ------------------------------------------------------------------ PKCE */

int sf_pkce_challenge(const char *verifier, char *challenge)
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    if (EVP_Digest(verifier, strlen(verifier), md, &mdlen, EVP_sha256(), NULL) != 1)
        return -1;
    sf_b64url(md, mdlen, challenge);
    return 0;
}

int sf_pkce_generate(char *verifier, char *challenge)
{
    unsigned char rnd[32];
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        return -1;
    sf_b64url(rnd, sizeof(rnd), verifier); /* 43 chars, RFC 7636 minimum length */
    OPENSSL_cleanse(rnd, sizeof(rnd));
    return sf_pkce_challenge(verifier, challenge);
}

int sf_random_state(char *buf, size_t buf_size)
{
    unsigned char rnd[16];
    if (buf_size < 23 || RAND_bytes(rnd, sizeof(rnd)) != 1)
        return -1;
    sf_b64url(rnd, sizeof(rnd), buf);
    return 0;
}

/* ------------------------------------------------------------------ JWT */

char *sf_jwt_assertion(const char *private_key_pem, const char *iss, const char *sub,
                       const char *aud, long exp, char *errstr, size_t errstr_size)
{
    BIO *bio = NULL;
    EVP_PKEY *pkey = NULL;
    EVP_MD_CTX *md = NULL;
    json_t *claims = NULL;
    char *claims_txt = NULL, *out = NULL, *input = NULL;
    unsigned char *sig = NULL;
    size_t siglen = 0;
    static const char header[] = "{\"alg\":\"RS256\"}";

    bio = BIO_new_mem_buf(private_key_pem, -1);
    if (!bio || !(pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL))) {
        snprintf(errstr, errstr_size,
                 "the private key is not a readable PEM private key "
                 "(encrypted keys are not supported)");
        goto done;
    }
    if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
        snprintf(errstr, errstr_size, "the private key is not an RSA key (JWT bearer needs RS256)");
        goto done;
    }
    claims = json_pack("{s:s, s:s, s:s, s:I}", "iss", iss, "sub", sub, "aud", aud, "exp",
                       (json_int_t)exp);
    claims_txt = claims ? json_dumps(claims, JSON_COMPACT) : NULL;
    if (!claims_txt) {
        snprintf(errstr, errstr_size, "cannot build the JWT claims");
        goto done;
    }
    size_t hlen = strlen(header), clen = strlen(claims_txt);
    input = malloc(hlen * 2 + clen * 2 + 8);
    if (!input)
        goto oom;
    size_t o = sf_b64url((const unsigned char *)header, hlen, input);
    input[o++] = '.';
    o += sf_b64url((const unsigned char *)claims_txt, clen, input + o);

    md = EVP_MD_CTX_new();
    if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey) != 1 ||
        EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)input, o) != 1)
        goto sign_fail;
    sig = malloc(siglen);
    if (!sig || EVP_DigestSign(md, sig, &siglen, (const unsigned char *)input, o) != 1)
        goto sign_fail;
    out = malloc(o + 1 + siglen * 2 + 8);
    if (!out)
        goto oom;
    memcpy(out, input, o);
    out[o] = '.';
    sf_b64url(sig, siglen, out + o + 1);
    goto done;
sign_fail:
    snprintf(errstr, errstr_size, "signing the JWT failed");
    goto done;
oom:
    snprintf(errstr, errstr_size, "out of memory");
done:
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pkey);
    BIO_free(bio);
    json_decref(claims);
    free(claims_txt);
    free(input);
    free(sig);
    return out;
}

/* ------------------------------------------------------------------ forms */

typedef struct {
    char *buf;
    size_t len, cap;
    bool oom;
} form_t;

static void form_add(form_t *f, const char *name, const char *value)
{
    char *enc;
    size_t need;
    if (f->oom || !value)
        return;
    enc = sf_urlencode(value);
    need = f->len + strlen(name) + (enc ? strlen(enc) : 0) + 3;
    if (!enc || need > f->cap) {
        size_t cap = need * 2;
        char *b = enc ? malloc(cap) : NULL;
        if (!b) {
            f->oom = true;
            sf_secret_free(enc);
            return;
        }
        if (f->buf) {
            memcpy(b, f->buf, f->len + 1);
            OPENSSL_cleanse(f->buf, f->cap);
            free(f->buf);
        }
        f->buf = b;
        f->cap = cap;
    }
    f->len +=
        (size_t)snprintf(f->buf + f->len, f->cap - f->len, "%s%s=%s", f->len ? "&" : "", name, enc);
    sf_secret_free(enc);
}

static void form_free(form_t *f)
{
    if (f->buf) {
        OPENSSL_cleanse(f->buf, f->cap);
        free(f->buf);
    }
    memset(f, 0, sizeof(*f));
}

/* ------------------------------------------------------------------ token responses */

int sf_token_response_parse(const char *body, size_t len, char **access_token, char **instance_url,
                            char **id_url, char **refresh_token, sf_error_t **errp)
{
    json_t *root = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, NULL);
    const char *at = json_string_value(json_object_get(root, "access_token"));
    const char *iu = json_string_value(json_object_get(root, "instance_url"));
    const char *id = json_string_value(json_object_get(root, "id"));
    const char *rt = json_string_value(json_object_get(root, "refresh_token"));
    int ret = -1;
    *access_token = *instance_url = NULL;
    if (id_url)
        *id_url = NULL;
    if (refresh_token)
        *refresh_token = NULL;
    if (!json_is_object(root) || !at || !*at || !iu || strncmp(iu, "http", 4) != 0) {
        /* Never echo the body: it may hold a token. */
        sf_set_err(errp, sf_error_new(SF_ERR_PARSE, 200, NULL,
                                      "token response lacks access_token or instance_url"));
        goto done;
    }
    *access_token = strdup(at);
    *instance_url = strdup(iu);
    if (id_url)
        *id_url = sf_strdup(id);
    if (refresh_token)
        *refresh_token = sf_strdup(rt);
    if (!*access_token || !*instance_url) {
        sf_secret_free(*access_token);
        free(*instance_url);
        *access_token = *instance_url = NULL;
        sf_set_err(errp, sf_error_new(SF_ERR_INTERNAL, 0, NULL, "out of memory"));
        goto done;
    }
    /* Drop trailing slashes so paths can be appended. */
    while (strlen(*instance_url) > 8 && (*instance_url)[strlen(*instance_url) - 1] == '/')
        (*instance_url)[strlen(*instance_url) - 1] = '\0';
    ret = 0;
done:
    json_decref(root);
    return ret;
}

static const char *what_to_do(const sf_org_t *org, const char *code)
{
    if (code && (strcmp(code, "invalid_client_id") == 0 || strcmp(code, "invalid_client") == 0))
        return "check client_id and client_secret against the connected app of this org";
    switch (org->flow) {
    case SF_FLOW_JWT:
        return "check that private_key matches the certificate of the connected app, that "
               "username is pre-authorized for the app, and that audience is the login host "
               "(https://login.salesforce.com or https://test.salesforce.com)";
    case SF_FLOW_CLIENT_CREDENTIALS:
        return "check client_id and client_secret and that the connected app has a run-as user "
               "for the client credentials flow";
    case SF_FLOW_REFRESH_TOKEN:
        return "the refresh token is expired or revoked: log in again with "
               "`sfbridge login --org NAME -c FILE`";
    case SF_FLOW_PASSWORD:
        return "check username and password (with the security token appended) and that the "
               "user is not locked out";
    }
    return "check the org's auth settings";
}

/* Posts a token request and parses it. On an OAuth refusal sets *final. */
static int token_post(sf_org_t *org, const char *form, char **at, char **iu, char **id, char **rt,
                      bool *final, sf_error_t **errp)
{
    char url[1024];
    sf_http_resp_t resp;
    sf_http_req_t req = {.method = "POST",
                         .url = url,
                         .content_type = "application/x-www-form-urlencoded",
                         .body = form,
                         .body_len = strlen(form)};
    *final = false;
    snprintf(url, sizeof(url), "%s/services/oauth2/token", org->login_url);
    if (sf_http_do(org, &req, &resp, errp) != 0)
        return -1;
    int ret = -1;
    if (resp.status == 200) {
        ret = sf_token_response_parse(resp.body, resp.len, at, iu, id, rt, errp);
    } else {
        sf_error_t *err = sf_error_from_response(resp.status, resp.body, resp.len);
        if (err && err->kind == SF_ERR_AUTH && resp.status >= 400 && resp.status < 500 &&
            resp.status != 408 && resp.status != 429) {
            char msg[1024];
            snprintf(msg, sizeof(msg), "org %s: Salesforce refused the %s login (%s): %s",
                     org->name,
                     org->flow == SF_FLOW_JWT                  ? "JWT bearer"
                     : org->flow == SF_FLOW_CLIENT_CREDENTIALS ? "client credentials"
                     : org->flow == SF_FLOW_REFRESH_TOKEN      ? "refresh token"
                                                               : "username-password",
                     err->message, what_to_do(org, err->code));
            free(err->message);
            err->message = strdup(msg);
            err->auth_final = true;
            *final = true;
        } else if (err) {
            /* 5xx, 429 or an odd body from the token endpoint: worth retrying. */
            err->kind = resp.status >= 500 || resp.status == 429 ? SF_ERR_AUTH : err->kind;
        }
        sf_set_err(errp, err);
    }
    sf_http_resp_clear(&resp);
    return ret;
}

/* Where the refresh-token flow gets its token: current, config, then store. */
static char *refresh_token_source(sf_org_t *org, bool *final, sf_error_t **errp)
{
    char *tok = NULL;
    pthread_mutex_lock(&org->tok_lock);
    tok = sf_strdup(org->refresh_token ? org->refresh_token : org->refresh_token_conf);
    pthread_mutex_unlock(&org->tok_lock);
    if (tok || !org->store_path || !org->has_store_key)
        return tok;
    sf_error_t *err = NULL;
    if (sf_store_get(org->store_path, org->store_key, org->name, &tok, &err) != 0 || !tok) {
        char msg[768];
        snprintf(msg, sizeof(msg),
                 "org %s: no usable refresh token: %s; log in with "
                 "`sfbridge login --org %s -c FILE`",
                 org->name, err ? err->message : "the token store has no entry for this org",
                 org->name);
        sf_error_destroy(err);
        err = sf_error_new(SF_ERR_AUTH, 0, NULL, "%s", msg);
        if (err)
            err->auth_final = true;
        *final = true;
        sf_set_err(errp, err);
        return NULL;
    }
    return tok;
}

/* Runs the org's flow once (no lock held). */
static int auth_login(sf_org_t *org, char **at, char **iu, char **id, char **rt, bool *final,
                      sf_error_t **errp)
{
    form_t f = {0};
    char *assertion = NULL, *refresh = NULL;
    int ret = -1;
    *final = false;
    switch (org->flow) {
    case SF_FLOW_JWT: {
        char err2[256] = "";
        assertion = sf_jwt_assertion(org->private_key_pem, org->client_id, org->username,
                                     org->audience ? org->audience : org->login_url,
                                     (long)time(NULL) + 180, err2, sizeof(err2));
        if (!assertion) {
            sf_error_t *err = sf_error_new(SF_ERR_AUTH, 0, NULL, "org %s: %s", org->name, err2);
            if (err)
                err->auth_final = true;
            *final = true;
            sf_set_err(errp, err);
            goto done;
        }
        form_add(&f, "grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer");
        form_add(&f, "assertion", assertion);
        break;
    }
    case SF_FLOW_CLIENT_CREDENTIALS:
        form_add(&f, "grant_type", "client_credentials");
        form_add(&f, "client_id", org->client_id);
        form_add(&f, "client_secret", org->client_secret);
        break;
    case SF_FLOW_REFRESH_TOKEN:
        refresh = refresh_token_source(org, final, errp);
        if (!refresh)
            goto done;
        form_add(&f, "grant_type", "refresh_token");
        form_add(&f, "refresh_token", refresh);
        form_add(&f, "client_id", org->client_id);
        form_add(&f, "client_secret", org->client_secret);
        break;
    case SF_FLOW_PASSWORD:
        form_add(&f, "grant_type", "password");
        form_add(&f, "client_id", org->client_id);
        form_add(&f, "client_secret", org->client_secret);
        form_add(&f, "username", org->username);
        form_add(&f, "password", org->password);
        break;
    }
    form_add(&f, "format", "json");
    if (f.oom || !f.buf) {
        sf_set_err(errp, sf_error_new(SF_ERR_INTERNAL, 0, NULL, "out of memory"));
        goto done;
    }
    ret = token_post(org, f.buf, at, iu, id, rt, final, errp);
    /* With refresh-token rotation the old token dies now: keep the new one in the store. */
    if (ret == 0 && org->flow == SF_FLOW_REFRESH_TOKEN && *rt && strcmp(*rt, refresh) != 0 &&
        !org->refresh_token_conf && org->store_path && org->has_store_key) {
        sf_error_t *serr = NULL;
        if (sf_store_put(org->store_path, org->store_key, org->name, *rt, &serr) == 0)
            SFB_INFO(org->scope, "refresh token rotated; token store updated");
        else
            SFB_ERROR(org->scope, "refresh token rotated but not stored: %s", serr->message);
        sf_error_destroy(serr);
    }
    /* Without rotation the refresh flow returns no new refresh token: keep ours. */
    if (ret == 0 && org->flow == SF_FLOW_REFRESH_TOKEN && !*rt) {
        *rt = refresh;
        refresh = NULL;
    }
done:
    form_free(&f);
    sf_secret_free(assertion);
    sf_secret_free(refresh);
    return ret;
}

/* Installs a new token (tok_lock held). Takes ownership of the strings. */
static void token_install(sf_org_t *org, char *at, char *iu, char *id, char *rt)
{
    sf_secret_free(org->access_token);
    free(org->instance_url);
    free(org->id_url);
    org->access_token = at;
    org->instance_url = iu;
    org->id_url = id;
    if (rt) {
        sf_secret_free(org->refresh_token);
        org->refresh_token = rt;
    }
    org->token_at_ms = sf_now_ms();
    org->token_gen++;
    org->state = SF_ORG_READY;
}

int sf_auth_get(sf_org_t *org, char **token, char **instance_url, uint64_t *gen, sf_error_t **errp)
{
    char *at = NULL, *iu = NULL, *id = NULL, *rt = NULL;
    sf_error_t *err = NULL;
    bool final = false;
    int ret = -1;

    pthread_mutex_lock(&org->tok_lock);
    for (;;) {
        if (org->state == SF_ORG_FAILED) {
            err = sf_error_new(SF_ERR_AUTH, 0, NULL, "%s", org->failed_msg);
            if (err)
                err->auth_final = true;
            sf_set_err(errp, err);
            pthread_mutex_unlock(&org->tok_lock);
            return -1;
        }
        if (org->access_token && sf_now_ms() - org->token_at_ms < org->token_max_age_s * 1000) {
            *token = strdup(org->access_token);
            *instance_url = strdup(org->instance_url);
            if (gen)
                *gen = org->token_gen;
            pthread_mutex_unlock(&org->tok_lock);
            if (!*token || !*instance_url) {
                sf_secret_free(*token);
                free(*instance_url);
                sf_set_err(errp, sf_error_new(SF_ERR_INTERNAL, 0, NULL, "out of memory"));
                return -1;
            }
            return 0;
        }
        if (!org->refreshing)
            break;
        /* Someone is asking already: wait for their answer, and share a failure. */
        uint64_t seq = org->refresh_seq;
        while (org->refreshing && org->refresh_seq == seq)
            pthread_cond_wait(&org->tok_cond, &org->tok_lock);
        if (!org->access_token && org->state != SF_ORG_FAILED) {
            err = sf_error_new(org->last_err_kind, org->last_err_status, NULL, "%s",
                               org->last_err_msg);
            sf_set_err(errp, err);
            pthread_mutex_unlock(&org->tok_lock);
            return -1;
        }
    }
    org->refreshing = true;
    pthread_mutex_unlock(&org->tok_lock);

    SFB_DEBUG(org->scope, "requesting an access token");
    ret = auth_login(org, &at, &iu, &id, &rt, &final, &err);

    pthread_mutex_lock(&org->tok_lock);
    org->refreshing = false;
    org->refresh_seq++;
    if (ret == 0) {
        token_install(org, at, iu, id, rt);
        at = iu = id = rt = NULL;
        *token = strdup(org->access_token);
        *instance_url = strdup(org->instance_url);
        if (gen)
            *gen = org->token_gen;
    } else {
        sf_secret_free(org->access_token);
        org->access_token = NULL;
        org->last_err_kind = err ? err->kind : SF_ERR_INTERNAL;
        org->last_err_status = err ? err->http_status : 0;
        snprintf(org->last_err_msg, sizeof(org->last_err_msg), "%s",
                 err ? err->message : "login failed");
        if (final) {
            org->state = SF_ORG_FAILED;
            snprintf(org->failed_msg, sizeof(org->failed_msg), "%s",
                     err ? err->message : "login failed");
        }
    }
    pthread_cond_broadcast(&org->tok_cond);
    pthread_mutex_unlock(&org->tok_lock);

    if (ret == 0) {
        SFB_INFO(org->scope, "logged in (instance %s)", *instance_url);
        if (!*token || !*instance_url) {
            sf_secret_free(*token);
            free(*instance_url);
            sf_set_err(errp, sf_error_new(SF_ERR_INTERNAL, 0, NULL, "out of memory"));
            return -1;
        }
    } else if (final) {
        SFB_ERROR(org->scope, "%s", err ? err->message : "login failed");
    } else {
        SFB_WARN(org->scope, "login failed, will be retried: %s", err ? err->message : "?");
    }
    sf_set_err(errp, err);
    return ret;
}

void sf_auth_drop(sf_org_t *org, uint64_t gen)
{
    pthread_mutex_lock(&org->tok_lock);
    if (org->token_gen == gen && org->access_token) {
        sf_secret_free(org->access_token);
        org->access_token = NULL;
        SFB_INFO(org->scope, "session expired or invalid: getting a new token");
    }
    pthread_mutex_unlock(&org->tok_lock);
}

void sf_org_invalidate_token(sf_org_t *org)
{
    pthread_mutex_lock(&org->tok_lock);
    sf_secret_free(org->access_token);
    org->access_token = NULL;
    org->token_gen++;
    pthread_mutex_unlock(&org->tok_lock);
}

char *sf_auth_id_url(sf_org_t *org)
{
    char *id;
    pthread_mutex_lock(&org->tok_lock);
    id = sf_strdup(org->id_url);
    pthread_mutex_unlock(&org->tok_lock);
    return id;
}

int sf_org_login(sf_org_t *org, sf_error_t **errp)
{
    char *tok = NULL, *iu = NULL;
    if (sf_auth_get(org, &tok, &iu, NULL, errp) != 0)
        return -1;
    sf_secret_free(tok);
    free(iu);
    return 0;
}

/* ------------------------------------------------------------------ web-server flow */

char *sf_auth_authorize_url(sf_org_t *org, const char *redirect_uri, const char *state,
                            const char *challenge, const char *scope)
{
    form_t f = {0};
    char *url = NULL;
    form_add(&f, "response_type", "code");
    form_add(&f, "client_id", org->client_id);
    form_add(&f, "redirect_uri", redirect_uri);
    form_add(&f, "code_challenge", challenge);
    if (challenge)
        form_add(&f, "code_challenge_method", "S256");
    form_add(&f, "state", state);
    form_add(&f, "scope", scope ? scope : "api refresh_token");
    if (!f.oom && f.buf) {
        size_t n = strlen(org->login_url) + f.len + 64;
        url = malloc(n);
        if (url)
            snprintf(url, n, "%s/services/oauth2/authorize?%s", org->login_url, f.buf);
    }
    form_free(&f);
    return url;
}

int sf_auth_code_exchange(sf_org_t *org, const char *code, const char *verifier,
                          const char *redirect_uri, char **refresh_token, sf_error_t **errp)
{
    form_t f = {0};
    char *at = NULL, *iu = NULL, *id = NULL, *rt = NULL;
    bool final = false;
    int ret = -1;
    *refresh_token = NULL;
    form_add(&f, "grant_type", "authorization_code");
    form_add(&f, "code", code);
    form_add(&f, "client_id", org->client_id);
    form_add(&f, "client_secret", org->client_secret);
    form_add(&f, "redirect_uri", redirect_uri);
    form_add(&f, "code_verifier", verifier);
    form_add(&f, "format", "json");
    if (f.oom || !f.buf) {
        sf_set_err(errp, sf_error_new(SF_ERR_INTERNAL, 0, NULL, "out of memory"));
        goto done;
    }
    if (token_post(org, f.buf, &at, &iu, &id, &rt, &final, errp) != 0)
        goto done;
    if (!rt) {
        sf_set_err(errp, sf_error_new(SF_ERR_AUTH, 200, NULL,
                                      "org %s: Salesforce returned no refresh token; add the "
                                      "refresh_token scope to the connected app",
                                      org->name));
        goto done;
    }
    *refresh_token = strdup(rt);
    pthread_mutex_lock(&org->tok_lock);
    token_install(org, at, iu, id, rt);
    at = iu = id = rt = NULL;
    pthread_mutex_unlock(&org->tok_lock);
    ret = *refresh_token ? 0 : -1;
done:
    form_free(&f);
    sf_secret_free(at);
    free(iu);
    free(id);
    sf_secret_free(rt);
    return ret;
}

int sf_auth_revoke(sf_org_t *org, const char *token, sf_error_t **errp)
{
    form_t f = {0};
    char url[1024];
    sf_http_resp_t resp;
    int ret = -1;
    form_add(&f, "token", token);
    if (f.oom || !f.buf) {
        sf_set_err(errp, sf_error_new(SF_ERR_INTERNAL, 0, NULL, "out of memory"));
        goto done;
    }
    snprintf(url, sizeof(url), "%s/services/oauth2/revoke", org->login_url);
    sf_http_req_t req = {.method = "POST",
                         .url = url,
                         .content_type = "application/x-www-form-urlencoded",
                         .body = f.buf,
                         .body_len = f.len};
    if (sf_http_do(org, &req, &resp, errp) != 0)
        goto done;
    if (resp.status == 200)
        ret = 0;
    else
        sf_set_err(errp, sf_error_from_response(resp.status, resp.body, resp.len));
    sf_http_resp_clear(&resp);
done:
    form_free(&f);
    return ret;
}
