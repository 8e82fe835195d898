/*
 * test_emu_rest.c - sfemu's REST API over real HTTP: ids, versions,
 * resources, limits and API accounting, describe (and 304), record CRUD,
 * upsert, platform events, every errorCode of the REST resources, gzip in
 * both directions, the request-body bound and authentication.
 */
#include "emu_id.h"
#include "test_emu_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <zlib.h>

static t_env_t env;

static int setup(void **state)
{
    (void)state;
    return t_env_start(&env, NULL);
}

static int teardown(void **state)
{
    (void)state;
    t_env_stop(&env);
    return 0;
}

static void test_id_checksum(void **state)
{
    (void)state;
    static const char *const vectors[][2] = {
        {"a0RE000000IJmcN", "a0RE000000IJmcNMAT"}, {"001M000000qfPyS", "001M000000qfPySIAU"},
        {"AbCdEfGhIjKlMnO", "AbCdEfGhIjKlMnOVKV"}, {"aBcDEfgHIJKLMNO", "aBcDEfgHIJKLMNO025"},
        {"00190000001pPvH", "00190000001pPvHAAU"}, {"00Di0000000icUB", "00Di0000000icUBEAY"},
    };
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        char out[19];
        assert_int_equal(emu_id_normalize(vectors[i][0], out), 0);
        assert_string_equal(out, vectors[i][1]);
        /* the 18-char form is case-insensitive: lower-case it and get it back */
        char lower[19];
        for (int k = 0; k < 19; k++)
            lower[k] =
                (char)((vectors[i][1][k] >= 'A' && vectors[i][1][k] <= 'Z') ? vectors[i][1][k] + 32
                                                                            : vectors[i][1][k]);
        assert_int_equal(emu_id_normalize(lower, out), 0);
        assert_string_equal(out, vectors[i][1]);
    }
    char out[19];
    assert_int_equal(emu_id_normalize("001M000000qfPy", out), -1);  /* 14 chars */
    assert_int_equal(emu_id_normalize("001M000000qfP-S", out), -1); /* bad char */
    emu_id_make("001", 12345, out);
    assert_int_equal(strlen(out), 18);
    char again[19];
    assert_int_equal(emu_id_normalize(out, again), 0);
    assert_string_equal(out, again);
}

static void test_versions_and_resources(void **state)
{
    (void)state;
    char url[256];
    snprintf(url, sizeof(url), "%s/services/data/", env.base);
    t_resp_t r = t_http("GET", url, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_true(json_is_array(r.json));
    bool saw50 = false, saw62 = false;
    size_t i;
    json_t *v;
    json_array_foreach(r.json, i, v)
    {
        const char *ver = json_string_value(json_object_get(v, "version"));
        saw50 |= !strcmp(ver, "50.0");
        saw62 |= !strcmp(ver, "62.0");
        if (!strcmp(ver, "60.0"))
            assert_string_equal(json_string_value(json_object_get(v, "label")), "Spring '24");
    }
    assert_true(saw50 && saw62);
    char hdr[128];
    assert_false(t_header(&r, "Sforce-Limit-Info", hdr, sizeof(hdr))); /* not counted */
    t_resp_free(&r);

    r = t_api(&env, "GET", "/", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "sobjects")),
                        "/services/data/v62.0/sobjects");
    assert_non_null(strstr(json_string_value(json_object_get(r.json, "identity")), "/id/00D"));
    t_resp_free(&r);

    r = t_api(&env, "GET", "/sobjects", NULL); /* unsupported version next */
    assert_int_equal(r.status, 200);
    t_resp_free(&r);
    snprintf(url, sizeof(url), "%s/services/data/v19.0/sobjects", env.base);
    r = t_http("GET", url, env.auth, NULL);
    assert_int_equal(r.status, 404);
    assert_string_equal(t_error_code(&r), "NOT_FOUND");
    t_resp_free(&r);
}

