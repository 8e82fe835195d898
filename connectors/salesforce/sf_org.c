/* sf_org.c - one org: configuration copy, lifecycle, state and usage figures. */
#include "sf_int.h"
#include "sfb.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_global(void)
{
    /* curl_global_init is not thread-safe before 7.84; run it once. */
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void sf_secret_free(char *secret)
{
    if (!secret)
        return;
    OPENSSL_cleanse(secret, strlen(secret));
    free(secret);
}

static const char *flow_name(sf_auth_flow_t flow)
{
    switch (flow) {
    case SF_FLOW_JWT:
        return "jwt";
    case SF_FLOW_CLIENT_CREDENTIALS:
        return "client_credentials";
    case SF_FLOW_REFRESH_TOKEN:
        return "refresh_token";
    case SF_FLOW_PASSWORD:
        return "password";
    }
    return "?";
}

/* Checks the fields each flow needs; returns the missing one or NULL. */
static const char *flow_missing(const sf_org_config_t *conf)
{
    if (!conf->client_id || !*conf->client_id)
        return "client_id";
    switch (conf->flow) {
    case SF_FLOW_JWT:
        if (!conf->username)
            return "username";
        if (!conf->private_key)
            return "private_key";
        break;
    case SF_FLOW_CLIENT_CREDENTIALS:
        if (!conf->client_secret)
            return "client_secret";
        break;
    case SF_FLOW_REFRESH_TOKEN:
        if (!conf->refresh_token && !(conf->token_store_path && conf->token_store_key))
            return "refresh_token (or a token store with its key)";
        break;
    case SF_FLOW_PASSWORD:
        if (!conf->username)
            return "username";
        if (!conf->password)
            return "password";
        break;
    default:
        return "flow";
    }
    return NULL;
}

static char *load_pem(const char *spec, char *errstr, size_t errstr_size)
{
    FILE *f;
    char *buf = NULL;
    long len;
    if (strncmp(spec, "-----BEGIN", 10) == 0)
        return strdup(spec);
    f = fopen(spec, "rb");
    if (!f) {
        snprintf(errstr, errstr_size, "cannot open private_key file %s", spec);
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) > 0 && len < 65536 &&
        fseek(f, 0, SEEK_SET) == 0 && (buf = calloc(1, (size_t)len + 1)) != NULL) {
        if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    if (!buf)
        snprintf(errstr, errstr_size, "cannot read private_key file %s (empty or > 64 KiB?)", spec);
    return buf;
}

/* Frees the copies of the configuration (secrets wiped). NULL-safe members. */
static void org_free_config(sf_org_t *org)
{
    free(org->name);
    free(org->login_url);
    free(org->api_version);
    free(org->ca_file);
    free(org->client_id);
    sf_secret_free(org->client_secret);
    free(org->username);
    sf_secret_free(org->password);
    sf_secret_free(org->private_key_pem);
    free(org->audience);
    sf_secret_free(org->refresh_token_conf);
    free(org->store_path);
}

sf_org_t *sf_org_create(const sf_org_config_t *conf, char *errstr, size_t errstr_size)
{
    sf_org_t *org = NULL;
    const char *missing;
    char *key_pem = NULL;

    if (!conf || !conf->name || !*conf->name) {
        snprintf(errstr, errstr_size, "org: a name is required");
        return NULL;
    }
    if (!conf->login_url || strncmp(conf->login_url, "http", 4) != 0) {
        snprintf(errstr, errstr_size, "org %s: login_url must be an http(s) URL", conf->name);
        return NULL;
    }
    if ((missing = flow_missing(conf)) != NULL) {
        snprintf(errstr, errstr_size, "org %s: the %s flow needs %s", conf->name,
                 flow_name(conf->flow), missing);
        return NULL;
    }
    if (conf->flow == SF_FLOW_JWT) {
        char err2[256] = "";
        key_pem = load_pem(conf->private_key, err2, sizeof(err2));
        if (!key_pem) {
            snprintf(errstr, errstr_size, "org %s: %s", conf->name, err2);
            return NULL;
        }
    }
    pthread_once(&curl_once, curl_global);

    org = calloc(1, sizeof(*org));
    if (!org)
        goto oom;
    snprintf(org->scope, sizeof(org->scope), "org=%s", conf->name);
    org->name = strdup(conf->name);
    org->login_url = strdup(conf->login_url);
    /* A trailing slash would double in every URL we build. */
    while (org->login_url && strlen(org->login_url) > 8 &&
           org->login_url[strlen(org->login_url) - 1] == '/')
        org->login_url[strlen(org->login_url) - 1] = '\0';
    org->api_version = strdup(conf->api_version ? conf->api_version : "62.0");
    org->ca_file = sf_strdup(conf->ca_file);
    org->tls_verify = conf->tls_verify;
    org->flow = conf->flow;
    org->client_id = strdup(conf->client_id);
    org->client_secret = sf_strdup(conf->client_secret);
    org->username = sf_strdup(conf->username);
    org->password = sf_strdup(conf->password);
    org->private_key_pem = key_pem;
    key_pem = NULL;
    org->audience = sf_strdup(conf->audience);
    org->refresh_token_conf = sf_strdup(conf->refresh_token);
    org->store_path = sf_strdup(conf->token_store_path);
    if (conf->token_store_key) {
        memcpy(org->store_key, conf->token_store_key, SF_STORE_KEY_LEN);
        org->has_store_key = true;
    }
    org->connect_timeout_ms = conf->connect_timeout_ms > 0 ? conf->connect_timeout_ms : 10000;
    org->timeout_ms = conf->timeout_ms > 0 ? conf->timeout_ms : 120000;
    org->max_body_bytes = conf->max_body_bytes > 0 ? conf->max_body_bytes : 64u << 20;
    org->token_max_age_s = conf->token_max_age_s > 0 ? conf->token_max_age_s : 5400;
    if (!org->name || !org->login_url || !org->api_version || !org->client_id)
        goto oom;

    pthread_mutex_init(&org->tok_lock, NULL);
    pthread_cond_init(&org->tok_cond, NULL);
    pthread_mutex_init(&org->usage_lock, NULL);
    pthread_mutex_init(&org->describe_lock, NULL);
    if (sf_http_init(org, errstr, errstr_size) != 0) {
        sf_org_destroy(org);
        return NULL;
    }
    if (!org->tls_verify)
        SFB_WARN(org->scope, "tls_verify is off: the connection to Salesforce is not "
                             "authenticated; use this only against a local emulator");
    if (org->flow == SF_FLOW_PASSWORD)
        SFB_WARN(org->scope, "the username-password flow is deprecated and blocked by "
                             "Salesforce in new orgs; move this org to the JWT bearer flow");
    SFB_DEBUG(org->scope, "created: login_url=%s api=%s flow=%s client_id=%s", org->login_url,
              org->api_version, flow_name(org->flow), org->client_id);
    return org;
oom:
    snprintf(errstr, errstr_size, "org %s: out of memory", conf->name);
    sf_secret_free(key_pem);
    if (org) {
        /* Mutexes are not initialised yet: free the strings by hand. */
        org_free_config(org);
        free(org);
    }
    return NULL;
}

void sf_org_destroy(sf_org_t *org)
{
    if (!org)
        return;
    sf_http_fini(org);
    sf_describe_entry_t *e = org->describe_cache;
    while (e) {
        sf_describe_entry_t *next = e->next;
        free(e->sobject);
        free(e->last_modified);
        json_decref(e->describe);
        free(e);
        e = next;
    }
    pthread_mutex_destroy(&org->tok_lock);
    pthread_cond_destroy(&org->tok_cond);
    pthread_mutex_destroy(&org->usage_lock);
    pthread_mutex_destroy(&org->describe_lock);
    org_free_config(org);
    OPENSSL_cleanse(org->store_key, sizeof(org->store_key));
    sf_secret_free(org->access_token);
    sf_secret_free(org->refresh_token);
    free(org->instance_url);
    free(org->id_url);
    free(org);
}

const char *sf_org_name(const sf_org_t *org)
{
    return org->name;
}

const char *sf_org_api_version(const sf_org_t *org)
{
    return org->api_version;
}

sf_org_state_t sf_org_state(sf_org_t *org, char *msg, size_t msg_size)
{
    sf_org_state_t st;
    pthread_mutex_lock(&org->tok_lock);
    st = org->state;
    if (msg && msg_size)
        snprintf(msg, msg_size, "%s", st == SF_ORG_FAILED ? org->failed_msg : "");
    pthread_mutex_unlock(&org->tok_lock);
    return st;
}

void sf_org_reset(sf_org_t *org)
{
    pthread_mutex_lock(&org->tok_lock);
    org->state = SF_ORG_NEW;
    org->failed_msg[0] = '\0';
    sf_secret_free(org->access_token);
    org->access_token = NULL;
    /* Forget the refresh token too: the user may have logged in again, so the
     * next login reads the configured one or the store afresh. */
    sf_secret_free(org->refresh_token);
    org->refresh_token = NULL;
    org->token_gen++;
    pthread_mutex_unlock(&org->tok_lock);
}

void sf_org_usage(sf_org_t *org, sf_usage_t *usage)
{
    pthread_mutex_lock(&org->usage_lock);
    *usage = org->usage;
    pthread_mutex_unlock(&org->usage_lock);
}

int sf_org_instance_url(sf_org_t *org, char *buf, size_t buf_size)
{
    int ret = -1;
    pthread_mutex_lock(&org->tok_lock);
    if (org->instance_url) {
        snprintf(buf, buf_size, "%s", org->instance_url);
        ret = 0;
    }
    pthread_mutex_unlock(&org->tok_lock);
    return ret;
}
