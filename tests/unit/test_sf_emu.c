/*
 * test_sf_emu.c - the Salesforce client against a real sfemu process over HTTP.
 *
 * The test starts `sfemu --port 0` (the binary of this build, or $SFEMU),
 * reads its "sfemu listening on URL" line, drives faults through its control
 * API (/__sfemu/) and checks what the caller of sf.h sees: every auth flow,
 * precise failure messages, invisible session expiry, error classes, paging,
 * damaged bodies. All library logs go, at debug level, to a file that the
 * last test searches for every secret used.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sf.h"
#include "sfb.h"

#define EMU_DATA      SFB_SOURCE_DIR "/tests/emulator/data"
#define JWT_KEY       EMU_DATA "/test-keys/jwt-app.TEST-ONLY.key"
#define APP_ID        "3MVG9sfemu.sfbridge.CONSUMERKEY"
#define APP_SECRET    "sfemu-sfbridge-secret"
#define JWT_APP_ID    "3MVG9sfemu.jwt.CONSUMERKEY"
#define ADMIN         "admin@sfemu.test"
#define ADMIN_PASS    "sfemu-Admin-1"
#define ADMIN_TOKEN   "TOKENADMIN1"
#define REDIRECT      "http://127.0.0.1:8765/callback"
#define SECRET_MARKER "sfbridge-test-never-logged"

static pid_t emu_pid;
static char emu_base[256];
static char log_path[512];
static char store_path[512];
static char refresh_seen[512]; /* the refresh token the web-server flow returned */
static char verifier_seen[SF_PKCE_LEN + 1];
static char code_seen[256];

/* ------------------------------------------------------------------ sfemu process */