static void test_auth_required(void **state)
{
    (void)state;
    t_resp_t r = t_http("GET", env.api, NULL, NULL);
    assert_int_equal(r.status, 401);
    assert_string_equal(t_error_code(&r), "INVALID_SESSION_ID");
    assert_string_equal(json_string_value(json_object_get(json_array_get(r.json, 0), "message")),
                        "Session expired or invalid");
    t_resp_free(&r);
    r = t_http("GET", env.api, "Authorization: Bearer 00Dxx!bogus", NULL);
    assert_int_equal(r.status, 401);
    t_resp_free(&r);
}

static void test_limits_and_counting(void **state)
{
    (void)state;
    t_resp_t r = t_api(&env, "GET", "/limits", NULL);
    assert_int_equal(r.status, 200);
    json_t *d = json_object_get(r.json, "DailyApiRequests");
    json_int_t max = json_integer_value(json_object_get(d, "Max"));
    json_int_t rem = json_integer_value(json_object_get(d, "Remaining"));
    assert_int_equal(max, 15000);
    char hdr[128], want[128];
    assert_true(t_header(&r, "Sforce-Limit-Info", hdr, sizeof(hdr)));
    snprintf(want, sizeof(want), "api-usage=%lld/15000", (long long)(max - rem));
    assert_string_equal(hdr, want);
    t_resp_free(&r);
    r = t_api(&env, "GET", "/limits", NULL);
    assert_int_equal(json_integer_value(
                         json_object_get(json_object_get(r.json, "DailyApiRequests"), "Remaining")),
                     rem - 1);
    t_resp_free(&r);

    /* Spend the allocation: the next call gets 403 REQUEST_LIMIT_EXCEEDED. */
    t_resp_t c = t_control(&env, "POST", "limits", "{\"daily_api_requests\":100,\"used\":100}");
    assert_int_equal(c.status, 200);
    t_resp_free(&c);
    r = t_api(&env, "GET", "/sobjects", NULL);
    assert_int_equal(r.status, 403);
    assert_string_equal(t_error_code(&r), "REQUEST_LIMIT_EXCEEDED");
    assert_true(t_header(&r, "Sforce-Limit-Info", hdr, sizeof(hdr)));
    assert_string_equal(hdr, "api-usage=100/100");
    t_resp_free(&r);
    c = t_control(&env, "POST", "limits", "{\"daily_api_requests\":15000,\"used\":0}");
    t_resp_free(&c);
    r = t_api(&env, "GET", "/sobjects", NULL);
    assert_int_equal(r.status, 200);
    t_resp_free(&r);
}

static void test_describe(void **state)
{
    (void)state;
    t_resp_t r = t_api(&env, "GET", "/sobjects", NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "maxBatchSize")), 200);
    size_t n = json_array_size(json_object_get(r.json, "sobjects"));
    assert_true(n >= 9);
    t_resp_free(&r);

    r = t_api(&env, "GET", "/sobjects/Widget__c/describe", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "keyPrefix")), "a0X");
    char lm[128];
    assert_true(t_header(&r, "Last-Modified", lm, sizeof(lm)));
    bool ext = false;
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(r.json, "fields"), i, f)
    {
        if (!strcmp(json_string_value(json_object_get(f, "name")), "Ext_Id__c"))
            ext = json_is_true(json_object_get(f, "externalId")) &&
                  json_is_true(json_object_get(f, "unique"));
    }
    assert_true(ext);
    t_resp_free(&r);

    /* If-Modified-Since not older than the schema: 304 without a body */
    char url[512], ims[200];
    snprintf(url, sizeof(url), "%s/sobjects/Account/describe", env.api);
    snprintf(ims, sizeof(ims), "If-Modified-Since: %s", lm);
    const char *h1[] = {env.auth, ims, NULL};
    r = t_http_ex(NULL, "GET", url, h1, NULL, 0);
    assert_int_equal(r.status, 304);
    assert_int_equal(r.len, 0);
    t_resp_free(&r);
    const char *h2[] = {env.auth, "If-Modified-Since: Mon, 1 Jan 2001 00:00:00 GMT", NULL};
    r = t_http_ex(NULL, "GET", url, h2, NULL, 0);
    assert_int_equal(r.status, 200);
    t_resp_free(&r);

    r = t_api(&env, "GET", "/sobjects/Nope__c/describe", NULL);
    assert_int_equal(r.status, 404);
    assert_string_equal(t_error_code(&r), "NOT_FOUND");
    t_resp_free(&r);

    r = t_api(&env, "GET", "/sobjects/Account", NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(json_object_get(r.json, "objectDescribe"));
    assert_true(json_is_array(json_object_get(r.json, "recentItems")));
    t_resp_free(&r);
}

