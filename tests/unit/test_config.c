/*
 * test_config.c - the config loader, its table, `sfbridge check` and the example config.
 *
 * Error cases are fixture files (tests/unit/data/config/NAME.conf) whose first
 * line says what loading must give: "# expect: ok" or "# expect: LINE text".
 * The CLI is tested by running the built sfbridge binary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "br_config_int.h"

#define DATA_DIR SFB_SOURCE_DIR "/tests/unit/data/config"
#define EXAMPLE  SFB_SOURCE_DIR "/deploy/sfbridge.example.conf"
#define SFBRIDGE SFB_BINARY_DIR "/bridge/sfbridge"

extern char **environ;

/*
 * libconfig 1.5's grammar has no %destructor for string tokens: a syntax error
 * right after a string or name token leaks that token (allocated in strbuf_append
 * or libconfig_yylex).
 * That is libconfig's leak on its error path, not ours; suppress exactly it so
 * LeakSanitizer keeps watching everything else.
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:strbuf_append\nleak:libconfig_yylex\n";
}

static char tmpdir[48];

/* Distinctive secret values: none may ever appear in printed output or errors. */
#define SEC_CLIENT    "cs-SECRET-0001"
#define SEC_REFRESH   "rt-SECRET-0002"
#define SEC_KAFKA     "kp-SECRET-0003"
#define SEC_GLOBEX    "gx-SECRET-0004"
#define SEC_INITECH   "it-SECRET-0005"
#define SEC_PASSWORD  "pw-SECRET-0006"
#define SEC_FILE      "fs-SECRET-0007"
#define SEC_INLINE    "in-SECRET-0008"
#define SEC_PEM_BODY  "MIIEpemSECRET0009"
#define TOKEN_KEY_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define PEM_TEXT      "-----BEGIN PRIVATE KEY-----\n" SEC_PEM_BODY "\n-----END PRIVATE KEY-----\n"

static const char *const all_secrets[] = {SEC_CLIENT,   SEC_REFRESH,  SEC_KAFKA, SEC_GLOBEX,
                                          SEC_INITECH,  SEC_PASSWORD, SEC_FILE,  SEC_INLINE,
                                          SEC_PEM_BODY, TOKEN_KEY_HEX};

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *tmp_path(const char *name)
{
    static char buf[8][256];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, 256, "%s/%.200s", tmpdir, name);
    return p;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[n] = '\0';
    fclose(f);
    return buf;
}

static void assert_no_secret(const char *text)
{
    for (size_t i = 0; i < sizeof(all_secrets) / sizeof(all_secrets[0]); i++) {
        if (strstr(text, all_secrets[i])) {
            fail_msg("secret %s leaked into: %s", all_secrets[i], text);
        }
    }
}

static int group_setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/sfb_test_config_XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    write_file(tmp_path("key.pem"), PEM_TEXT);
    setenv("HOME", tmpdir, 1);
    setenv("T_CLIENT_SECRET", SEC_CLIENT, 1);
    setenv("T_REFRESH_TOKEN", SEC_REFRESH, 1);
    setenv("T_BAD_KEY", "not-a-key", 1);
    setenv("T_PEM_PATH", tmp_path("key.pem"), 1);
    setenv("T_PEM_TEXT", PEM_TEXT, 1);
    unsetenv("T_SURELY_NOT_SET");
    /* What deploy/sfbridge.example.conf references. */
    setenv("KAFKA_PASSWORD", SEC_KAFKA, 1);
    setenv("SF_ACME_PRIVATE_KEY", tmp_path("key.pem"), 1);
    setenv("SF_GLOBEX_CLIENT_SECRET", SEC_GLOBEX, 1);
    setenv("SF_INITECH_CLIENT_SECRET", SEC_INITECH, 1);
    setenv("SF_INITECH_PASSWORD", SEC_PASSWORD, 1);
    setenv("SFBRIDGE_TOKEN_KEY", TOKEN_KEY_HEX, 1);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    DIR *d = opendir(tmpdir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] != '.')
            unlink(tmp_path(de->d_name));
    }
    if (d)
        closedir(d);
    rmdir(tmpdir);
    return 0;
}

static br_config_t *load_text(const char *text, char *err, size_t err_size)
{
    return br_config_load_buffer("t.conf", text, strlen(text), err, err_size);
}

#define KAFKA_OK "kafka = { brokers = \"localhost:9092\"; };\n"
#define ORG_CC                                                                                     \
    "orgs = ( { name = \"acme\"; auth = { flow = \"client_credentials\"; client_id = \"cid\";\n"   \
    "  client_secret = \"${T_CLIENT_SECRET}\"; }; } );\n"