static int emu_start(void **state)
{
    (void)state;
    const char *bin = getenv("SFEMU");
    char path[512];
    int out[2];
    if (!bin) {
        snprintf(path, sizeof(path), "%s/tests/emulator/sfemu", SFB_BINARY_DIR);
        bin = path;
    }
    if (access(bin, X_OK) != 0) {
        fprintf(stderr, "sfemu binary not found at %s (build target sfemu or set SFEMU)\n", bin);
        return -1;
    }
    if (pipe(out) != 0)
        return -1;
    emu_pid = fork();
    if (emu_pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        execl(bin, bin, "--port", "0", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    /* Wait for "sfemu listening on http://127.0.0.1:PORT" (at most 20 s). */
    char buf[1024];
    size_t len = 0;
    struct pollfd pfd = {.fd = out[0], .events = POLLIN};
    while (len < sizeof(buf) - 1 && poll(&pfd, 1, 20000) > 0) {
        ssize_t n = read(out[0], buf + len, sizeof(buf) - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
        char *p = strstr(buf, "sfemu listening on ");
        char *nl = p ? strchr(p, '\n') : NULL;
        if (nl) {
            *nl = '\0';
            snprintf(emu_base, sizeof(emu_base), "%s", p + strlen("sfemu listening on "));
            break;
        }
    }
    /* Keep reading its stdout in the background would need a thread: send it nowhere. */
    close(out[0]);
    if (!emu_base[0]) {
        fprintf(stderr, "sfemu did not print its URL\n");
        kill(emu_pid, SIGTERM);
        return -1;
    }

    snprintf(log_path, sizeof(log_path), "%s/test_sf_emu.%ld.log", SFB_BINARY_DIR, (long)getpid());
    snprintf(store_path, sizeof(store_path), "%s/test_sf_emu.%ld.store", SFB_BINARY_DIR,
             (long)getpid());
    unlink(store_path);
    int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return -1;
    sfb_log_init(SFB_LOG_DEBUG, SFB_LOG_FORMAT_TEXT, fd);
    return 0;
}

static int emu_stop(void **state)
{
    (void)state;
    if (emu_pid > 0) {
        kill(emu_pid, SIGTERM);
        waitpid(emu_pid, NULL, 0);
    }
    unlink(store_path);
    char lock[600];
    snprintf(lock, sizeof(lock), "%s.lock", store_path);
    unlink(lock);
    return 0;
}

static size_t sink(char *p, size_t s, size_t n, void *u)
{
    (void)p;
    (void)u;
    return s * n;
}

/* A control-API call (plain curl: the test's own client, not the library's). */
static void ctl(const char *method, const char *what, const char *json)
{
    char url[512];
    long status = 0;
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    snprintf(url, sizeof(url), "%s/__sfemu/%s", emu_base, what);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    if (json)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (status >= 300)
        fail_msg("control %s %s -> %ld", method, what, status);
}

/* ------------------------------------------------------------------ org helpers */

static sf_org_config_t base_conf(const char *name, sf_auth_flow_t flow)
{
    sf_org_config_t c = {
        .name = name,
        .login_url = emu_base,
        .api_version = "62.0",
        .tls_verify = true,
        .flow = flow,
        .client_id = APP_ID,
        .client_secret = APP_SECRET,
        .timeout_ms = 20000,
    };
    return c;
}

static sf_org_t *org_new(const sf_org_config_t *c)
{
    char err[512];
    sf_org_t *org = sf_org_create(c, err, sizeof(err));
    if (!org)
        fail_msg("sf_org_create: %s", err);
    return org;
}

static sf_org_t *org_password(const char *name)
{
    sf_org_config_t c = base_conf(name, SF_FLOW_PASSWORD);
    c.username = ADMIN;
    c.password = ADMIN_PASS ADMIN_TOKEN;
    return org_new(&c);
}

/* Expects a final auth failure whose message contains each of the needles. */
static void expect_auth_fail(sf_org_t *org, const char *needle1, const char *needle2)
{
    sf_error_t *err = NULL;
    char msg[512];
    assert_int_equal(sf_org_login(org, &err), -1);
    assert_non_null(err);
    if (err->kind != SF_ERR_AUTH || !err->auth_final || !strstr(err->message, needle1) ||
        (needle2 && !strstr(err->message, needle2)))
        fail_msg("want auth final with \"%s\"/\"%s\", got %s: %s", needle1, needle2 ? needle2 : "",
                 sf_error_kind_name(err->kind), err->message);
    assert_int_equal(sf_error_retry_class(err), SF_RETRY_PAUSE_ORG);
    sf_error_destroy(err);
    assert_int_equal(sf_org_state(org, msg, sizeof(msg)), SF_ORG_FAILED);
    assert_non_null(strstr(msg, needle1));
    /* FAILED sticks: the next call fails at once with the same sentence */
    err = NULL;
    json_t *out = NULL;
    assert_int_equal(sf_limits(org, &out, &err), -1);
    assert_true(err->auth_final);
    sf_error_destroy(err);
}

/* ------------------------------------------------------------------ auth flows */

static void test_password_flow_and_rest(void **state)
{
    (void)state;
    sf_org_t *org = org_password("pw");
    sf_error_t *err = NULL;
    json_t *out = NULL;
    sf_usage_t usage;

    assert_int_equal(sf_versions(org, &out, &err), 0);
    assert_true(json_array_size(out) > 0);
    json_decref(out);
    assert_int_equal(sf_resources(org, &out, &err), 0);
    assert_non_null(json_object_get(out, "sobjects"));
    json_decref(out);
    assert_int_equal(sf_identity(org, &out, &err), 0);
    assert_string_equal(json_string_value(json_object_get(out, "username")), ADMIN);
    json_decref(out);
    assert_int_equal(sf_limits(org, &out, &err), 0);
    assert_true(json_is_object(json_object_get(out, "DailyApiRequests")));
    json_decref(out);
    if (err)
        fail_msg("%s", err->message);
    sf_org_usage(org, &usage);
    assert_true(usage.used > 0);
    assert_true(usage.max > 0);
    assert_int_equal(sf_org_state(org, NULL, 0), SF_ORG_READY);
    sf_org_destroy(org);
}

static void test_auth_failures_are_precise(void **state)
{
    (void)state;
    sf_org_config_t c = base_conf("pw-bad", SF_FLOW_PASSWORD);
    c.username = ADMIN;
    c.password = "wrong-password" SECRET_MARKER;
    sf_org_t *bad = org_new(&c);
    sf_org_t *good = org_password("pw-good"); /* another org keeps working */
    expect_auth_fail(bad, "authentication failure", "check username and password");
    sf_error_t *err = NULL;
    assert_int_equal(sf_org_login(good, &err), 0);
    sf_org_destroy(bad);

    c = base_conf("unknown-client", SF_FLOW_PASSWORD);
    c.client_id = "3MVG9nobody";
    c.username = ADMIN;
    c.password = ADMIN_PASS ADMIN_TOKEN;
    bad = org_new(&c);
    expect_auth_fail(bad, "invalid_client_id", "check client_id");
    sf_org_destroy(bad);

    c = base_conf("wrong-secret", SF_FLOW_CLIENT_CREDENTIALS);
    c.client_secret = "not-the-secret" SECRET_MARKER;
    bad = org_new(&c);
    expect_auth_fail(bad, "invalid_client", "client_secret");
    sf_org_destroy(bad);

    c = base_conf("jwt-aud", SF_FLOW_JWT);
    c.client_id = JWT_APP_ID;
    c.username = "jwt@sfemu.test";
    c.private_key = JWT_KEY;
    c.audience = "https://example.com";
    bad = org_new(&c);
    expect_auth_fail(bad, "Audience validation failed", "audience");
    sf_org_destroy(bad);

    /* a FAILED org comes back after sf_org_reset once the cause is gone: here never */
    sf_org_destroy(good);
}

static void test_client_credentials_and_jwt(void **state)
{
    (void)state;
    sf_error_t *err = NULL;
    json_t *out = NULL;
    sf_org_config_t c = base_conf("cc", SF_FLOW_CLIENT_CREDENTIALS);
    sf_org_t *org = org_new(&c);
    assert_int_equal(sf_identity(org, &out, &err), 0);
    assert_string_equal(json_string_value(json_object_get(out, "username")),
                        "integration@sfemu.test");
    json_decref(out);
    sf_org_destroy(org);

    c = base_conf("jwt", SF_FLOW_JWT);
    c.client_id = JWT_APP_ID;
    c.client_secret = NULL;
    c.username = "jwt@sfemu.test";
    c.private_key = JWT_KEY;
    c.audience = "https://login.salesforce.com";
    org = org_new(&c);
    assert_int_equal(sf_identity(org, &out, &err), 0);
    if (err)
        fail_msg("%s", err->message);
    assert_string_equal(json_string_value(json_object_get(out, "username")), "jwt@sfemu.test");
    json_decref(out);
    sf_org_destroy(org);
}

/* Follows the authorize page the way a browser would, with sfemu's login_hint
 * shortcut for auto-approved apps; returns the code from the redirect. */
static void authorize(const char *url, const char *state_want, char *code, size_t code_size)
{
    char full[2048];
    char *loc = NULL;
    long status = 0;
    CURL *c = curl_easy_init();
    snprintf(full, sizeof(full), "%s&login_hint=%s", url, "admin%40sfemu.test");
    curl_easy_setopt(c, CURLOPT_URL, full);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc);
    if (status != 302 || !loc)
        fail_msg("authorize answered %ld without a redirect", status);
    assert_int_equal(strncmp(loc, REDIRECT "?", strlen(REDIRECT) + 1), 0);
    char *st = strstr(loc, "state=");
    assert_non_null(st);
    assert_int_equal(strncmp(st + 6, state_want, strlen(state_want)), 0);
    char *cp = strstr(loc, "code=");
    assert_non_null(cp);
    cp += 5;
    size_t n = strcspn(cp, "&");
    assert_true(n < code_size);
    int outlen = 0;
    char *dec = curl_easy_unescape(c, cp, (int)n, &outlen);
    snprintf(code, code_size, "%s", dec);
    curl_free(dec);
    curl_easy_cleanup(c);
}

static void test_web_server_flow_store_refresh_revoke(void **state)
{
    (void)state;
    sf_error_t *err = NULL;
    uint8_t key[SF_STORE_KEY_LEN], wrong[SF_STORE_KEY_LEN];
    char challenge[SF_PKCE_LEN + 1], st[32], *refresh = NULL;
    memset(key, 0x42, sizeof(key));
    memset(wrong, 0x43, sizeof(wrong));

    /* 1. login: PKCE + state, authorize, exchange, store */
    sf_org_config_t c = base_conf("web", SF_FLOW_REFRESH_TOKEN);
    c.token_store_path = store_path;
    c.token_store_key = key;
    sf_org_t *org = org_new(&c);
    assert_int_equal(sf_pkce_generate(verifier_seen, challenge), 0);
    assert_int_equal(sf_random_state(st, sizeof(st)), 0);
    char *url = sf_auth_authorize_url(org, REDIRECT, st, challenge, NULL);
    assert_non_null(strstr(url, "code_challenge_method=S256"));
    authorize(url, st, code_seen, sizeof(code_seen));
    free(url);
    /* a wrong verifier is refused */
    assert_int_equal(sf_auth_code_exchange(org, code_seen,
                                           "x" SECRET_MARKER "xxxxxxxxxxxxxxxxxxxxxxx", REDIRECT,
                                           &refresh, &err),
                     -1);
    assert_int_equal(err->kind, SF_ERR_AUTH);
    sf_error_destroy(err);
    err = NULL;
    url = sf_auth_authorize_url(org, REDIRECT, st, challenge, NULL);
    authorize(url, st, code_seen, sizeof(code_seen));
    free(url);
    assert_int_equal(sf_auth_code_exchange(org, code_seen, verifier_seen, REDIRECT, &refresh, &err),
                     0);
    snprintf(refresh_seen, sizeof(refresh_seen), "%s", refresh);
    assert_int_equal(sf_store_put(store_path, key, "web", refresh, &err), 0);
    sf_secret_free(refresh);
    sf_org_destroy(org);

    /* 2. the daemon side: refresh-token flow from the store */
    org = org_new(&c);
    json_t *out = NULL;
    assert_int_equal(sf_identity(org, &out, &err), 0);
    assert_string_equal(json_string_value(json_object_get(out, "username")), ADMIN);
    json_decref(out);
    sf_org_destroy(org);

    /* 3. wrong key on the store: a final, clear error */
    c.token_store_key = wrong;
    c.name = "web";
    org = org_new(&c);
    expect_auth_fail(org, "wrong key", "sfbridge login");
    sf_org_destroy(org);
    c.token_store_key = key;

    /* 4. revoke (logout): the stored token no longer works */
    org = org_new(&c);
    assert_int_equal(sf_auth_revoke(org, refresh_seen, &err), 0);
    sf_org_destroy(org);
    org = org_new(&c);
    expect_auth_fail(org, "expired access/refresh token", "sfbridge login");
    sf_org_destroy(org);

    /* 5. a tampered store: one byte changed */
    FILE *f = fopen(store_path, "r+b");
    assert_non_null(f);
    fseek(f, 20, SEEK_SET);
    int ch = fgetc(f);
    fseek(f, 20, SEEK_SET);
    fputc(ch ^ 0x20, f);
    fclose(f);
    org = org_new(&c);
    expect_auth_fail(org, "modified", NULL);
    sf_org_destroy(org);
}

/* ------------------------------------------------------------------ sessions, single flight */

typedef struct {
    sf_org_t *org;
    int ok;
} worker_t;

static void *worker(void *arg)
{
    worker_t *w = arg;
    json_t *out = NULL;
    sf_error_t *err = NULL;
    for (int i = 0; i < 5; i++) {
        if (sf_limits(w->org, &out, &err) == 0)
            w->ok++;
        json_decref(out);
        sf_error_destroy(err);
        err = NULL;
        out = NULL;
    }
    return NULL;
}

static long count_in_log(const char *needle)
{
    FILE *f = fopen(log_path, "r");
    char line[4096];
    long n = 0;
    assert_non_null(f);
    while (fgets(line, sizeof(line), f))
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

static void test_session_expiry_is_invisible_and_single_flight(void **state)
{
    (void)state;
    sf_org_t *org = org_password("sessions");
    json_t *out = NULL;
    sf_error_t *err = NULL;
    long before = count_in_log("[org=sessions] requesting an access token");
    assert_int_equal(before, 0);

    /* 8 threads at once on a new org: one token request */
    pthread_t th[8];
    worker_t w[8];
    for (int i = 0; i < 8; i++) {
        w[i] = (worker_t){.org = org};
        pthread_create(&th[i], NULL, worker, &w[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].ok, 5);
    }
    assert_int_equal(count_in_log("[org=sessions] requesting an access token"), 1);

    /* sessions end under us, in the middle of the run: callers see nothing */
    ctl("POST", "sessions/expire", "{}");
    for (int i = 0; i < 8; i++) {
        w[i] = (worker_t){.org = org};
        pthread_create(&th[i], NULL, worker, &w[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].ok, 5);
    }
    /* one refresh for the 8 threads that all saw the 401 */
    assert_int_equal(count_in_log("[org=sessions] requesting an access token"), 2);
    assert_int_equal(sf_limits(org, &out, &err), 0);
    json_decref(out);
    sf_org_destroy(org);
}

/* ------------------------------------------------------------------ error classes */

static void expect_class(sf_org_t *org, sf_error_kind_t kind, sf_retry_class_t rc, const char *code)
{
    json_t *out = NULL;
    sf_error_t *err = NULL;
    assert_int_equal(sf_limits(org, &out, &err), -1);
    assert_non_null(err);
    if (err->kind != kind || sf_error_retry_class(err) != rc ||
        (code && (!err->code || strcmp(err->code, code) != 0)))
        fail_msg("want %s/%s/%s, got %s/%s/%s: %s", sf_error_kind_name(kind),
                 sf_retry_class_name(rc), code ? code : "-", sf_error_kind_name(err->kind),
                 sf_retry_class_name(sf_error_retry_class(err)), err->code ? err->code : "-",
                 err->message);
    sf_error_destroy(err);
    /* and the next call (fault used up) works again */
    err = NULL;
    assert_int_equal(sf_limits(org, &out, &err), 0);
    json_decref(out);
}

static void test_error_classes(void **state)
{
    (void)state;
    sf_org_t *org = org_password("faults");
    sf_error_t *err = NULL;
    assert_int_equal(sf_org_login(org, &err), 0);

    ctl("POST", "faults",
        "{\"error\":{\"status\":503,\"errorCode\":\"SERVER_UNAVAILABLE\",\"message\":\"down\","
        "\"next\":1}}");
    expect_class(org, SF_ERR_SALESFORCE, SF_RETRY, "SERVER_UNAVAILABLE");
    ctl("POST", "faults",
        "{\"error\":{\"status\":400,\"errorCode\":\"UNABLE_TO_LOCK_ROW\","
        "\"message\":\"unable to obtain exclusive access to this record\",\"next\":1}}");
    expect_class(org, SF_ERR_SALESFORCE, SF_RETRY, "UNABLE_TO_LOCK_ROW");
    /* libcurl itself resends once when a reused connection dies before any answer
     * byte, so a single drop is invisible; two in a row reach the caller. */
    ctl("POST", "faults", "{\"drop\":{\"next\":2}}");
    expect_class(org, SF_ERR_TRANSPORT, SF_RETRY, NULL);
    ctl("POST", "faults", "{\"body\":{\"mode\":\"malformed\",\"next\":1}}");
    expect_class(org, SF_ERR_PARSE, SF_RETRY_FINAL, NULL);
    ctl("POST", "faults", "{\"body\":{\"mode\":\"truncate\",\"next\":1}}");
    {
        /* a truncated body is either cut at the HTTP level (transport) or short JSON (parse) */
        json_t *out = NULL;
        assert_int_equal(sf_limits(org, &out, &err), -1);
        assert_true(err->kind == SF_ERR_PARSE || err->kind == SF_ERR_TRANSPORT);
        sf_error_destroy(err);
        err = NULL;
    }
    ctl("DELETE", "faults", NULL);

    /* the org's allocation used up: its own kind */
    ctl("POST", "limits", "{\"daily_api_requests\":100,\"used\":100}");
    {
        json_t *out = NULL;
        assert_int_equal(sf_limits(org, &out, &err), -1);
        assert_int_equal(err->kind, SF_ERR_LIMIT);
        assert_string_equal(err->code, "REQUEST_LIMIT_EXCEEDED");
        assert_int_equal(err->http_status, 403);
        assert_int_equal(sf_error_retry_class(err), SF_RETRY_PAUSE_ORG);
        sf_error_destroy(err);
        err = NULL;
    }
    ctl("POST", "limits", "{\"daily_api_requests\":15000,\"used\":0}");

    /* a field error is final, with the field named */
    char *id = NULL;
    json_t *fields = json_pack("{s:s}", "FirstName", "NoLastName");
    assert_int_equal(sf_record_create(org, "Contact", fields, &id, &err), -1);
    assert_int_equal(err->kind, SF_ERR_SALESFORCE);
    assert_string_equal(err->code, "REQUIRED_FIELD_MISSING");
    assert_int_equal(sf_error_retry_class(err), SF_RETRY_FINAL);
    assert_true(err->item_cnt >= 1 && err->items[0].field_cnt >= 1);
    assert_string_equal(err->items[0].fields[0], "LastName");
    sf_error_destroy(err);
    json_decref(fields);
    sf_org_destroy(org);
}

static void test_oversized_body(void **state)
{
    (void)state;
    sf_org_config_t c = base_conf("small", SF_FLOW_PASSWORD);
    c.username = ADMIN;
    c.password = ADMIN_PASS ADMIN_TOKEN;
    c.max_body_bytes = 2048;
    sf_org_t *org = org_new(&c);
    json_t *out = NULL;
    sf_error_t *err = NULL;
    assert_int_equal(sf_describe(org, "Account", &out, &err), -1);
    assert_int_equal(err->kind, SF_ERR_TOO_LARGE);
    assert_int_equal(sf_error_retry_class(err), SF_RETRY_FINAL);
    sf_error_destroy(err);
    sf_org_destroy(org);
}

/* ------------------------------------------------------------------ data */

static void test_records_collections_composite_describe(void **state)
{
    (void)state;
    sf_org_t *org = org_password("data");
    sf_error_t *err = NULL;
    json_t *out = NULL;
    char *id = NULL;

    json_t *fields = json_pack("{s:s}", "Name", "sf test account");
    assert_int_equal(sf_record_create(org, "Account", fields, &id, &err), 0);
    json_decref(fields);
    assert_int_equal(strlen(id), 18);
    assert_int_equal(sf_record_get(org, "Account", id, "Name", &out, &err), 0);
    assert_string_equal(json_string_value(json_object_get(out, "Name")), "sf test account");
    json_decref(out);
    fields = json_pack("{s:s}", "Name", "renamed");
    assert_int_equal(sf_record_update(org, "Account", id, fields, &err), 0);
    json_decref(fields);
    assert_int_equal(sf_record_delete(org, "Account", id, &err), 0);
    assert_int_equal(sf_record_get(org, "Account", id, NULL, &out, &err), -1);
    assert_int_equal(err->http_status, 404);
    assert_int_equal(sf_error_retry_class(err), SF_RETRY_FINAL);
    sf_error_destroy(err);
    err = NULL;
    free(id);

    /* collections: one good, one bad record, allOrNone false -> per-record results */
    json_t *recs =
        json_pack("[{s:{s:s}, s:s}, {s:{s:s}, s:s}]", "attributes", "type", "Contact", "LastName",
                  "Good", "attributes", "type", "Contact", "FirstName", "Bad");
    sf_save_result_t *res = NULL;
    size_t cnt = 0;
    assert_int_equal(sf_collection_create(org, recs, false, &res, &cnt, &err), 0);
    assert_int_equal(cnt, 2);
    assert_true(res[0].success);
    assert_non_null(res[0].id);
    assert_false(res[1].success);
    assert_string_equal(res[1].error->code, "REQUIRED_FIELD_MISSING");
    assert_int_equal(sf_error_retry_class(res[1].error), SF_RETRY_FINAL);
    const char *ids[1] = {res[0].id};
    sf_save_result_t *dres = NULL;
    size_t dcnt = 0;
    assert_int_equal(sf_collection_delete(org, ids, 1, true, &dres, &dcnt, &err), 0);
    assert_true(dcnt == 1 && dres[0].success);
    sf_save_results_destroy(dres, dcnt);
    sf_save_results_destroy(res, cnt);
    json_decref(recs);

    /* limits of the API are checked before any call */
    json_t *many = json_array();
    for (int i = 0; i < 201; i++)
        json_array_append_new(
            many, json_pack("{s:{s:s}, s:s}", "attributes", "type", "Account", "Name", "x"));
    assert_int_equal(sf_collection_create(org, many, false, &res, &cnt, &err), -1);
    assert_int_equal(err->kind, SF_ERR_INVALID);
    sf_error_destroy(err);
    err = NULL;
    json_decref(many);

    /* composite: create then read back through a reference */
    json_t *sub =
        json_pack("[{s:s, s:s, s:s, s:{s:s}}, {s:s, s:s, s:s}]", "method", "POST", "url",
                  "/services/data/v62.0/sobjects/Account", "referenceId", "acc", "body", "Name",
                  "composite account", "method", "GET", "url",
                  "/services/data/v62.0/sobjects/Account/@{acc.id}", "referenceId", "get");
    assert_int_equal(sf_composite(org, sub, true, &out, &err), 0);
    if (err)
        fail_msg("%s", err->message);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(out, 0), "httpStatusCode")),
                     201);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(out, 1), "httpStatusCode")),
                     200);
    json_decref(out);
    json_decref(sub);

    /* describe: the second call is revalidated (304) and served from the cache */
    assert_int_equal(sf_describe(org, "Account", &out, &err), 0);
    assert_string_equal(json_string_value(json_object_get(out, "name")), "Account");
    json_decref(out);
    long cached_before = count_in_log("describe Account: not modified, from cache");
    assert_int_equal(sf_describe(org, "Account", &out, &err), 0);
    assert_string_equal(json_string_value(json_object_get(out, "name")), "Account");
    json_decref(out);
    assert_int_equal(count_in_log("describe Account: not modified, from cache"), cached_before + 1);
    assert_int_equal(sf_describe_global(org, &out, &err), 0);
    assert_true(json_array_size(json_object_get(out, "sobjects")) > 0);
    json_decref(out);
    sf_org_destroy(org);
}

