/*
 * emu_oauth.c - configuration (data/org.json), the session API the REST
 * layer calls (check_bearer, expire_all, ttl), and the identity endpoints:
 * userinfo, the identity URL and the OpenID discovery document.
 * The token endpoint is in emu_oauth_token.c; authorize, revoke and
 * introspect in emu_oauth_authorize.c.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "emu_oauth_int.h"
#include "sfb.h"

void emu_reply_clear(emu_reply_t *r)
{
    if (!r)
        return;
    json_decref(r->json);
    free(r->text);
    free(r->location);
    memset(r, 0, sizeof(*r));
}

int64_t emu_oauth_now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

char *emu_oauth_random(size_t nbytes)
{
    unsigned char buf[64];
    if (nbytes > sizeof(buf) || RAND_bytes(buf, (int)nbytes) != 1)
        return NULL;
    return emu_b64url_encode(buf, nbytes);
}

bool emu_oauth_secret_eq(const char *a, const char *b)
{
    if (!a || !b)
        return false;
    size_t la = strlen(a), lb = strlen(b);
    /* Length is not secret here (it is in the data file); the bytes are compared in constant time.
     */
    return la == lb && CRYPTO_memcmp(a, b, la) == 0;
}

void emu_oauth_reply_error(emu_reply_t *out, int status, const char *error, const char *desc)
{
    out->status = status;
    out->json = json_pack("{s:s, s:s}", "error", error, "error_description", desc);
}

void emu_oauth_reply_text(emu_reply_t *out, int status, const char *text)
{
    out->status = status;
    out->text = strdup(text);
    out->content_type = "text/plain;charset=UTF-8";
}

long emu_oauth_find_app(const emu_oauth_t *o, const char *client_id)
{
    if (!client_id)
        return -1;
    for (size_t i = 0; i < o->n_apps; i++)
        if (strcmp(o->apps[i].client_id, client_id) == 0)
            return (long)i;
    return -1;
}

long emu_oauth_find_user(const emu_oauth_t *o, const char *username)
{
    if (!username)
        return -1;
    /* Salesforce usernames are email-shaped and compared case-insensitively. */
    for (size_t i = 0; i < o->n_users; i++)
        if (strcasecmp(o->users[i].username, username) == 0)
            return (long)i;
    return -1;
}

char *emu_oauth_identity_url(const emu_oauth_t *o, const emu_user_t *u)
{
    size_t n = strlen(o->base_url) + 4 + 18 + 1 + 18 + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/id/%s/%s", o->base_url, o->org_id, u->id);
    return s;
}

const char *emu_oauth_bearer_value(const char *header)
{
    if (!header)
        return NULL;
    while (*header == ' ')
        header++;
    size_t skip;
    if (strncasecmp(header, "Bearer ", 7) == 0)
        skip = 7;
    else if (strncasecmp(header, "OAuth ", 6) == 0)
        skip = 6;
    else
        return NULL;
    header += skip;
    while (*header == ' ')
        header++;
    return *header ? header : NULL;
}

bool emu_oauth_has_scope(const char *scopes, const char *want)
{
    size_t wl = strlen(want);
    if (wl == 0)
        return false;
    for (const char *p = scopes; (p = strstr(p, want)) != NULL; p += wl)
        if ((p == scopes || p[-1] == ' ') && (p[wl] == ' ' || p[wl] == '\0'))
            return true;
    return false;
}

char *emu_oauth_grant_scope(const emu_app_t *a, const char *requested)
{
    if (!requested || !*requested)
        return strdup(a->scopes);
    size_t cap = strlen(requested) + 1;
    char *out = calloc(1, cap);
    char *copy = strdup(requested);
    char *save = NULL;
    if (!out || !copy)
        goto fail;
    for (char *s = strtok_r(copy, " ", &save); s; s = strtok_r(NULL, " ", &save)) {
        /* Keep a requested scope when the app allows it, once. */
        bool allowed = emu_oauth_has_scope(a->scopes, s);
        if (allowed && !emu_oauth_has_scope(out, s)) {
            if (*out)
                strcat(out, " ");
            strcat(out, s);
        }
    }
    free(copy);
    if (!*out) {
        /* Nothing requested is allowed: grant what the app is configured for. */
        free(out);
        return strdup(a->scopes);
    }
    return out;
fail:
    free(out);
    free(copy);
    return NULL;
}