static void test_crud(void **state)
{
    (void)state;
    t_resp_t r = t_api(&env, "POST", "/sobjects/Account",
                       "{\"Name\":\"Acme\",\"NumberOfEmployees\":12,\"AnnualRevenue\":\"1000.5\"}");
    assert_int_equal(r.status, 201);
    assert_true(json_is_true(json_object_get(r.json, "success")));
    assert_int_equal(json_array_size(json_object_get(r.json, "errors")), 0);
    char id[19];
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(r.json, "id")));
    assert_int_equal(strncmp(id, "001", 3), 0);
    t_resp_free(&r);

    r = t_apif(&env, "GET", NULL, "/sobjects/Account/%s", id);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "Name")), "Acme");
    assert_false(json_is_true(json_object_get(r.json, "IsDeleted")));
    assert_non_null(json_string_value(json_object_get(r.json, "CreatedDate")));
    assert_non_null(json_string_value(json_object_get(r.json, "SystemModstamp")));
    assert_int_equal(strncmp(json_string_value(json_object_get(r.json, "CreatedById")), "005", 3),
                     0);
    assert_true(json_is_real(json_object_get(r.json, "AnnualRevenue")));
    const char *created = json_string_value(json_object_get(r.json, "LastModifiedDate"));
    char first_mod[40];
    snprintf(first_mod, sizeof(first_mod), "%s", created);
    t_resp_free(&r);

    /* 15-char id accepted; ?fields= limits the answer (plus Id) */
    char id15[16];
    snprintf(id15, sizeof(id15), "%.15s", id);
    r = t_apif(&env, "GET", NULL, "/sobjects/Account/%s?fields=Name,NumberOfEmployees", id15);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_object_size(r.json), 4); /* attributes, Name, NumberOfEmployees, Id */
    assert_string_equal(json_string_value(json_object_get(r.json, "Id")), id);
    t_resp_free(&r);

    r = t_apif(&env, "GET", NULL, "/sobjects/Account/%s?fields=Nope", id);
    assert_int_equal(r.status, 400);
    assert_string_equal(t_error_code(&r), "INVALID_FIELD");
    t_resp_free(&r);

    struct timespec ts = {0, 5 * 1000000};
    nanosleep(&ts, NULL);
    r = t_apif(&env, "PATCH", "{\"Name\":\"Acme 2\",\"Industry\":\"Banking\"}",
               "/sobjects/Account/%s", id);
    assert_int_equal(r.status, 204);
    assert_int_equal(r.len, 0);
    t_resp_free(&r);
    r = t_apif(&env, "GET", NULL, "/sobjects/Account/%s", id);
    assert_string_equal(json_string_value(json_object_get(r.json, "Name")), "Acme 2");
    assert_string_not_equal(json_string_value(json_object_get(r.json, "LastModifiedDate")),
                            first_mod);
    t_resp_free(&r);

    r = t_apif(&env, "DELETE", NULL, "/sobjects/Account/%s", id);
    assert_int_equal(r.status, 204);
    t_resp_free(&r);
    r = t_apif(&env, "GET", NULL, "/sobjects/Account/%s", id);
    assert_int_equal(r.status, 404);
    assert_string_equal(t_error_code(&r), "NOT_FOUND");
    t_resp_free(&r);
    r = t_apif(&env, "PATCH", "{\"Name\":\"x\"}", "/sobjects/Account/%s", id);
    assert_int_equal(r.status, 404);
    assert_string_equal(t_error_code(&r), "ENTITY_IS_DELETED");
    t_resp_free(&r);
    r = t_apif(&env, "DELETE", NULL, "/sobjects/Account/%s", id);
    assert_int_equal(r.status, 404);
    assert_string_equal(t_error_code(&r), "ENTITY_IS_DELETED");
    t_resp_free(&r);

    /* Contact derives Name; a reference to a live Account is accepted */
    r = t_api(&env, "POST", "/sobjects/Account", "{\"Name\":\"Parent\"}");
    char acc[19];
    snprintf(acc, sizeof(acc), "%s", json_string_value(json_object_get(r.json, "id")));
    t_resp_free(&r);
    char body[256];
    snprintf(body, sizeof(body),
             "{\"FirstName\":\"Ada\",\"LastName\":\"Lovelace\",\"AccountId\":\"%s\"}", acc);
    r = t_api(&env, "POST", "/sobjects/Contact", body);
    assert_int_equal(r.status, 201);
    char con[19];
    snprintf(con, sizeof(con), "%s", json_string_value(json_object_get(r.json, "id")));
    t_resp_free(&r);
    r = t_apif(&env, "GET", NULL, "/sobjects/Contact/%s", con);
    assert_string_equal(json_string_value(json_object_get(r.json, "Name")), "Ada Lovelace");
    t_resp_free(&r);
}

