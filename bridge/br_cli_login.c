/*
 * br_cli_login.c - `sfbridge login` and `sfbridge logout`: the OAuth
 * web-server flow with PKCE for a person, and its undoing.
 *
 * login prints the authorize URL, listens on 127.0.0.1:<auth.redirect_port>
 * at /salesforce/oauth/v2/callback_salesforce (libmicrohttpd), checks that
 * `state` is the one it sent, exchanges the code with the PKCE verifier and
 * stores the refresh token in the encrypted token store under the org's name.
 * logout revokes the stored refresh token at Salesforce and deletes it.
 * Neither prints a token, code or verifier.
 */
#include "br_cli.h"
#include "br_config.h"
#include "br_org.h"
#include "sf.h"
#include "sfb.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CALLBACK_PATH "/salesforce/oauth/v2/callback_salesforce"

sf_org_t *br_cli_org_open(const char *config_path, const char *org_name, br_config_t **config,
                          const br_config_org_t **org_conf);

/* How long login waits, after the redirect arrived, for the page to reach
 * the browser before it stops the listener. */
#define ANSWER_GRACE_MS 2000

/* What the callback handler (an MHD thread) hands to the waiting main thread. */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;     /* the redirect arrived (code or error) */
    bool answered; /* the browser has been sent its page: the listener may stop */
    char *code;
    char state[64];
    char error[256];
    const char *expect_state; /* the state login sent; set before the listener starts */
} callback_t;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    callback_t *cb = cls;
    const char *page;
    unsigned status = MHD_HTTP_OK;
    if (strcmp(method, "GET") != 0 || strcmp(url, CALLBACK_PATH) != 0) {
        page = "<html><body>Not found.</body></html>";
        status = MHD_HTTP_NOT_FOUND;
    } else {
        const char *code = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "code");
        const char *state = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "state");
        const char *error = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "error");
        const char *desc =
            MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "error_description");
        pthread_mutex_lock(&cb->lock);
        if (!cb->done) {
            snprintf(cb->state, sizeof(cb->state), "%s", state ? state : "");
            if (error || !code)
                snprintf(cb->error, sizeof(cb->error), "%s%s%s", error ? error : "no code",
                         desc ? ": " : "", desc ? desc : "");
            else
                cb->code = strdup(code);
            cb->done = true;
            /* Marks this connection, so on_completed knows when its page went out. */
            *con_cls = cb;
            pthread_cond_signal(&cb->cond);
        }
        pthread_mutex_unlock(&cb->lock);
        /* The page must not say "logged in" to a redirect login is about to refuse. */
        if (!state || strcmp(state, cb->expect_state) != 0)
            page = "<html><body>sfbridge: this redirect does not belong to the login in "
                   "progress (state mismatch); it was refused.</body></html>";
        else if (error || !code)
            page = "<html><body>sfbridge: the login failed; see the terminal.</body></html>";
        else
            page = "<html><body>sfbridge: logged in. You can close this window.</body></html>";
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(page), (void *)page, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, "Content-Type", "text/html; charset=utf-8");
    enum MHD_Result r = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

/* MHD_OPTION_NOTIFY_COMPLETED: the redirect's page was sent (or the browser
 * went away). Stopping the daemon before this point closed the connection
 * under the queued page, and the browser showed an empty reply. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    callback_t *cb = cls;
    (void)conn;
    (void)toe;
    if (*con_cls != cb)
        return;
    pthread_mutex_lock(&cb->lock);
    cb->answered = true;
    pthread_cond_signal(&cb->cond);
    pthread_mutex_unlock(&cb->lock);
}

static int parse_common(int argc, char **argv, const char *name, const char **config_path,
                        const char **org_name, int *timeout_s)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"org", required_argument, NULL, 'o'},
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    optind = 0; /* see br_cli_org.c: options may follow the command word */
    while ((opt = getopt_long(argc, argv, "c:o:t:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            *config_path = optarg;
            break;
        case 'o':
            *org_name = optarg;
            break;
        case 't':
            *timeout_s = atoi(optarg);
            break;
        case 'h':
        default:
            fprintf(opt == 'h' ? stdout : stderr,
                    "Usage: sfbridge %s --org NAME -c FILE%s\n"
                    "%s\n",
                    name, strcmp(name, "login") == 0 ? " [--timeout SECONDS]" : "",
                    strcmp(name, "login") == 0
                        ? "Logs a person in with the OAuth web-server flow (PKCE): prints the "
                          "authorize URL,\nwaits for Salesforce's redirect on 127.0.0.1 and "
                          "stores the refresh token\nin the token store (default timeout 300 s)."
                        : "Revokes the org's stored refresh token and deletes it from the "
                          "token store.");
            return opt == 'h' ? 1 : -1;
        }
    }
    if (!*config_path || !*org_name) {
        fprintf(stderr, "sfbridge %s: --org NAME and -c FILE are required\n", name);
        return -1;
    }
    return 0;
}