/* ---- configuration ---- */

static char *get_str(const json_t *obj, const char *key, const char *def)
{
    const char *v = json_string_value(json_object_get(obj, key));
    if (!v)
        v = def;
    return v ? strdup(v) : NULL;
}

static bool get_bool(const json_t *obj, const char *key, bool def)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_boolean(v) ? json_is_true(v) : def;
}

static int check_id(const char *id, const char *what, char *err, size_t err_size)
{
    size_t n = id ? strlen(id) : 0;
    bool ok = n == 18;
    for (size_t i = 0; ok && i < n; i++)
        ok = isalnum((unsigned char)id[i]) != 0;
    if (!ok)
        snprintf(err, err_size, "%s: an 18-character id is required", what);
    return ok ? 0 : -1;
}

static EVP_PKEY *load_cert_key(const char *pem, char *err, size_t err_size, const char *app)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    X509 *x509 = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    EVP_PKEY *pkey = x509 ? X509_get_pubkey(x509) : NULL;
    if (!pkey)
        snprintf(err, err_size, "connected app %s: certificate is not a PEM X.509 certificate",
                 app);
    else if (EVP_PKEY_base_id(pkey) != EVP_PKEY_RSA) {
        snprintf(err, err_size, "connected app %s: certificate key is not RSA (RS256 needs RSA)",
                 app);
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    X509_free(x509);
    BIO_free(bio);
    ERR_clear_error();
    return pkey;
}

static int load_users(emu_oauth_t *o, const json_t *users, char *err, size_t err_size)
{
    if (!json_is_array(users) || json_array_size(users) == 0) {
        snprintf(err, err_size, "org.json: \"users\" must be a non-empty array");
        return -1;
    }
    o->users = calloc(json_array_size(users), sizeof(*o->users));
    if (!o->users)
        return -1;
    size_t i;
    const json_t *ju;
    json_array_foreach(users, i, ju)
    {
        emu_user_t *u = &o->users[o->n_users++];
        const char *id = json_string_value(json_object_get(ju, "id"));
        if (check_id(id, "org.json: users[].id", err, err_size) != 0)
            return -1;
        memcpy(u->id, id, 19);
        u->username = get_str(ju, "username", NULL);
        u->password = get_str(ju, "password", NULL);
        if (!u->username || !u->password) {
            snprintf(err, err_size, "org.json: users[%zu] needs username and password", i);
            return -1;
        }
        if (o->n_users > 1 && emu_oauth_find_user(o, u->username) != (long)i) {
            snprintf(err, err_size, "org.json: username %s appears twice", u->username);
            return -1;
        }
        u->security_token = get_str(ju, "security_token", "");
        u->first_name = get_str(ju, "first_name", "");
        u->last_name = get_str(ju, "last_name", u->username);
        char display[512];
        snprintf(display, sizeof(display), "%s%s%s", u->first_name, *u->first_name ? " " : "",
                 u->last_name);
        u->display_name = get_str(ju, "display_name", display);
        u->email = get_str(ju, "email", u->username);
        u->user_type = get_str(ju, "user_type", "STANDARD");
        u->language = get_str(ju, "language", o->org_language);
        u->locale = get_str(ju, "locale", o->org_locale);
        u->timezone = get_str(ju, "timezone", o->org_timezone);
        u->last_modified_date = get_str(ju, "last_modified_date", "2024-01-01T00:00:00.000+0000");
        u->utc_offset = (long long)json_integer_value(json_object_get(ju, "utc_offset"));
        u->active = get_bool(ju, "active", true);
        if (!u->security_token || !u->first_name || !u->last_name || !u->display_name ||
            !u->email || !u->user_type || !u->language || !u->locale || !u->timezone ||
            !u->last_modified_date)
            return -1;
    }
    return 0;
}