static void test_query_paging(void **state)
{
    (void)state;
    sf_org_t *org = org_password("query");
    sf_error_t *err = NULL;
    /* 5,200 accounts through the control API (one call) */
    size_t cap = 5200 * 40 + 64;
    char *body = malloc(cap);
    size_t o = (size_t)snprintf(body, cap, "{\"Account\":[");
    for (int i = 0; i < 5200; i++)
        o += (size_t)snprintf(body + o, cap - o, "%s{\"Name\":\"Paged %05d\"}", i ? "," : "", i);
    snprintf(body + o, cap - o, "]}");
    ctl("POST", "records", body);
    free(body);

    sf_query_t *q = sf_query_start(org, "SELECT Id, Name FROM Account", false, 200, &err);
    if (!q)
        fail_msg("%s", err->message);
    long total = sf_query_total_size(q), rows = 0, paged = 0;
    json_t *row;
    int rc;
    assert_true(total >= 5200);
    while ((rc = sf_query_next(q, &row, &err)) == 1) {
        rows++;
        const char *name = json_string_value(json_object_get(row, "Name"));
        paged += name && strncmp(name, "Paged ", 6) == 0;
        /* the iterator holds one page: never more than the batch size */
    }
    if (rc != 0)
        fail_msg("%s", err->message);
    assert_int_equal(rows, total);
    assert_int_equal(paged, 5200);
    assert_int_equal(sf_query_pages(q), (total + 199) / 200);
    sf_query_destroy(q);

    /* a bad query is a final Salesforce error */
    q = sf_query_start(org, "SELECT Nope__x FROM Account", false, 0, &err);
    assert_null(q);
    assert_int_equal(err->kind, SF_ERR_SALESFORCE);
    assert_int_equal(sf_error_retry_class(err), SF_RETRY_FINAL);
    sf_error_destroy(err);
    sf_org_destroy(org);
}