/* ---- fixtures --------------------------------------------------------------------------- */

static void test_fixtures(void **state)
{
    (void)state;
    DIR *d = opendir(DATA_DIR);
    assert_non_null(d);
    struct dirent *de;
    int files = 0;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n < 6 || strcmp(de->d_name + n - 5, ".conf") != 0)
            continue;
        char path[512], err[1024] = "";
        snprintf(path, sizeof(path), "%s/%s", DATA_DIR, de->d_name);
        char *text = read_all(path);
        assert_non_null(text);
        assert_true(strncmp(text, "# expect: ", 10) == 0);
        char *expect = text + 10;
        *strchr(expect, '\n') = '\0';

        /* What run and check answer: loaded, and usable with Kafka. */
        br_config_t *config = br_config_load(path, err, sizeof(err));
        if (config && br_config_require_kafka(config, err, sizeof(err)) != 0) {
            br_config_destroy(config);
            config = NULL;
        }
        if (strcmp(expect, "ok") == 0) {
            if (!config)
                fail_msg("%s: expected ok, got: %s", de->d_name, err);
        } else {
            int line = atoi(expect);
            const char *fragment = strchr(expect, ' ') + 1;
            char prefix[600];
            if (line > 0)
                snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
            else
                snprintf(prefix, sizeof(prefix), "%s: ", path);
            if (config)
                fail_msg("%s: expected an error, it loaded", de->d_name);
            if (strncmp(err, prefix, strlen(prefix)) != 0 || !strstr(err, fragment))
                fail_msg("%s:\n  want: %s...%s\n  got:  %s", de->d_name, prefix, fragment, err);
            assert_no_secret(err);
        }
        br_config_destroy(config);
        free(text);
        files++;
    }
    closedir(d);
    assert_true(files >= 45);
}

/* ---- values ----------------------------------------------------------------------------- */

static void test_defaults(void **state)
{
    (void)state;
    char err[1024];
    br_config_t *c = load_text(KAFKA_OK ORG_CC, err, sizeof(err));
    assert_non_null(c);
    assert_int_equal(c->log.level, SFB_LOG_INFO);
    assert_int_equal(c->log.format, SFB_LOG_FORMAT_TEXT);
    assert_string_equal(c->kafka.brokers, "localhost:9092");
    assert_string_equal(c->kafka.group, "sfbridge");
    assert_false(c->kafka.embedded);
    assert_int_equal(c->kafka.properties_count, 0);
    assert_int_equal(c->orgs_count, 1);
    const br_config_org_t *org = &c->orgs[0];
    assert_string_equal(org->name, "acme");
    assert_string_equal(org->login_url, "https://login.salesforce.com");
    assert_null(org->instance_url);
    assert_string_equal(org->api_version, "62.0");
    assert_true(org->tls_verify);
    assert_null(org->ca_file);
    assert_int_equal(org->timeout_ms, 30000);
    assert_int_equal(org->max_response_bytes, 64 * 1024 * 1024);
    assert_int_equal(org->max_api_usage_pct, 90);
    assert_int_equal(org->auth.flow, BR_AUTH_CLIENT_CREDENTIALS);
    assert_string_equal(org->auth.client_id, "cid");
    assert_string_equal(org->auth.client_secret.value, SEC_CLIENT);
    assert_int_equal(org->auth.client_secret.origin, BR_SECRET_ENV);
    assert_string_equal(org->auth.client_secret.ref, "T_CLIENT_SECRET");
    assert_null(org->auth.password.value);
    assert_int_equal(org->auth.redirect_port, 1717);
    char want_store[300];
    snprintf(want_store, sizeof(want_store), "%s/.local/state/sfbridge/tokens", tmpdir);
    assert_string_equal(c->token_store.path, want_store);
    assert_false(c->token_store.key_set);
    assert_string_equal(c->sink.command_topic, "sf.commands");
    assert_string_equal(c->sink.result_topic, "sf.results");
    assert_string_equal(c->sink.dead_letter_topic, "sf.deadletter");
    assert_int_equal(c->sink.partitions_count, 0);
    assert_int_equal(c->sink.batch_size, 200);
    assert_int_equal(c->sink.linger_ms, 50);
    assert_int_equal(c->sink.max_in_flight, 4);
    assert_int_equal(c->sink.max_command_bytes, 1024 * 1024);
    assert_int_equal(c->sink.retry_budget_ms, 600000);
    assert_int_equal(c->sink.max_attempts, 10);
    assert_int_equal(c->sink.dedupe_count, 0);
    assert_true(c->sink.use_composite); /* default: on */
    assert_int_equal(c->warnings_count, 0);
    br_config_destroy(c);
}