static int load_user_list(emu_oauth_t *o, const json_t *list, bool *flags, const char *app,
                          char *err, size_t err_size)
{
    size_t i;
    const json_t *v;
    if (list && !json_is_array(list)) {
        snprintf(err, err_size, "connected app %s: pre_authorized_users must be an array", app);
        return -1;
    }
    json_array_foreach(list, i, v)
    {
        long u = emu_oauth_find_user(o, json_string_value(v));
        if (u < 0) {
            snprintf(err, err_size, "connected app %s: pre-authorised user %s is not in users", app,
                     json_string_value(v) ? json_string_value(v) : "(not a string)");
            return -1;
        }
        flags[u] = true;
    }
    return 0;
}

static int load_apps(emu_oauth_t *o, const json_t *apps, char *err, size_t err_size)
{
    if (!json_is_array(apps) || json_array_size(apps) == 0) {
        snprintf(err, err_size, "org.json: \"connected_apps\" must be a non-empty array");
        return -1;
    }
    o->apps = calloc(json_array_size(apps), sizeof(*o->apps));
    if (!o->apps)
        return -1;
    size_t i;
    const json_t *ja;
    json_array_foreach(apps, i, ja)
    {
        emu_app_t *a = &o->apps[o->n_apps++];
        a->run_as = -1;
        a->client_id = get_str(ja, "client_id", NULL);
        a->client_secret = get_str(ja, "client_secret", NULL);
        a->name = get_str(ja, "name", a->client_id);
        if (!a->client_id || !a->client_secret || !a->name) {
            snprintf(err, err_size,
                     "org.json: connected_apps[%zu] needs client_id and "
                     "client_secret",
                     i);
            return -1;
        }
        if (emu_oauth_find_app(o, a->client_id) != (long)i) {
            snprintf(err, err_size, "org.json: client_id of %s appears twice", a->name);
            return -1;
        }
        a->scopes = get_str(ja, "scopes", "api");
        a->require_secret_for_web_server = get_bool(ja, "require_secret_for_web_server", true);
        a->auto_approve = get_bool(ja, "auto_approve", false);
        a->rotate_refresh_tokens = get_bool(ja, "rotate_refresh_tokens", false);
        a->preauth = calloc(o->n_users, sizeof(bool));
        if (!a->scopes || !a->preauth)
            return -1;
        const json_t *uris = json_object_get(ja, "redirect_uris");
        if (uris && !json_is_array(uris)) {
            snprintf(err, err_size, "connected app %s: redirect_uris must be an array", a->name);
            return -1;
        }
        a->redirect_uris = calloc(json_array_size(uris) + 1, sizeof(char *));
        if (!a->redirect_uris)
            return -1;
        size_t k;
        const json_t *ju;
        json_array_foreach(uris, k, ju)
        {
            if (!json_is_string(ju)) {
                snprintf(err, err_size, "connected app %s: redirect_uris[%zu] is not a string",
                         a->name, k);
                return -1;
            }
            a->redirect_uris[a->n_redirect_uris++] = strdup(json_string_value(ju));
        }
        const char *run_as = json_string_value(json_object_get(ja, "run_as"));
        if (run_as) {
            a->run_as = emu_oauth_find_user(o, run_as);
            if (a->run_as < 0) {
                snprintf(err, err_size, "connected app %s: run_as user %s is not in users", a->name,
                         run_as);
                return -1;
            }
        }
        if (load_user_list(o, json_object_get(ja, "pre_authorized_users"), a->preauth, a->name, err,
                           err_size) != 0)
            return -1;
        const char *cert = json_string_value(json_object_get(ja, "certificate"));
        if (cert) {
            a->pkey = load_cert_key(cert, err, err_size, a->name);
            if (!a->pkey)
                return -1;
        }
    }
    return 0;
}