typedef struct {
    const char *method, *path, *body;
    int status;
    const char *code;
    const char *field; /* expected in "fields", or NULL */
} t_err_case_t;

static void test_error_codes(void **state)
{
    (void)state;
    t_resp_t r =
        t_api(&env, "POST", "/sobjects/Widget__c", "{\"Name\":\"dup\",\"Ext_Id__c\":\"DUP-1\"}");
    assert_int_equal(r.status, 201);
    t_resp_free(&r);
    char longname[400];
    memset(longname, 'x', 300);
    longname[300] = '\0';
    char toolong[512];
    snprintf(toolong, sizeof(toolong), "{\"Name\":\"%s\"}", longname);
    const t_err_case_t cases[] = {
        {"POST", "/sobjects/Account", "{\"Nope__c\":1,\"Name\":\"a\"}", 400, "INVALID_FIELD", NULL},
        {"POST", "/sobjects/Contact", "{\"FirstName\":\"x\"}", 400, "REQUIRED_FIELD_MISSING",
         "LastName"},
        {"POST", "/sobjects/Widget__c", "{\"Name\":\"d2\",\"Ext_Id__c\":\"dup-1\"}", 400,
         "DUPLICATE_VALUE", "Ext_Id__c"},
        {"GET", "/sobjects/Account/001000000000000AAA", NULL, 404, "NOT_FOUND", NULL},
        {"GET", "/sobjects/Account/notanid", NULL, 404, "NOT_FOUND", NULL},
        {"GET", "/sobjects/Account/003000000000000AAA", NULL, 400, "MALFORMED_ID", "Id"},
        {"POST", "/sobjects/Contact", "{\"LastName\":\"x\",\"AccountId\":\"zzz\"}", 400,
         "MALFORMED_ID", "AccountId"},
        {"POST", "/sobjects/Account", toolong, 400, "STRING_TOO_LONG", "Name"},
        {"POST", "/sobjects/Account", "{\"Name\":\"a\",\"CreatedDate\":\"2020-01-01\"}", 400,
         "INVALID_FIELD_FOR_INSERT_UPDATE", "CreatedDate"},
        {"POST", "/sobjects/Account", "{\"Name\":\"a\"", 400, "JSON_PARSER_ERROR", NULL},
        {"POST", "/sobjects/Account", "{\"Name\":\"a\",\"NumberOfEmployees\":\"many\"}", 400,
         "JSON_PARSER_ERROR", NULL},
        {"POST", "/sobjects/Account", NULL, 400, "JSON_PARSER_ERROR", NULL},
        {"GET", "/query?q=SELECT+Id+FRM+Account", NULL, 400, "MALFORMED_QUERY", NULL},
        {"GET", "/query?q=SELECT+Id+FROM+Nope__c", NULL, 400, "INVALID_TYPE", NULL},
        {"GET", "/query", NULL, 400, "MALFORMED_QUERY", NULL},
        {"GET", "/query/01g000000000000AAA-2000", NULL, 400, "INVALID_QUERY_LOCATOR", NULL},
        {"PATCH", "/sobjects/Widget__c/Nope__c/1", "{}", 404, "NOT_FOUND", NULL},
        {"PUT", "/sobjects/Account", "{}", 405, "METHOD_NOT_ALLOWED", NULL},
        {"GET", "/nothing/here", NULL, 404, "NOT_FOUND", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const t_err_case_t *c = &cases[i];
        r = t_api(&env, c->method, c->path, c->body);
        if (r.status != c->status || strcmp(t_error_code(&r), c->code) != 0)
            fail_msg("case %zu %s %s: got %ld %s", i, c->method, c->path, r.status,
                     r.body ? r.body : "");
        json_t *e = json_array_get(r.json, 0);
        assert_non_null(json_string_value(json_object_get(e, "message")));
        if (c->field) {
            json_t *fields = json_object_get(e, "fields");
            assert_string_equal(json_string_value(json_array_get(fields, 0)), c->field);
        }
        t_resp_free(&r);
    }
    /* The exact texts Salesforce uses for the common ones */
    r = t_api(&env, "POST", "/sobjects/Contact", "{\"FirstName\":\"x\"}");
    assert_string_equal(json_string_value(json_object_get(json_array_get(r.json, 0), "message")),
                        "Required fields are missing: [LastName]");
    t_resp_free(&r);
    r = t_api(&env, "PATCH", "/sobjects/Widget__c/Nope__c/1", "{}");
    assert_string_equal(json_string_value(json_object_get(json_array_get(r.json, 0), "message")),
                        "Provided external ID field does not exist or is not accessible: Nope__c");
    t_resp_free(&r);
}

static void test_upsert(void **state)
{
    (void)state;
    t_resp_t r = t_api(&env, "PATCH", "/sobjects/Widget__c/Ext_Id__c/UP-1", "{\"Quantity__c\":1}");
    assert_int_equal(r.status, 201);
    assert_true(json_is_true(json_object_get(r.json, "created")));
    char id[19];
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(r.json, "id")));
    t_resp_free(&r);
    r = t_api(&env, "PATCH", "/sobjects/Widget__c/Ext_Id__c/up-1", "{\"Quantity__c\":2}");
    assert_int_equal(r.status, 200);
    assert_true(json_is_false(json_object_get(r.json, "created")));
    assert_string_equal(json_string_value(json_object_get(r.json, "id")), id);
    t_resp_free(&r);
    r = t_api(&env, "GET", "/sobjects/Widget__c/Ext_Id__c/UP-1", NULL);
    assert_int_equal(r.status, 200);
    assert_true(json_number_value(json_object_get(r.json, "Quantity__c")) == 2.0);
    t_resp_free(&r);
    /* before v46 an update answers 204 and a create has no "created" */
    char url[512];
    snprintf(url, sizeof(url), "%s/services/data/v45.0/sobjects/Widget__c/Ext_Id__c/UP-1",
             env.base);
    r = t_http("PATCH", url, env.auth, "{\"Quantity__c\":3}");
    assert_int_equal(r.status, 204);
    t_resp_free(&r);
    /* 300 when a non-unique external id matches several records */
    r = t_api(&env, "POST", "/sobjects/Widget__c", "{\"Name\":\"a\",\"Legacy_Code__c\":\"L1\"}");
    t_resp_free(&r);
    r = t_api(&env, "POST", "/sobjects/Widget__c", "{\"Name\":\"b\",\"Legacy_Code__c\":\"L1\"}");
    t_resp_free(&r);
    r = t_api(&env, "PATCH", "/sobjects/Widget__c/Legacy_Code__c/L1", "{\"Quantity__c\":1}");
    assert_int_equal(r.status, 300);
    assert_int_equal(json_array_size(r.json), 2);
    assert_non_null(strstr(json_string_value(json_array_get(r.json, 0)),
                           "/services/data/v62.0/sobjects/Widget__c/a0X"));
    t_resp_free(&r);
    r = t_api(&env, "GET", "/sobjects/Widget__c/Legacy_Code__c/L1", NULL);
    assert_int_equal(r.status, 300);
    t_resp_free(&r);
    r = t_api(&env, "DELETE", "/sobjects/Widget__c/Ext_Id__c/UP-1", NULL);
    assert_int_equal(r.status, 204);
    t_resp_free(&r);
}