static bool store_ready(const br_config_t *config, const char *cmd)
{
    if (!config->token_store.path || !config->token_store.key_set) {
        fprintf(stderr,
                "sfbridge %s: the config needs token_store { path = ...; key = ... } "
                "(the key: 64 hex digits, e.g. from `openssl rand -hex 32`)\n",
                cmd);
        return false;
    }
    return true;
}

int br_cli_login(int argc, char **argv)
{
    const char *config_path = NULL, *org_name = NULL;
    int timeout_s = 300, ret = BR_EXIT_USAGE, pr;
    br_config_t *config = NULL;
    const br_config_org_t *oc = NULL;
    sf_org_t *org = NULL;
    struct MHD_Daemon *mhd = NULL;
    callback_t cb = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    char verifier[SF_PKCE_LEN + 1] = "", challenge[SF_PKCE_LEN + 1], state[32], redirect[256];
    char *url = NULL, *refresh = NULL;
    sf_error_t *err = NULL;

    if ((pr = parse_common(argc, argv, "login", &config_path, &org_name, &timeout_s)) != 0)
        return pr > 0 ? BR_EXIT_OK : BR_EXIT_USAGE;
    org = br_cli_org_open(config_path, org_name, &config, &oc);
    if (!org)
        return BR_EXIT_USAGE;
    if (oc->auth.flow != BR_AUTH_WEB_SERVER && oc->auth.flow != BR_AUTH_REFRESH_TOKEN) {
        fprintf(stderr, "sfbridge login: org %s uses the %s flow, which needs no login\n", oc->name,
                br_auth_flow_name(oc->auth.flow));
        goto done;
    }
    if (!store_ready(config, "login"))
        goto done;
    int port = oc->auth.redirect_port > 0 ? oc->auth.redirect_port : 1717;
    snprintf(redirect, sizeof(redirect), "http://127.0.0.1:%d%s", port, CALLBACK_PATH);

    if (sf_random_state(state, sizeof(state)) != 0) {
        fprintf(stderr, "sfbridge login: cannot draw a random state\n");
        ret = BR_EXIT_FAILURE;
        goto done;
    }
    cb.expect_state = state;

    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port,
                           NULL, NULL, on_request, &cb, MHD_OPTION_SOCK_ADDR, &sin,
                           MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_NOTIFY_COMPLETED,
                           on_completed, &cb, MHD_OPTION_END);
    if (!mhd) {
        fprintf(stderr, "sfbridge login: cannot listen on 127.0.0.1:%d (in use?)\n", port);
        ret = BR_EXIT_FAILURE;
        goto done;
    }
    if (sf_pkce_generate(verifier, challenge) != 0 ||
        !(url = sf_auth_authorize_url(org, redirect, state, challenge, NULL))) {
        fprintf(stderr, "sfbridge login: cannot build the authorize URL\n");
        ret = BR_EXIT_FAILURE;
        goto done;
    }
    fprintf(stderr, "Open this URL in a browser and log in to org %s:\n", oc->name);
    printf("%s\n", url);
    fflush(stdout);
    fprintf(stderr, "Waiting for Salesforce to redirect to %s ...\n", redirect);

    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_s > 0 ? timeout_s : 300;
    pthread_mutex_lock(&cb.lock);
    while (!cb.done)
        if (pthread_cond_timedwait(&cb.cond, &cb.lock, &until) != 0)
            break;
    bool got = cb.done;
    if (got) {
        /* Let the page reach the browser first (bounded: a browser that stops
         * reading must not hold the login). */
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += (ANSWER_GRACE_MS % 1000) * 1000000L;
        until.tv_sec += ANSWER_GRACE_MS / 1000 + until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        while (!cb.answered)
            if (pthread_cond_timedwait(&cb.cond, &cb.lock, &until) != 0)
                break;
    }
    pthread_mutex_unlock(&cb.lock);
    MHD_stop_daemon(mhd);
    mhd = NULL;
    ret = BR_EXIT_FAILURE;
    if (!got) {
        fprintf(stderr, "sfbridge login: no redirect within %d s\n", timeout_s);
        goto done;
    }
    if (strcmp(cb.state, state) != 0) {
        fprintf(stderr, "sfbridge login: the redirect's state does not match; refusing it "
                        "(another login, or a forged request)\n");
        goto done;
    }
    if (!cb.code) {
        fprintf(stderr, "sfbridge login: Salesforce did not authorize: %s\n", cb.error);
        goto done;
    }
    if (sf_auth_code_exchange(org, cb.code, verifier, redirect, &refresh, &err) != 0) {
        fprintf(stderr, "sfbridge login: %s\n", err ? err->message : "code exchange failed");
        goto done;
    }
    if (sf_store_put(config->token_store.path, config->token_store.key_bytes, oc->name, refresh,
                     &err) != 0) {
        fprintf(stderr, "sfbridge login: %s\n", err ? err->message : "cannot store the token");
        goto done;
    }
    json_t *id = NULL;
    sf_error_t *ierr = NULL;
    const char *who = "?";
    if (sf_identity(org, &id, &ierr) == 0)
        who = json_string_value(json_object_get(id, "username"));
    fprintf(stderr, "Logged in to org %s as %s; refresh token stored in %s\n", oc->name,
            who ? who : "?", config->token_store.path);
    json_decref(id);
    sf_error_destroy(ierr);
    ret = BR_EXIT_OK;