static const char rich_config[] =
    "log = { level = \"debug\"; format = \"json\"; };\n"
    "kafka = {\n"
    "  brokers = \"k1:9092,k2:9092\";\n"
    "  group = \"g1\";\n"
    "  properties = {\n"
    "    socket = { timeout = { ms = 30000; }; keepalive = { enable = true; }; };\n"
    "    client = { id = \"bridge-1\"; };\n"
    "    enable = { idempotence = true; };\n"
    "  };\n"
    "};\n"
    "orgs = (\n"
    "  { name = \"acme\"; login_url = \"https://acme.my.salesforce.com/\";\n"
    "    api_version = \"61.0\"; max_api_usage_pct = 50;\n"
    "    auth = { flow = \"jwt\"; client_id = \"cid\"; username = \"u@acme\";\n"
    "             private_key = \"${T_PEM_TEXT}\"; }; },\n"
    "  { name = \"globex\"; instance_url = \"http://127.0.0.1:8443\"; tls_verify = false;\n"
    "    auth = { flow = \"refresh_token\"; client_id = \"cid2\";\n"
    "             refresh_token = \"${T_REFRESH_TOKEN}\"; }; }\n"
    ");\n"
    "sink = {\n"
    "  partitions = ( { partition = 0; org = \"acme\"; }, { partition = 7; org = \"globex\"; },\n"
    "                 { partition = 3; org = \"acme\"; } );\n"
    "  dedupe = ( { sobject = \"Account\"; field = \"Cmd_Id__c\"; } );\n"
    "  batch_size = 25; linger_ms = 0; use_composite = false;\n"
    "};\n";

static void test_values_and_lookups(void **state)
{
    (void)state;
    char err[1024];
    br_config_t *c = load_text(rich_config, err, sizeof(err));
    if (!c)
        fail_msg("%s", err);
    assert_int_equal(c->log.level, SFB_LOG_DEBUG);
    assert_int_equal(c->log.format, SFB_LOG_FORMAT_JSON);
    assert_string_equal(c->kafka.group, "g1");

    /* Properties: nested groups flattened, scalars as librdkafka strings, file order. */
    assert_int_equal(c->kafka.properties_count, 4);
    assert_string_equal(c->kafka.properties[0].name, "socket.timeout.ms");
    assert_string_equal(c->kafka.properties[0].value, "30000");
    assert_string_equal(c->kafka.properties[1].name, "socket.keepalive.enable");
    assert_string_equal(c->kafka.properties[1].value, "true");
    assert_string_equal(c->kafka.properties[2].name, "client.id");
    assert_string_equal(c->kafka.properties[3].name, "enable.idempotence");
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    assert_int_equal(br_config_kafka_conf_apply(c, conf, err, sizeof(err)), 0);
    char val[64];
    size_t val_size = sizeof(val);
    assert_int_equal(rd_kafka_conf_get(conf, "client.id", val, &val_size), RD_KAFKA_CONF_OK);
    assert_string_equal(val, "bridge-1");
    val_size = sizeof(val);
    assert_int_equal(rd_kafka_conf_get(conf, "socket.timeout.ms", val, &val_size),
                     RD_KAFKA_CONF_OK);
    assert_string_equal(val, "30000");
    rd_kafka_conf_destroy(conf);

    const br_config_org_t *acme = br_config_org_find(c, "acme");
    const br_config_org_t *globex = br_config_org_find(c, "globex");
    assert_non_null(acme);
    assert_non_null(globex);
    assert_null(br_config_org_find(c, "initech"));
    assert_string_equal(acme->login_url, "https://acme.my.salesforce.com"); /* '/' stripped */
    assert_string_equal(acme->auth.audience, acme->login_url);              /* default */
    assert_string_equal(acme->auth.private_key.value, PEM_TEXT);
    assert_string_equal(acme->api_version, "61.0");
    assert_int_equal(acme->max_api_usage_pct, 50);
    assert_false(globex->tls_verify);
    assert_string_equal(globex->instance_url, "http://127.0.0.1:8443");

    assert_ptr_equal(br_config_org_of_partition(c, 0), acme);
    assert_ptr_equal(br_config_org_of_partition(c, 3), acme);
    assert_ptr_equal(br_config_org_of_partition(c, 7), globex);
    assert_null(br_config_org_of_partition(c, 1));
    assert_null(br_config_org_of_partition(c, -1));
    assert_int_equal(c->sink.dedupe_count, 1);
    assert_string_equal(c->sink.dedupe[0].field, "Cmd_Id__c");
    assert_int_equal(c->sink.batch_size, 25);
    assert_int_equal(c->sink.linger_ms, 0);
    assert_false(c->sink.use_composite);

    /* tls_verify = false is allowed per org, with a warning naming it. */
    bool warned = false;
    for (size_t i = 0; i < c->warnings_count; i++)
        warned |= strstr(c->warnings[i], "orgs.[1].tls_verify") != NULL;
    assert_true(warned);
    br_config_destroy(c);
}