emu_oauth_t *emu_oauth_create(const json_t *org_json, const char *base_url, int token_ttl_seconds,
                              char *err, size_t err_size)
{
    emu_oauth_t *o = NULL;
    snprintf(err, err_size, "out of memory");
    if (!json_is_object(org_json) || !base_url || !*base_url) {
        snprintf(err, err_size, "org.json must be an object and base_url set");
        return NULL;
    }
    o = calloc(1, sizeof(*o));
    if (!o)
        return NULL;
    pthread_mutex_init(&o->mu, NULL);
    o->token_ttl = token_ttl_seconds > 0 ? token_ttl_seconds : EMU_OAUTH_DEFAULT_TTL;
    o->next_family = 1;
    size_t bl = strlen(base_url);
    while (bl > 0 && base_url[bl - 1] == '/')
        bl--; /* "http://h:1/" and "http://h:1" name the same base */
    o->base_url = strndup(base_url, bl);

    const json_t *org = json_object_get(org_json, "org");
    const char *org_id = json_string_value(json_object_get(org, "id"));
    if (check_id(org_id, "org.json: org.id", err, err_size) != 0)
        goto fail;
    memcpy(o->org_id, org_id, 19);
    memcpy(o->org_id15, org_id, 15);
    o->org_name = get_str(org, "name", "sfemu");
    o->org_language = get_str(org, "language", "en_US");
    o->org_locale = get_str(org, "locale", "en_US");
    o->org_timezone = get_str(org, "timezone", "GMT");
    if (!o->base_url || !o->org_name || !o->org_language || !o->org_locale || !o->org_timezone)
        goto fail;

    const json_t *urls = json_object_get(org, "login_urls");
    static const char *const default_urls[] = {"https://login.salesforce.com",
                                               "https://test.salesforce.com"};
    size_t nurls = json_is_array(urls) ? json_array_size(urls) : 2;
    o->login_urls = calloc(nurls + 1, sizeof(char *));
    if (!o->login_urls)
        goto fail;
    for (size_t i = 0; i < nurls; i++) {
        const char *u =
            json_is_array(urls) ? json_string_value(json_array_get(urls, i)) : default_urls[i];
        if (!u) {
            snprintf(err, err_size, "org.json: org.login_urls[%zu] is not a string", i);
            goto fail;
        }
        o->login_urls[o->n_login_urls++] = strdup(u);
    }

    if (load_users(o, json_object_get(org_json, "users"), err, err_size) != 0 ||
        load_apps(o, json_object_get(org_json, "connected_apps"), err, err_size) != 0)
        goto fail;
    o->approved = calloc(o->n_apps * o->n_users, sizeof(bool));
    if (!o->approved)
        goto fail;
    err[0] = '\0';
    return o;
fail:
    emu_oauth_destroy(o);
    return NULL;
}

void emu_oauth_destroy(emu_oauth_t *o)
{
    if (!o)
        return;
    emu_tok_destroy_all(o);
    for (size_t i = 0; i < o->n_users; i++) {
        emu_user_t *u = &o->users[i];
        free(u->username);
        free(u->password);
        free(u->security_token);
        free(u->first_name);
        free(u->last_name);
        free(u->display_name);
        free(u->email);
        free(u->user_type);
        free(u->language);
        free(u->locale);
        free(u->timezone);
        free(u->last_modified_date);
    }
    for (size_t i = 0; i < o->n_apps; i++) {
        emu_app_t *a = &o->apps[i];
        free(a->name);
        free(a->client_id);
        free(a->client_secret);
        for (size_t k = 0; k < a->n_redirect_uris; k++)
            free(a->redirect_uris[k]);
        free(a->redirect_uris);
        free(a->scopes);
        free(a->preauth);
        EVP_PKEY_free(a->pkey);
    }
    for (size_t i = 0; i < o->n_login_urls; i++)
        free(o->login_urls[i]);
    free(o->login_urls);
    free(o->users);
    free(o->apps);
    free(o->approved);
    free(o->org_name);
    free(o->org_language);
    free(o->org_locale);
    free(o->org_timezone);
    free(o->base_url);
    pthread_mutex_destroy(&o->mu);
    free(o);
}

/* ---- sessions ---- */

int emu_oauth_lookup_access(emu_oauth_t *o, const char *token, size_t *user, size_t *app)
{
    int rc = -1;
    pthread_mutex_lock(&o->mu);
    emu_tok_t *t = emu_tok_find(o, token, EMU_TOK_ACCESS);
    if (t) {
        *user = t->user;
        *app = t->app;
        rc = 0;
    }
    pthread_mutex_unlock(&o->mu);
    /* A user deactivated in the data file cannot be, but keep the check where it belongs. */
    if (rc == 0 && !o->users[*user].active)
        rc = -1;
    return rc;
}