static void test_platform_event(void **state)
{
    (void)state;
    t_resp_t r = t_api(&env, "POST", "/sobjects/Order_Event__e",
                       "{\"Order_Number__c\":\"O-1\",\"Amount__c\":10.5}");
    assert_int_equal(r.status, 201);
    assert_int_equal(strncmp(json_string_value(json_object_get(r.json, "id")), "e00", 3), 0);
    assert_true(json_is_true(json_object_get(r.json, "success")));
    t_resp_free(&r);
    r = t_api(&env, "POST", "/sobjects/Order_Event__e", "{\"Amount__c\":1}");
    assert_int_equal(r.status, 400);
    assert_string_equal(t_error_code(&r), "REQUIRED_FIELD_MISSING");
    t_resp_free(&r);
    t_resp_t c = t_control(&env, "GET", "counters", NULL);
    json_t *ev = json_object_get(json_object_get(c.json, "records"), "Order_Event__e");
    assert_true(json_integer_value(json_object_get(ev, "total")) >= 1);
    t_resp_free(&c);
}

static void test_gzip(void **state)
{
    (void)state;
    /* gzip response */
    char url[512];
    snprintf(url, sizeof(url), "%s/sobjects/Account/describe", env.api);
    const char *h[] = {env.auth, "Accept-Encoding: gzip", NULL};
    t_resp_t r = t_http_ex(NULL, "GET", url, h, NULL, 0);
    assert_int_equal(r.status, 200);
    char enc[64];
    assert_true(t_header(&r, "Content-Encoding", enc, sizeof(enc)));
    assert_string_equal(enc, "gzip");
    assert_int_equal((unsigned char)r.body[0], 0x1f);
    assert_int_equal((unsigned char)r.body[1], 0x8b);
    t_resp_free(&r);

    /* gzip request body */
    const char *json = "{\"Name\":\"Zipped\"}";
    unsigned char gz[256];
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (Bytef *)json;
    zs.avail_in = (uInt)strlen(json);
    zs.next_out = gz;
    zs.avail_out = sizeof(gz);
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t gzlen = sizeof(gz) - zs.avail_out;
    deflateEnd(&zs);
    snprintf(url, sizeof(url), "%s/sobjects/Account", env.api);
    const char *h2[] = {env.auth, "Content-Type: application/json", "Content-Encoding: gzip", NULL};
    r = t_http_ex(NULL, "POST", url, h2, (const char *)gz, gzlen);
    assert_int_equal(r.status, 201);
    t_resp_free(&r);
    /* corrupt gzip is refused */
    r = t_http_ex(NULL, "POST", url, h2, "not gzip at all", 15);
    assert_int_equal(r.status, 400);
    t_resp_free(&r);
}