static void test_token_key_forms(void **state)
{
    (void)state;
    static const char *const forms[] = {
        TOKEN_KEY_HEX, "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", /* base64 */
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",  /* unpadded */
    };
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        char text[1024], err[1024];
        setenv("T_TOKEN_KEY", forms[i], 1);
        snprintf(text, sizeof(text), "%s%s%s", KAFKA_OK, ORG_CC,
                 "token_store = { key = \"${T_TOKEN_KEY}\"; path = \"/var/lib/x/tokens\"; };\n");
        br_config_t *c = load_text(text, err, sizeof(err));
        if (!c)
            fail_msg("form %zu: %s", i, err);
        assert_true(c->token_store.key_set);
        for (int b = 0; b < 32; b++)
            assert_int_equal(c->token_store.key_bytes[b], b);
        br_config_destroy(c);
    }
    static const char *const bad[] = {
        "00",
        TOKEN_KEY_HEX "00",
        "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8AAAA=",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[1024], err[1024];
        setenv("T_TOKEN_KEY", bad[i], 1);
        snprintf(text, sizeof(text), "%s%s%s", KAFKA_OK, ORG_CC,
                 "token_store = { key = \"${T_TOKEN_KEY}\"; };\n");
        br_config_t *c = load_text(text, err, sizeof(err));
        assert_null(c);
        assert_non_null(strstr(err, "key 'token_store.key'"));
        assert_null(strstr(err, bad[i]));
    }
    unsetenv("T_TOKEN_KEY");
}

/* Relative paths and @file references resolve against the config file's directory. */
static void test_relative_paths(void **state)
{
    (void)state;
    char err[1024], want[400];
    write_file(tmp_path("secret.txt"), SEC_FILE "\r\n\n");
    write_file(tmp_path("ca.pem"), "-----BEGIN CERTIFICATE-----\n");
    write_file(tmp_path("rel.conf"),
               KAFKA_OK "orgs = ( { name = \"acme\"; ca_file = \"ca.pem\";\n"
                        "  auth = { flow = \"client_credentials\"; client_id = \"cid\";\n"
                        "    client_secret = \"@secret.txt\"; }; } );\n"
                        "token_store = { path = \"state/tokens\"; };\n");
    br_config_t *c = br_config_load(tmp_path("rel.conf"), err, sizeof(err));
    if (!c)
        fail_msg("%s", err);
    assert_string_equal(c->orgs[0].auth.client_secret.value, SEC_FILE); /* newlines stripped */
    assert_int_equal(c->orgs[0].auth.client_secret.origin, BR_SECRET_FILE);
    assert_string_equal(c->orgs[0].auth.client_secret.ref, tmp_path("secret.txt"));
    assert_string_equal(c->orgs[0].ca_file, tmp_path("ca.pem"));
    snprintf(want, sizeof(want), "%s/state/tokens", tmpdir);
    assert_string_equal(c->token_store.path, want);
    br_config_destroy(c);

    /* An @file that is a directory, a FIFO-like device or empty is an error naming the path. */
    static const struct {
        const char *ref, *fragment;
    } bad[] = {
        {"@/", "not a regular file"},
        {"@/dev/null", "not a regular file"},
        {"@empty.txt", "is empty"},
    };
    write_file(tmp_path("empty.txt"), "\n");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[1024];
        snprintf(text, sizeof(text),
                 KAFKA_OK "orgs = ( { name = \"acme\";\n"
                          "  auth = { flow = \"client_credentials\"; client_id = \"cid\";\n"
                          "    client_secret = \"%s\"; }; } );\n",
                 bad[i].ref);
        write_file(tmp_path("bad.conf"), text);
        c = br_config_load(tmp_path("bad.conf"), err, sizeof(err));
        assert_null(c);
        if (!strstr(err, bad[i].fragment) || !strstr(err, ":4: key 'orgs.[0].auth.client_secret'"))
            fail_msg("%s: %s", bad[i].ref, err);
    }
}

/* ---- redaction ---------------------------------------------------------------------------- */