int emu_oauth_check_bearer(emu_oauth_t *o, const char *authorization_header, emu_session_t *out)
{
    size_t user, app;
    const char *token = emu_oauth_bearer_value(authorization_header);
    if (!o || !token || emu_oauth_lookup_access(o, token, &user, &app) != 0)
        return -1;
    if (out) {
        memset(out, 0, sizeof(*out));
        memcpy(out->user_id, o->users[user].id, 19);
        memcpy(out->org_id, o->org_id, 19);
        snprintf(out->username, sizeof(out->username), "%s", o->users[user].username);
    }
    return 0;
}

void emu_oauth_expire_all_sessions(emu_oauth_t *o)
{
    pthread_mutex_lock(&o->mu);
    emu_tok_remove_kind(o, EMU_TOK_ACCESS);
    pthread_mutex_unlock(&o->mu);
    SFB_INFO(EMU_OAUTH_SCOPE, "oauth: all access tokens expired by the control API");
}

void emu_oauth_set_token_ttl(emu_oauth_t *o, int seconds)
{
    pthread_mutex_lock(&o->mu);
    o->token_ttl = seconds > 0 ? seconds : EMU_OAUTH_DEFAULT_TTL;
    pthread_mutex_unlock(&o->mu);
}

size_t emu_oauth_session_count(emu_oauth_t *o)
{
    pthread_mutex_lock(&o->mu);
    size_t n = o->n_tok;
    pthread_mutex_unlock(&o->mu);
    return n;
}

/* ---- identity ---- */

/* Salesforce's identity service answers a bad token with 403 and this plain-text body
 * ([UNCONFIRMED] in the reference: from memory of real orgs, not from a fixture). */
#define EMU_BAD_TOKEN "Bad_OAuth_Token"

static char *concat3(const char *a, const char *b, const char *c)
{
    size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s%s%s", a, b, c);
    return s;
}

/* The `urls` object of the identity response; {version} is left for the client to fill in. */
static json_t *identity_urls(const emu_oauth_t *o, const emu_user_t *u)
{
    enum { NONE, ORG, USER };
    static const struct {
        const char *key, *middle; /* url = base_url + middle + the id named by `arg` */
        int arg;
    } rows[] = {
        {"enterprise", "/services/Soap/c/{version}/", ORG},
        {"metadata", "/services/Soap/m/{version}/", ORG},
        {"partner", "/services/Soap/u/{version}/", ORG},
        {"rest", "/services/data/v{version}/", NONE},
        {"sobjects", "/services/data/v{version}/sobjects/", NONE},
        {"search", "/services/data/v{version}/search/", NONE},
        {"query", "/services/data/v{version}/query/", NONE},
        {"recent", "/services/data/v{version}/recent/", NONE},
        {"tooling_soap", "/services/Soap/T/{version}/", ORG},
        {"tooling_rest", "/services/data/v{version}/tooling/", NONE},
        {"profile", "/", USER},
        {"feeds", "/services/data/v{version}/chatter/feeds", NONE},
        {"groups", "/services/data/v{version}/chatter/groups", NONE},
        {"users", "/services/data/v{version}/chatter/users", NONE},
        {"feed_items", "/services/data/v{version}/chatter/feed-items", NONE},
        {"feed_elements", "/services/data/v{version}/chatter/feed-elements", NONE},
        {"custom_domain", "", NONE},
    };
    json_t *urls = json_object();
    for (size_t i = 0; urls && i < sizeof(rows) / sizeof(rows[0]); i++) {
        const char *arg = rows[i].arg == ORG ? o->org_id15 : rows[i].arg == USER ? u->id : "";
        char *s = concat3(o->base_url, rows[i].middle, arg);
        json_object_set_new(urls, rows[i].key, s ? json_string(s) : json_null());
        free(s);
    }
    return urls;
}

static json_t *photos(const emu_oauth_t *o, const emu_user_t *u)
{
    char pic[512], thumb[512];
    snprintf(pic, sizeof(pic), "%s/profilephoto/005/F", o->base_url);
    snprintf(thumb, sizeof(thumb), "%s/profilephoto/005/T", o->base_url);
    return json_pack("{s:s, s:s}", "picture", pic, "thumbnail", thumb);
}