static void test_body_bound(void **state)
{
    (void)state;
    emu_options_t opt;
    memset(&opt, 0, sizeof(opt));
    opt.max_body = 1024;
    t_env_t small;
    assert_int_equal(t_env_start(&small, &opt), 0);
    char body[4096];
    memset(body, ' ', sizeof(body) - 1);
    body[0] = '{';
    body[sizeof(body) - 2] = '}';
    body[sizeof(body) - 1] = '\0';
    t_resp_t r = t_api(&small, "POST", "/sobjects/Account", body);
    assert_int_equal(r.status, 413);
    t_resp_free(&r);
    t_env_stop(&small);
}

static void test_keep_alive(void **state)
{
    (void)state;
    CURL *c = curl_easy_init();
    char url[512];
    snprintf(url, sizeof(url), "%s/limits", env.api);
    const char *h[] = {env.auth, NULL};
    for (int i = 0; i < 3; i++) {
        t_resp_t r = t_http_ex(c, "GET", url, h, NULL, 0);
        assert_int_equal(r.status, 200);
        t_resp_free(&r);
    }
    long conns = -1;
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &conns);
    assert_int_equal(conns, 0); /* the last request reused the connection */
    curl_easy_cleanup(c);
}

/* The OAuth module's endpoints are reachable through the router (their
 * behaviour is tested by test_emu_oauth). */