static void test_redaction(void **state)
{
    (void)state;
    char err[1024];
    write_file(tmp_path("pw.txt"), SEC_FILE "\n");
    char text[4096];
    snprintf(text, sizeof(text),
             "kafka = { brokers = \"b:9092\";\n"
             "  properties = { sasl = { username = \"u\"; password = \"%s\"; };\n"
             "                 ssl = { key = { password = \"${T_REFRESH_TOKEN}\"; }; }; };\n"
             "};\n"
             "orgs = (\n"
             "  { name = \"a\"; auth = { flow = \"password\"; client_id = \"c\";\n"
             "      client_secret = \"${T_CLIENT_SECRET}\"; username = \"u\";\n"
             "      password = \"@%s\"; security_token = \"%s\"; }; },\n"
             "  { name = \"b\"; auth = { flow = \"jwt\"; client_id = \"c\"; username = \"u\";\n"
             "      private_key = \"%s\"; }; }\n"
             ");\n"
             "token_store = { key = \"%s\"; };\n",
             SEC_INLINE, tmp_path("pw.txt"), SEC_INLINE, tmp_path("key.pem"), TOKEN_KEY_HEX);
    br_config_t *c = load_text(text, err, sizeof(err));
    if (!c)
        fail_msg("%s", err);
    /* The values are there for the daemon... */
    assert_string_equal(c->orgs[0].auth.password.value, SEC_FILE);
    assert_string_equal(c->orgs[0].auth.security_token.value, SEC_INLINE);
    assert_true(c->kafka.properties[1].secret);
    assert_false(c->kafka.properties[0].secret);

    /* ...and nowhere in what a human sees. */
    char *out = NULL;
    size_t out_len = 0;
    FILE *f = open_memstream(&out, &out_len);
    br_config_print(c, f);
    fclose(f);
    assert_no_secret(out);
    size_t redacted = 0;
    for (const char *p = out; (p = strstr(p, SFB_REDACTED)); p++)
        redacted++;
    assert_int_equal(redacted, 8); /* 2 properties, 4 org secrets, private key, token key */
    assert_non_null(strstr(out, "# from ${T_CLIENT_SECRET}"));
    assert_non_null(strstr(out, "# from file "));
    assert_non_null(strstr(out, "username = \"u\";")); /* non-secret property stays visible */
    free(out);

    /* Inline secrets (sasl.password, security_token, token key) are warned about, by key. */
    int inline_warnings = 0;
    for (size_t i = 0; i < c->warnings_count; i++) {
        assert_no_secret(c->warnings[i]);
        inline_warnings += strstr(c->warnings[i], "secret written inline") != NULL;
    }
    assert_int_equal(inline_warnings, 3);
    br_config_destroy(c);

    /* Errors about a secret's value never quote it. */
    setenv("T_BAD_PEM", "-----BEGIN NOTHING-----\n" SEC_PEM_BODY "\n", 1);
    c = load_text(KAFKA_OK "orgs = ( { name = \"a\"; auth = { flow = \"jwt\"; client_id = \"c\";\n"
                           "  username = \"u\"; private_key = \"${T_BAD_PEM}\"; }; } );\n",
                  err, sizeof(err));
    assert_null(c);
    assert_non_null(strstr(err, "not a PEM private key"));
    assert_no_secret(err);
    unsetenv("T_BAD_PEM");
}

/* The printed config is itself a valid config that prints the same (a fixpoint). */
static void test_print_roundtrip(void **state)
{
    (void)state;
    char err[1024];
    char *first = NULL, *second = NULL;
    size_t len1 = 0, len2 = 0;
    /* No PEM or token key here: those would not survive redaction by design. */
    br_config_t *c = load_text(KAFKA_OK ORG_CC "sink = { partitions = ( { partition = 2; org = "
                                               "\"acme\"; } ); };\n",
                               err, sizeof(err));
    assert_non_null(c);
    FILE *f = open_memstream(&first, &len1);
    br_config_print(c, f);
    fclose(f);
    br_config_destroy(c);
    c = br_config_load_buffer("printed.conf", first, len1, err, sizeof(err));
    if (!c)
        fail_msg("%s\n%s", err, first);
    f = open_memstream(&second, &len2);
    br_config_print(c, f);
    fclose(f);
    br_config_destroy(c);
    /* Only the header line (file name) and the secret's origin comment differ. */
    const char *b1 = strchr(first, '\n'), *b2 = strchr(second, '\n');
    char *o1 = strstr(first, "  # from ${T_CLIENT_SECRET}");
    assert_non_null(o1);
    memmove(o1, o1 + strlen("  # from ${T_CLIENT_SECRET}"),
            strlen(o1 + strlen("  # from ${T_CLIENT_SECRET}")) + 1);
    char *o2 = strstr(second, "  # inline: move it to ${ENV_VAR} or @file");
    assert_non_null(o2);
    memmove(o2, o2 + strlen("  # inline: move it to ${ENV_VAR} or @file"),
            strlen(o2 + strlen("  # inline: move it to ${ENV_VAR} or @file")) + 1);
    assert_string_equal(b1, b2);
    free(first);
    free(second);
}

