/* test_sf_error.c - the Salesforce client's parsers and its one error classifier,
 * driven by the reference fixtures (copied into tests/fuzz/corpus/sf_*). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sf.h"

#define CORPUS SFB_SOURCE_DIR "/tests/fuzz/corpus/"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    rewind(f);
    buf = calloc(1, (size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Every error body of the reference: kind, code, class, and field names. */
static void test_error_fixtures(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        long status;
        sf_error_kind_t kind;
        const char *code;
        sf_retry_class_t rc;
    } cases[] = {
        {"sf_parse/rest_error_invalid_session_id.restforce.json", 401, SF_ERR_SALESFORCE,
         "INVALID_SESSION_ID", SF_RETRY_REFRESH_AUTH},
        {"sf_parse/rest_error_request_limit_exceeded.reconstructed.json", 403, SF_ERR_LIMIT,
         "REQUEST_LIMIT_EXCEEDED", SF_RETRY_PAUSE_ORG},
        {"sf_parse/rest_error_invalid_field_write.restforce.json", 400, SF_ERR_SALESFORCE,
         "INVALID_FIELD", SF_RETRY_FINAL},
        {"sf_parse/rest_error_invalid_field_query.restforce.json", 400, SF_ERR_SALESFORCE,
         "INVALID_FIELD", SF_RETRY_FINAL},
        {"sf_parse/rest_error_malformed_search.restforce.json", 400, SF_ERR_SALESFORCE,
         "MALFORMED_SEARCH", SF_RETRY_FINAL},
        {"sf_parse/rest_error_not_found_extid.restforce.json", 404, SF_ERR_SALESFORCE, "NOT_FOUND",
         SF_RETRY_FINAL},
        {"sf_parse/rest_error_not_found_resource.restforce.json", 404, SF_ERR_SALESFORCE,
         "NOT_FOUND", SF_RETRY_FINAL},
        /* The doc shows this one as a bare object: accepted too. */
        {"sf_parse/rest_upsert_error_bad_extid_field.sf_docs.json", 404, SF_ERR_SALESFORCE,
         "NOT_FOUND", SF_RETRY_FINAL},
        {"sf_parse/rest_collections_delete_required_field_missing.restforce.json", 400,
         SF_ERR_SALESFORCE, "REQUIRED_FIELD_MISSING", SF_RETRY_FINAL},
        {"sf_parse/oauth_refresh_error_expired.restforce.json", 400, SF_ERR_AUTH, "invalid_grant",
         SF_RETRY},
        {"sf_parse/oauth_token_error_invalid_client_id.simple_salesforce.json", 400, SF_ERR_AUTH,
         "invalid_client_id", SF_RETRY},
        {"sf_parse/oauth_token_error_invalid_password.restforce.json", 400, SF_ERR_AUTH,
         "invalid_grant", SF_RETRY},
        {"sf_parse/oauth_token_error_jwt_audience.sf_help.json", 400, SF_ERR_AUTH, "invalid_grant",
         SF_RETRY},
        {"sf_parse/oauth_token_error_user_not_approved.simple_salesforce.json", 400, SF_ERR_AUTH,
         "invalid_grant", SF_RETRY},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len;
        char *body;
        char path[512];
        snprintf(path, sizeof(path), "%s%s", CORPUS, cases[i].file);
        body = slurp(path, &len);
        sf_error_t *err = sf_error_from_response(cases[i].status, body, len);
        assert_non_null(err);
        if (err->kind != cases[i].kind || strcmp(err->code, cases[i].code) != 0)
            fail_msg("%s: kind %s code %s", cases[i].file, sf_error_kind_name(err->kind),
                     err->code);
        /* auth errors are only final once the token code decided so (auth_final) */
        assert_int_equal(sf_error_retry_class(err), cases[i].rc);
        assert_non_null(err->message);
        assert_true(strlen(err->message) > 0);
        sf_error_destroy(err);
        free(body);
    }
}