static json_t *identity_json(const emu_oauth_t *o, const emu_user_t *u)
{
    char *id = emu_oauth_identity_url(o, u);
    json_t *j = json_pack(
        "{s:s?, s:b, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:o, s:n, s:b, s:b,"
        " s:o, s:b, s:s, s:s, s:s, s:I, s:s, s:b}",
        "id", id, "asserted_user", 1, "user_id", u->id, "organization_id", o->org_id, "username",
        u->username, "nick_name", u->username, "display_name", u->display_name, "email", u->email,
        "email_verified", 1, "first_name", u->first_name, "last_name", u->last_name, "timezone",
        u->timezone, "photos", photos(o, u), "mobile_phone", "mobile_phone_verified", 0,
        "is_lightning_login_user", 0, "urls", identity_urls(o, u), "active", u->active, "user_type",
        u->user_type, "language", u->language, "locale", u->locale, "utcOffset",
        (json_int_t)u->utc_offset, "last_modified_date", u->last_modified_date, "is_app_installed",
        1);
    free(id);
    return j;
}

void emu_oauth_identity(emu_oauth_t *o, const char *path, const char *authorization_header,
                        emu_reply_t *out)
{
    size_t user, app;
    const char *token = emu_oauth_bearer_value(authorization_header);
    if (!token || emu_oauth_lookup_access(o, token, &user, &app) != 0) {
        emu_oauth_reply_text(out, 403, EMU_BAD_TOKEN);
        return;
    }
    /* /id/ORG/USER with 15- or 18-character ids; the 15-character prefix is case-sensitive. */
    char org[32] = "", uid[32] = "";
    const char *p = path && strncmp(path, "/id/", 4) == 0 ? path + 4 : NULL;
    const char *slash = p ? strchr(p, '/') : NULL;
    if (slash && (size_t)(slash - p) < sizeof(org)) {
        memcpy(org, p, (size_t)(slash - p));
        snprintf(uid, sizeof(uid), "%s", slash + 1);
        size_t ul = strlen(uid);
        if (ul > 0 && uid[ul - 1] == '/')
            uid[ul - 1] = '\0';
    }
    size_t ol = strlen(org), ul = strlen(uid);
    bool org_ok = (ol == 15 || ol == 18) && strncmp(org, o->org_id, ol) == 0;
    long found = -1;
    for (size_t i = 0; org_ok && (ul == 15 || ul == 18) && i < o->n_users; i++)
        if (strncmp(uid, o->users[i].id, ul) == 0)
            found = (long)i;
    if (found < 0) {
        /* Status and text for an unknown org/user are [UNCONFIRMED]: not in the reference. */
        emu_oauth_reply_text(out, 404, "Bad_Id");
        return;
    }
    out->status = 200;
    out->json = identity_json(o, &o->users[found]);
}

void emu_oauth_userinfo(emu_oauth_t *o, const char *authorization_header, emu_reply_t *out)
{
    size_t user, app;
    const char *token = emu_oauth_bearer_value(authorization_header);
    if (!token || emu_oauth_lookup_access(o, token, &user, &app) != 0) {
        emu_oauth_reply_text(out, 403, EMU_BAD_TOKEN);
        return;
    }
    const emu_user_t *u = &o->users[user];
    char *id = emu_oauth_identity_url(o, u);
    char profile[512];
    snprintf(profile, sizeof(profile), "%s/%s", o->base_url, u->id);
    json_t *pics = photos(o, u);
    /* Claim names as the discovery document's claims_supported lists them. */
    out->json = json_pack(
        "{s:s?, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:o, s:s, s:s?, s:{}, s:b,"
        " s:o, s:b, s:s, s:s, s:s, s:I, s:s, s:b}",
        "sub", id, "user_id", u->id, "organization_id", o->org_id, "preferred_username",
        u->username, "nickname", u->username, "name", u->display_name, "email", u->email,
        "email_verified", 1, "given_name", u->first_name, "family_name", u->last_name, "zoneinfo",
        u->timezone, "photos", json_deep_copy(pics), "profile", profile, "picture",
        json_string_value(json_object_get(pics, "picture")), "address",
        "is_salesforce_integration_user", 0, "urls", identity_urls(o, u), "active", u->active,
        "user_type", u->user_type, "language", u->language, "locale", u->locale, "utcOffset",
        (json_int_t)u->utc_offset, "updated_at", u->last_modified_date, "is_app_installed", 1);
    json_decref(pics);
    free(id);
    out->status = out->json ? 200 : 500;
}