/* ---- hostile input ------------------------------------------------------------------------ */

static void test_hostile_truncated(void **state)
{
    (void)state;
    char *text = read_all(EXAMPLE);
    assert_non_null(text);
    size_t len = strlen(text), loaded = 0;
    char err[1024];
    for (size_t cut = 0; cut < len; cut += 3) {
        br_config_t *c = br_config_load_buffer("cut.conf", text, cut, err, sizeof(err));
        loaded += c != NULL;
        if (!c)
            assert_true(strncmp(err, "cut.conf", 8) == 0);
        br_config_destroy(c);
    }
    /* A cut inside a comment at the end may still be a complete config; most are not. */
    assert_true(loaded < len / 3 / 10);
    free(text);
}

static void test_hostile_binary(void **state)
{
    (void)state;
    char buf[4096], err[1024];
    uint32_t seed = 12345;
    for (int round = 0; round < 400; round++) {
        size_t n = (size_t)(round * 37) % sizeof(buf);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            buf[i] = (char)(seed >> 16);
            /* Half the rounds without NULs, so libconfig's scanner sees the bytes. */
            if ((round & 1) && buf[i] == '\0')
                buf[i] = '\x01';
        }
        br_config_t *c = br_config_load_buffer("bin.conf", buf, n, err, sizeof(err));
        assert_null(c); /* not even an empty buffer is a config: orgs is required */
        if (memchr(buf, 0, n))
            assert_non_null(strstr(err, "NUL byte"));
    }
    /* Non-UTF-8 inside a string value is just bytes; in a key it is a syntax error. */
    br_config_t *c =
        load_text(KAFKA_OK ORG_CC "log = { level = \"\xff\xfe\"; };\n", err, sizeof(err));
    assert_null(c);
    assert_non_null(strstr(err, "key 'log.level'"));
}

static void test_hostile_large(void **state)
{
    (void)state;
    char err[1024];
    /* Over the file limit: refused before parsing. */
    size_t big = BR_CONFIG_MAX_FILE_BYTES + 1;
    char *text = malloc(big + 1);
    assert_non_null(text);
    memset(text, '#', big);
    text[big] = '\0';
    write_file(tmp_path("big.conf"), text);
    br_config_t *c = br_config_load(tmp_path("big.conf"), err, sizeof(err));
    assert_null(c);
    assert_non_null(strstr(err, "larger than"));
    c = br_config_load_buffer("big.conf", text, big, err, sizeof(err));
    assert_null(c);
    assert_non_null(strstr(err, "larger than"));

    /* A very long string value: bounded per key. */
    size_t n = (size_t)snprintf(text, big, "kafka = { brokers = \"");
    memset(text + n, 'b', 100000);
    n += 100000;
    n += (size_t)snprintf(text + n, big - n, "\"; };\n" ORG_CC);
    c = br_config_load_buffer("long.conf", text, n, err, sizeof(err));
    assert_null(c);
    assert_non_null(strstr(err, "key 'kafka.brokers': longer than 4096"));

    /* More orgs than allowed. */
    n = (size_t)snprintf(text, big, KAFKA_OK "orgs = (");
    for (int i = 0; i < 1001; i++)
        n += (size_t)snprintf(text + n, big - n, "%s{ name = \"o%d\"; }", i ? "," : "", i);
    n += (size_t)snprintf(text + n, big - n, ");\n");
    c = br_config_load_buffer("many.conf", text, n, err, sizeof(err));
    assert_null(c);
    assert_non_null(strstr(err, "at most 1000"));
    free(text);
}

static void test_hostile_nesting(void **state)
{
    (void)state;
    char err[1024];
    size_t depth = 100000, n = 0;
    char *text = malloc(depth * 8 + 256);
    assert_non_null(text);
    /* Deep lists: libconfig's parser gives up with a syntax error. */
    n = (size_t)sprintf(text, "x = ");
    for (size_t i = 0; i < depth; i++)
        text[n++] = '(';
    for (size_t i = 0; i < depth; i++)
        text[n++] = ')';
    text[n++] = ';';
    br_config_t *c = br_config_load_buffer("deep.conf", text, n, err, sizeof(err));
    assert_null(c);
    /* Deep groups that parse: rejected by our table without descending. */
    n = (size_t)sprintf(text, KAFKA_OK ORG_CC);
    for (size_t i = 0; i < 5000; i++)
        n += (size_t)sprintf(text + n, "a = {");
    for (size_t i = 0; i < 5000; i++)
        n += (size_t)sprintf(text + n, "};");
    c = br_config_load_buffer("deep.conf", text, n, err, sizeof(err));
    assert_null(c);
    /* Deep kafka.properties: bounded. */
    n = (size_t)sprintf(text, "kafka = { brokers = \"b\"; properties = {");
    for (size_t i = 0; i < 20; i++)
        n += (size_t)sprintf(text + n, "a = {");
    for (size_t i = 0; i < 20; i++)
        n += (size_t)sprintf(text + n, "};");
    n += (size_t)sprintf(text + n, "}; };\n" ORG_CC);
    c = br_config_load_buffer("deep.conf", text, n, err, sizeof(err));
    assert_null(c);
    assert_non_null(strstr(err, "nested more than 8 levels"));
    free(text);
}