static void test_oauth_routes(void **state)
{
    (void)state;
    char url[512];
    snprintf(url, sizeof(url), "%s/.well-known/openid-configuration", env.base);
    t_resp_t r = t_http("GET", url, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(json_object_get(r.json, "token_endpoint"));
    t_resp_free(&r);
    snprintf(url, sizeof(url), "%s/services/oauth2/userinfo", env.base);
    r = t_http("GET", url, env.auth, NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(json_object_get(r.json, "user_id"));
    t_resp_free(&r);
    r = t_api(&env, "GET", "/", NULL);
    snprintf(url, sizeof(url), "%s", json_string_value(json_object_get(r.json, "identity")));
    t_resp_free(&r);
    r = t_http("GET", url, env.auth, NULL);
    assert_int_equal(r.status, 200);
    t_resp_free(&r);
    snprintf(url, sizeof(url),
             "%s/services/oauth2/authorize?response_type=code&client_id=3MVG9sfemu.sfbridge."
             "CONSUMERKEY&redirect_uri=http%%3A%%2F%%2F127.0.0.1%%3A8765%%2Fcallback",
             env.base);
    r = t_http("GET", url, NULL, NULL);
    assert_true(r.status == 200 || r.status == 302);
    t_resp_free(&r);
    snprintf(url, sizeof(url), "%s/services/oauth2/token", env.base);
    r = t_http("GET", url, NULL, NULL);
    assert_int_equal(r.status, 405);
    t_resp_free(&r);
    /* revoke the test's token, then take a new one */
    snprintf(url, sizeof(url), "%s/services/oauth2/revoke", env.base);
    char form[2300];
    snprintf(form, sizeof(form), "token=%s", env.auth + strlen("Authorization: Bearer "));
    const char *h[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
    r = t_http_ex(NULL, "POST", url, h, form, strlen(form));
    assert_int_equal(r.status, 200);
    t_resp_free(&r);
    r = t_api(&env, "GET", "/limits", NULL);
    assert_int_equal(r.status, 401);
    t_resp_free(&r);
    assert_int_equal(t_token(&env), 0);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_checksum),    cmocka_unit_test(test_versions_and_resources),
        cmocka_unit_test(test_auth_required),  cmocka_unit_test(test_limits_and_counting),
        cmocka_unit_test(test_describe),       cmocka_unit_test(test_crud),
        cmocka_unit_test(test_error_codes),    cmocka_unit_test(test_upsert),
        cmocka_unit_test(test_platform_event), cmocka_unit_test(test_gzip),
        cmocka_unit_test(test_body_bound),     cmocka_unit_test(test_keep_alive),
        cmocka_unit_test(test_oauth_routes),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return rc;
}