void emu_oauth_openid_configuration(emu_oauth_t *o, emu_reply_t *out)
{
    static const char *const scopes[] = {"cdp_ingest_api",
                                         "custom_permissions",
                                         "cdp_segment_api",
                                         "content",
                                         "cdp_api",
                                         "chatbot_api",
                                         "cdp_identityresolution_api",
                                         "interaction_api",
                                         "wave_api",
                                         "web",
                                         "cdp_calculated_insight_api",
                                         "einstein_gpt_api",
                                         "offline_access",
                                         "id",
                                         "api",
                                         "data_cloud_user_claims",
                                         "eclair_api",
                                         "email",
                                         "pardot_api",
                                         "lightning",
                                         "visualforce",
                                         "cdp_query_api",
                                         "sfap_api",
                                         "address",
                                         "openid",
                                         "profile",
                                         "scrt_api",
                                         "cdp_profile_api",
                                         "refresh_token",
                                         "phone",
                                         "user_registration_api",
                                         "pwdless_login_api",
                                         "chatter_api",
                                         "mcp_api",
                                         "full",
                                         "forgot_password"};
    static const char *const claims[] = {"active",
                                         "address",
                                         "email",
                                         "email_verified",
                                         "family_name",
                                         "given_name",
                                         "is_app_installed",
                                         "language",
                                         "locale",
                                         "name",
                                         "nickname",
                                         "organization_id",
                                         "phone_number",
                                         "phone_number_verified",
                                         "photos",
                                         "picture",
                                         "preferred_username",
                                         "profile",
                                         "sub",
                                         "updated_at",
                                         "urls",
                                         "user_id",
                                         "user_type",
                                         "zoneinfo"};
    static const struct {
        const char *key, *path;
    } endpoints[] = {
        {"authorization_endpoint", "/services/oauth2/authorize"},
        {"token_endpoint", "/services/oauth2/token"},
        {"revocation_endpoint", "/services/oauth2/revoke"},
        {"userinfo_endpoint", "/services/oauth2/userinfo"},
        {"jwks_uri", "/id/keys"},
        {"registration_endpoint", "/services/oauth2/register"},
        {"introspection_endpoint", "/services/oauth2/introspect"},
    };
    json_t *j = json_pack("{s:s}", "issuer", o->base_url);
    for (size_t i = 0; j && i < sizeof(endpoints) / sizeof(endpoints[0]); i++) {
        char *u = concat3(o->base_url, endpoints[i].path, "");
        json_object_set_new(j, endpoints[i].key, u ? json_string(u) : json_null());
        free(u);
    }
    json_t *sc = json_array(), *cl = json_array();
    for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++)
        json_array_append_new(sc, json_string(scopes[i]));
    for (size_t i = 0; i < sizeof(claims) / sizeof(claims[0]); i++)
        json_array_append_new(cl, json_string(claims[i]));
    json_object_set_new(j, "scopes_supported", sc);
    json_object_set_new(j, "response_types_supported",
                        json_pack("[sss]", "code", "token", "token id_token"));
    json_object_set_new(j, "subject_types_supported", json_pack("[s]", "public"));
    json_object_set_new(j, "id_token_signing_alg_values_supported", json_pack("[s]", "RS256"));
    json_object_set_new(j, "display_values_supported",
                        json_pack("[sss]", "page", "popup", "touch"));
    json_object_set_new(
        j, "token_endpoint_auth_methods_supported",
        json_pack("[sss]", "client_secret_post", "client_secret_basic", "private_key_jwt"));
    json_object_set_new(j, "claims_supported", cl);
    out->status = 200;
    out->json = j;
}