/* ---- the example config -------------------------------------------------------------------- */

/* True if `name` appears in `text` as a setting: "name =" not preceded by a name character. */
static bool has_setting(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = text; (p = strstr(p, name)); p++) {
        bool start = p == text || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
        if (start && strncmp(p + n, " =", 2) == 0)
            return true;
    }
    return false;
}

static void check_documented(const br_ckey_t *keys, const char *text, const char *parent,
                             const char *what, int *count)
{
    for (const br_ckey_t *k = keys; k->name; k++) {
        char path[256];
        snprintf(path, sizeof(path), "%s%s%s", parent, parent[0] ? "." : "", k->name);
        if (!has_setting(text, k->name))
            fail_msg("key %s does not appear in %s", path, what);
        if (!k->desc || strlen(k->desc) < 10)
            fail_msg("key %s has no description in the table", path);
        (*count)++;
        if (k->sub)
            check_documented(k->sub, text, path, what, count);
    }
}

static void test_example_documents_every_key(void **state)
{
    (void)state;
    char *text = read_all(EXAMPLE);
    assert_non_null(text);
    int count = 0;
    check_documented(br_config_root_keys, text, "", EXAMPLE, &count);
    assert_true(count >= 45);
    free(text);

    /* The generated reference covers every key as well. */
    char *ref = NULL;
    size_t ref_len = 0;
    FILE *f = open_memstream(&ref, &ref_len);
    br_config_print_reference(f);
    fclose(f);
    count = 0;
    check_documented(br_config_root_keys, ref, "", "the reference", &count);
    free(ref);
}

static void test_example_loads(void **state)
{
    (void)state;
    char err[1024];
    br_config_t *c = br_config_load(EXAMPLE, err, sizeof(err));
    if (!c)
        fail_msg("%s", err);
    /* The example shows good practice: no inline secrets, nothing to warn about. */
    for (size_t i = 0; i < c->warnings_count; i++)
        fail_msg("warning: %s", c->warnings[i]);
    assert_int_equal(c->orgs_count, 5);
    assert_true(c->token_store.key_set);
    assert_non_null(br_config_org_of_partition(c, 5));
    br_config_destroy(c);
}

/* ---- the CLI ------------------------------------------------------------------------------- */

typedef struct {
    int status;
    char *out, *err;
} run_result_t;

static run_result_t run_sfbridge(const char *const *args)
{
    run_result_t r = {.status = -1};
    char *argv[16];
    int argc = 0;
    argv[argc++] = (char *)SFBRIDGE;
    for (; *args && argc < 15; args++)
        argv[argc++] = (char *)*args;
    argv[argc] = NULL;

    if (access(SFBRIDGE, X_OK) != 0)
        fail_msg("%s is not built (build the sfbridge target first)", SFBRIDGE);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, tmp_path("cli.out"), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    posix_spawn_file_actions_addopen(&fa, 2, tmp_path("cli.err"), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    pid_t pid;
    int rc = posix_spawn(&pid, SFBRIDGE, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    assert_int_equal(rc, 0);
    int wstatus;
    assert_int_equal(waitpid(pid, &wstatus, 0), pid);
    assert_true(WIFEXITED(wstatus));
    r.status = WEXITSTATUS(wstatus);
    r.out = read_all(tmp_path("cli.out"));
    r.err = read_all(tmp_path("cli.err"));
    assert_non_null(r.out);
    assert_non_null(r.err);
    return r;
}

static void run_free(run_result_t *r)
{
    free(r->out);
    free(r->err);
}

/* Without kafka.brokers a config still loads (the org admin commands never
 * use Kafka); run and check refuse it with the same precise line. */
static void test_brokers_only_for_kafka_commands(void **state)
{
    (void)state;
    const char *path = DATA_DIR "/err_brokers_missing.conf";
    char err[1024] = "";
    br_config_t *config = br_config_load(path, err, sizeof(err));
    if (!config)
        fail_msg("org commands could not load it: %s", err);
    assert_int_equal(config->orgs_count, 1);
    assert_int_equal(br_config_require_kafka(config, err, sizeof(err)), -1);
    assert_string_equal(err, DATA_DIR "/err_brokers_missing.conf:3: key 'kafka.brokers': "
                                      "required unless kafka.embedded = true");
    br_config_destroy(config);

    /* `org`: fails on the org (no login_url answers), not on the config. */
    run_result_t r = run_sfbridge((const char *[]){"org", "versions", "-c", path, NULL});
    assert_int_not_equal(r.status, 0);
    assert_int_not_equal(r.status, 2);
    assert_null(strstr(r.err, "kafka.brokers"));
    run_free(&r);

    r = run_sfbridge((const char *[]){"run", "-c", path, NULL});
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "key 'kafka.brokers': required unless kafka.embedded = true"));
    run_free(&r);
}