static void test_error_fields_and_items(void **state)
{
    (void)state;
    const char *body = "[{\"message\":\"Required fields are missing: [LastName]\","
                       "\"errorCode\":\"REQUIRED_FIELD_MISSING\",\"fields\":[\"LastName\"]},"
                       "{\"message\":\"unable to obtain exclusive access to this record\","
                       "\"errorCode\":\"UNABLE_TO_LOCK_ROW\"}]";
    sf_error_t *err = sf_error_from_response(400, body, strlen(body));
    assert_int_equal(err->kind, SF_ERR_SALESFORCE);
    assert_int_equal(err->item_cnt, 2);
    assert_int_equal(err->items[0].field_cnt, 1);
    assert_string_equal(err->items[0].fields[0], "LastName");
    assert_non_null(strstr(err->message, "LastName"));
    /* One field error among transient ones makes the whole answer final. */
    assert_int_equal(sf_error_retry_class(err), SF_RETRY_FINAL);
    sf_error_destroy(err);
}

/* The classification table of CONVENTIONS.md "Errors". */
static void test_retry_classes(void **state)
{
    (void)state;
    static const struct {
        long status;
        const char *body;
        sf_retry_class_t rc;
    } cases[] = {
        {503, "", SF_RETRY},
        {502, "<html>bad gateway</html>", SF_RETRY},
        {500, "[{\"message\":\"x\",\"errorCode\":\"UNKNOWN_EXCEPTION\"}]", SF_RETRY},
        {408, "", SF_RETRY},
        {429, "", SF_RETRY},
        {400,
         "[{\"message\":\"unable to obtain exclusive access to this record\","
         "\"errorCode\":\"UNABLE_TO_LOCK_ROW\"}]",
         SF_RETRY},
        {401, "[{\"message\":\"Session expired or invalid\",\"errorCode\":\"INVALID_SESSION_ID\"}]",
         SF_RETRY_REFRESH_AUTH},
        {403,
         "[{\"message\":\"TotalRequests Limit exceeded.\","
         "\"errorCode\":\"REQUEST_LIMIT_EXCEEDED\"}]",
         SF_RETRY_PAUSE_ORG},
        {400,
         "[{\"message\":\"bad\",\"errorCode\":\"FIELD_CUSTOM_VALIDATION_EXCEPTION\","
         "\"fields\":[\"Amount\"]}]",
         SF_RETRY_FINAL},
        {400, "[{\"message\":\"dup\",\"errorCode\":\"DUPLICATE_VALUE\"}]", SF_RETRY_FINAL},
        {404, "[{\"message\":\"x\",\"errorCode\":\"NOT_FOUND\"}]", SF_RETRY_FINAL},
        {403, "[{\"message\":\"x\",\"errorCode\":\"INSUFFICIENT_ACCESS\"}]", SF_RETRY_FINAL},
        {400, "{not json", SF_RETRY_FINAL},
        {400, "[]", SF_RETRY_FINAL},
        {400, "[{\"message\":1,\"errorCode\":\"X\"}]", SF_RETRY_FINAL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sf_error_t *err =
            sf_error_from_response(cases[i].status, cases[i].body, strlen(cases[i].body));
        assert_non_null(err);
        if (sf_error_retry_class(err) != cases[i].rc)
            fail_msg("case %zu (%ld %s): got %s", i, cases[i].status, cases[i].body,
                     sf_retry_class_name(sf_error_retry_class(err)));
        sf_error_destroy(err);
    }
    assert_int_equal(sf_error_retry_class(NULL), SF_RETRY_NONE);
    sf_error_t t = {.kind = SF_ERR_TRANSPORT, .message = "x"};
    assert_int_equal(sf_error_retry_class(&t), SF_RETRY);
    sf_error_t big = {.kind = SF_ERR_TOO_LARGE, .message = "x"};
    assert_int_equal(sf_error_retry_class(&big), SF_RETRY_FINAL);
    sf_error_t parse = {.kind = SF_ERR_PARSE, .message = "x"};
    assert_int_equal(sf_error_retry_class(&parse), SF_RETRY_FINAL);
    sf_error_t auth = {.kind = SF_ERR_AUTH, .message = "x", .auth_final = true};
    assert_int_equal(sf_error_retry_class(&auth), SF_RETRY_PAUSE_ORG);
    auth.auth_final = false;
    assert_int_equal(sf_error_retry_class(&auth), SF_RETRY);
}

static void test_limit_info(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int rc;
        long used, max;
    } cases[] = {
        {"api-usage=18/5000", 0, 18, 5000},
        {" api-usage=25/5000; per-app-api-usage=17/250(appName=sample-connected-app)", 0, 25, 5000},
        {"per-app-api-usage=17/250(appName=x); api-usage=3/100", 0, 3, 100},
        {"api-usage=10018/100000; api-bursts=1/750", 0, 10018, 100000},
        {"per-app-api-usage=17/250", -1, 0, 0},
        {"api-usage=/5000", -1, 0, 0},
        {"api-usage=12", -1, 0, 0},
        {"api-usage=-1/5", -1, 0, 0},
        {"", -1, 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long used = 0, max = 0;
        int rc = sf_limit_info_parse(cases[i].in, &used, &max);
        if (rc != cases[i].rc)
            fail_msg("\"%s\": rc %d", cases[i].in, rc);
        if (rc == 0) {
            assert_int_equal(used, cases[i].used);
            assert_int_equal(max, cases[i].max);
        }
    }
}

static void test_token_fixtures(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        int rc;
        const char *inst;
    } cases[] = {
        {"sf_parse/oauth_token_password_success.restforce.json", 0, "https://na1.salesforce.com"},
        {"sf_parse/oauth_refresh_success.restforce.json", 0, "https://na1.salesforce.com"},
        {"sf_parse/oauth_token_success_scope_only.simple_salesforce.json", 0,
         "https://na15.salesforce.com"},
        /* The help article's sample has the placeholder "instance_url" for a URL. */
        {"sf_parse/oauth_token_client_credentials_success.sf_help.json", -1, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char path[512];
        size_t len;
        char *at = NULL, *iu = NULL, *id = NULL, *rt = NULL;
        sf_error_t *err = NULL;
        snprintf(path, sizeof(path), "%s%s", CORPUS, cases[i].file);
        char *body = slurp(path, &len);
        int rc = sf_token_response_parse(body, len, &at, &iu, &id, &rt, &err);
        assert_int_equal(rc, cases[i].rc);
        if (rc == 0) {
            assert_null(err);
            assert_string_equal(iu, cases[i].inst);
            assert_true(strlen(at) > 0);
            assert_non_null(id);
            assert_null(rt);
        } else {
            assert_int_equal(err->kind, SF_ERR_PARSE);
            /* never echoes the body (it may hold a token) */
            assert_null(strstr(err->message, "your_access_token"));
        }
        sf_secret_free(at);
        free(iu);
        free(id);
        free(rt);
        sf_error_destroy(err);
        free(body);
    }
}

static void test_query_fixtures(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        bool done;
        size_t rows;
        long total;
    } cases[] = {
        {"sf_parse/rest_query_page1.restforce.json", false, 1, 2},
        {"sf_parse/rest_query_page2.restforce.json", true, 1, 2},
        {"sf_parse/rest_query_empty.restforce.json", true, 0, 0},
        {"sf_parse/rest_query_aggregate.restforce.json", true, 3, 3},
        {"sf_parse/rest_query_organization.restforce.json", true, 1, 1},
        {"sf_parse/rest_query_relationships.restforce.json", true, 1, 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char path[512];
        size_t len;
        snprintf(path, sizeof(path), "%s%s", CORPUS, cases[i].file);
        char *body = slurp(path, &len);
        json_t *page = json_loadb(body, len, 0, NULL), *records = NULL;
        const char *next = NULL;
        bool done = false;
        long total = -1;
        sf_error_t *err = NULL;
        assert_non_null(page);
        assert_int_equal(sf_query_page_parse(page, &records, &done, &next, &total, &err), 0);
        assert_int_equal(done, cases[i].done);
        assert_int_equal(json_array_size(records), cases[i].rows);
        assert_int_equal(total, cases[i].total);
        if (!done)
            assert_string_equal(next, "/services/data/v26.0/query/01gD");
        json_decref(page);
        free(body);
    }
    /* done:false without a locator is an error, not an endless loop */
    json_t *bad = json_loads("{\"totalSize\":3,\"done\":false,\"records\":[]}", 0, NULL);
    json_t *records;
    const char *next;
    bool done;
    long total;
    sf_error_t *err = NULL;
    assert_int_equal(sf_query_page_parse(bad, &records, &done, &next, &total, &err), -1);
    assert_int_equal(err->kind, SF_ERR_PARSE);
    sf_error_destroy(err);
    json_decref(bad);
}

static void test_save_fixtures(void **state)
{
    (void)state;
    char path[512];
    size_t len, cnt = 0;
    sf_save_result_t *res = NULL;
    sf_error_t *err = NULL;
    json_t *arr;
    char *body;

    snprintf(path, sizeof(path), "%s%s", CORPUS,
             "sf_parse/rest_collections_delete_mixed_error.sf_docs_via_docstring.json");
    body = slurp(path, &len);
    arr = json_loadb(body, len, 0, NULL);
    assert_int_equal(sf_save_results_parse(arr, &res, &cnt, &err), 0);
    assert_int_equal(cnt, 2);
    assert_false(res[0].success);
    assert_string_equal(res[0].id, "001RM000003oLruYAE");
    assert_string_equal(res[0].error->code, "ALL_OR_NONE_OPERATION_ROLLED_BACK");
    assert_int_equal(sf_error_retry_class(res[0].error), SF_RETRY); /* the record was fine */
    assert_null(res[1].id);
    assert_string_equal(res[1].error->code, "MALFORMED_ID");
    assert_int_equal(sf_error_retry_class(res[1].error), SF_RETRY_FINAL);
    sf_save_results_destroy(res, cnt);
    json_decref(arr);
    free(body);

    snprintf(path, sizeof(path), "%s%s", CORPUS,
             "sf_parse/rest_collections_upsert_result.sf_docs_via_docstring.json");
    body = slurp(path, &len);
    arr = json_loadb(body, len, 0, NULL);
    assert_int_equal(sf_save_results_parse(arr, &res, &cnt, &err), 0);
    assert_int_equal(cnt, 2);
    assert_true(res[0].success && res[0].created);
    assert_true(res[1].success && !res[1].created);
    assert_null(res[0].error);
    sf_save_results_destroy(res, cnt);
    json_decref(arr);
    free(body);

    snprintf(path, sizeof(path), "%s%s", CORPUS,
             "sf_parse/rest_collections_create_allornone_error.sf_docs_via_docstring.json");
    body = slurp(path, &len);
    arr = json_loadb(body, len, 0, NULL);
    assert_int_equal(sf_save_results_parse(arr, &res, &cnt, &err), 0);
    assert_string_equal(res[0].error->code, "DUPLICATES_DETECTED");
    assert_int_equal(sf_error_retry_class(res[0].error), SF_RETRY_FINAL);
    sf_save_results_destroy(res, cnt);
    json_decref(arr);
    free(body);

    /* not a SaveResult array */
    arr = json_loads("[{\"id\":\"x\"}]", 0, NULL);
    assert_int_equal(sf_save_results_parse(arr, &res, &cnt, &err), -1);
    assert_int_equal(err->kind, SF_ERR_PARSE);
    sf_error_destroy(err);
    json_decref(arr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_fixtures), cmocka_unit_test(test_error_fields_and_items),
        cmocka_unit_test(test_retry_classes),  cmocka_unit_test(test_limit_info),
        cmocka_unit_test(test_token_fixtures), cmocka_unit_test(test_query_fixtures),
        cmocka_unit_test(test_save_fixtures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