/* ------------------------------------------------------------------ secrets */

static void test_no_secret_in_logs(void **state)
{
    (void)state;
    FILE *f = fopen(log_path, "r");
    char line[8192];
    const char *secrets[] = {APP_SECRET,
                             ADMIN_PASS,
                             ADMIN_TOKEN,
                             SECRET_MARKER,
                             "sfemu-jwt-secret",
                             "MIIE", /* PEM body */
                             refresh_seen[0] ? refresh_seen : NULL,
                             verifier_seen[0] ? verifier_seen : NULL,
                             code_seen[0] ? code_seen : NULL};
    long lines = 0;
    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        lines++;
        for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
            if (secrets[i] && strstr(line, secrets[i]))
                fail_msg("secret #%zu in a log line: %s", i, line);
        /* access tokens of sfemu look like Salesforce's: 00D...!... */
        if (strstr(line, "00D5j00000SfEmu") && strchr(line, '!'))
            fail_msg("access token in a log line: %s", line);
    }
    fclose(f);
    assert_true(lines > 20); /* debug logging really ran */
    unlink(log_path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_password_flow_and_rest),
        cmocka_unit_test(test_auth_failures_are_precise),
        cmocka_unit_test(test_client_credentials_and_jwt),
        cmocka_unit_test(test_web_server_flow_store_refresh_revoke),
        cmocka_unit_test(test_session_expiry_is_invisible_and_single_flight),
        cmocka_unit_test(test_error_classes),
        cmocka_unit_test(test_oversized_body),
        cmocka_unit_test(test_records_collections_composite_describe),
        cmocka_unit_test(test_query_paging),
        cmocka_unit_test(test_no_secret_in_logs),
    };
    return cmocka_run_group_tests(tests, emu_start, emu_stop);
}