static void test_cli_check(void **state)
{
    (void)state;
    /* The example passes, printed with every secret redacted. */
    run_result_t r = run_sfbridge((const char *[]){"check", "-c", EXAMPLE, NULL});
    if (r.status != 0)
        fail_msg("exit %d: %s", r.status, r.err);
    assert_non_null(strstr(r.out, "name = \"acme\";"));
    assert_non_null(strstr(r.out, "max_attempts = 10;"));
    assert_non_null(strstr(r.out, "password = \"" SFB_REDACTED "\";  # from ${KAFKA_PASSWORD}"));
    assert_no_secret(r.out);
    assert_no_secret(r.err);
    assert_string_equal(r.err, "");
    run_free(&r);

    /* A bad config: exit 2 and exactly one precise line. */
    r = run_sfbridge(
        (const char *[]){"check", "-c", DATA_DIR "/err_partition_unknown_org.conf", NULL});
    assert_int_equal(r.status, 2);
    assert_string_equal(r.err, DATA_DIR "/err_partition_unknown_org.conf:12: key "
                                        "'sink.partitions.[1].org': partition 1 is mapped to org "
                                        "'initech', which is not in orgs\n");
    assert_string_equal(r.out, "");
    run_free(&r);

    /* Warnings go to stderr, the config still passes. */
    write_file(tmp_path("inline.conf"),
               KAFKA_OK "orgs = ( { name = \"a\"; auth = { flow = \"client_credentials\";\n"
                        "  client_id = \"c\"; client_secret = \"" SEC_INLINE "\"; }; } );\n");
    r = run_sfbridge((const char *[]){"check", "-q", "-c", tmp_path("inline.conf"), NULL});
    assert_int_equal(r.status, 0);
    assert_string_equal(r.out, "");
    assert_non_null(strstr(r.err, "warning: "));
    assert_non_null(strstr(r.err, ":3: key 'orgs.[0].auth.client_secret': secret written inline"));
    assert_no_secret(r.err);
    run_free(&r);

    r = run_sfbridge((const char *[]){"check", "-c", "/nonexistent/sfbridge.conf", NULL});
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "/nonexistent/sfbridge.conf: cannot read config file"));
    run_free(&r);

    r = run_sfbridge((const char *[]){"check", NULL});
    assert_int_equal(r.status, 2);
    assert_non_null(strstr(r.err, "-c FILE is required"));
    run_free(&r);

    r = run_sfbridge((const char *[]){"check", "--bogus", NULL});
    assert_int_equal(r.status, 2);
    run_free(&r);

    r = run_sfbridge((const char *[]){"check", "--help", NULL});
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "Usage: sfbridge check -c FILE"));
    assert_non_null(strstr(r.out, "${ENV_VAR}"));
    assert_non_null(strstr(r.out, "Exit codes"));
    run_free(&r);

    r = run_sfbridge((const char *[]){"check", "--print-reference", NULL});
    assert_int_equal(r.status, 0);
    int count = 0;
    check_documented(br_config_root_keys, r.out, "", "--print-reference", &count);
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_values_and_lookups),
        cmocka_unit_test(test_token_key_forms),
        cmocka_unit_test(test_relative_paths),
        cmocka_unit_test(test_redaction),
        cmocka_unit_test(test_print_roundtrip),
        cmocka_unit_test(test_hostile_truncated),
        cmocka_unit_test(test_hostile_binary),
        cmocka_unit_test(test_hostile_large),
        cmocka_unit_test(test_hostile_nesting),
        cmocka_unit_test(test_example_documents_every_key),
        cmocka_unit_test(test_example_loads),
        cmocka_unit_test(test_brokers_only_for_kafka_commands),
        cmocka_unit_test(test_cli_check),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