done:
    if (mhd)
        MHD_stop_daemon(mhd);
    sf_secret_free(cb.code);
    sf_secret_free(refresh);
    free(url);
    sf_error_destroy(err);
    sf_org_destroy(org);
    br_config_destroy(config);
    memset(verifier, 0, sizeof(verifier));
    return ret;
}

/* True when the revocation got no definite answer (transport failure, 408,
 * 429, 5xx), so the token may still be live and must be kept. Salesforce
 * answers 400 invalid_token for a token already revoked or expired. Not
 * sf_error_retry_class(): it calls that OAuth error retriable, as a token
 * endpoint refusal that is not known to be final. */
static bool revoke_unanswered(const sf_error_t *err)
{
    if (!err || err->kind == SF_ERR_TRANSPORT || err->kind == SF_ERR_INTERNAL)
        return true;
    return err->http_status == 0 || err->http_status == 408 || err->http_status == 429 ||
           err->http_status >= 500;
}

int br_cli_logout(int argc, char **argv)
{
    const char *config_path = NULL, *org_name = NULL;
    int timeout_s = 0, ret = BR_EXIT_USAGE, pr;
    br_config_t *config = NULL;
    const br_config_org_t *oc = NULL;
    sf_org_t *org = NULL;
    char *refresh = NULL;
    sf_error_t *err = NULL;

    if ((pr = parse_common(argc, argv, "logout", &config_path, &org_name, &timeout_s)) != 0)
        return pr > 0 ? BR_EXIT_OK : BR_EXIT_USAGE;
    org = br_cli_org_open(config_path, org_name, &config, &oc);
    if (!org)
        return BR_EXIT_USAGE;
    if (!store_ready(config, "logout"))
        goto done;
    ret = BR_EXIT_FAILURE;
    if (sf_store_get(config->token_store.path, config->token_store.key_bytes, oc->name, &refresh,
                     &err) != 0) {
        fprintf(stderr, "sfbridge logout: %s\n", err->message);
        goto done;
    }
    if (!refresh) {
        fprintf(stderr, "sfbridge logout: org %s has no stored token; nothing to do\n", oc->name);
        ret = BR_EXIT_OK;
        goto done;
    }
    if (sf_auth_revoke(org, refresh, &err) != 0) {
        /* An already revoked or expired token is gone at Salesforce too: still delete ours. */
        if (revoke_unanswered(err)) {
            fprintf(stderr,
                    "sfbridge logout: cannot revoke at Salesforce now (%s); the token is kept, "
                    "try again\n",
                    err ? err->message : "no answer");
            goto done;
        }
        fprintf(stderr,
                "sfbridge logout: Salesforce refused the revocation (%s); deleting the "
                "stored token anyway\n",
                err->message);
        sf_error_destroy(err);
        err = NULL;
    }
    if (sf_store_put(config->token_store.path, config->token_store.key_bytes, oc->name, NULL,
                     &err) != 0) {
        fprintf(stderr, "sfbridge logout: %s\n", err->message);
        goto done;
    }
    fprintf(stderr, "Logged out of org %s: refresh token revoked and deleted from %s\n", oc->name,
            config->token_store.path);
    ret = BR_EXIT_OK;
done:
    sf_secret_free(refresh);
    sf_error_destroy(err);
    sf_org_destroy(org);
    br_config_destroy(config);
    return ret;
}
