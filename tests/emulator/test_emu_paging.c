/*
 * test_emu_paging.c - /query and /queryAll paging over real HTTP: query
 * locators across several pages, Sforce-Query-Options batch sizes, totalSize,
 * queryAll seeing deleted rows, COUNT(), and expired locators.
 */
#include "test_emu_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static t_env_t env;

static int setup(void **state)
{
    (void)state;
    if (t_env_start(&env, NULL) != 0)
        return -1;
    /* 1,050 widgets through the control API loader */
    json_t *list = json_array();
    for (int i = 0; i < 1050; i++)
        json_array_append_new(list,
                              json_pack("{s:o,s:o,s:i}", "Name", json_sprintf("W%04d", i),
                                        "Ext_Id__c", json_sprintf("P-%d", i), "Quantity__c", i));
    json_t *body = json_pack("{s:o}", "Widget__c", list);
    char *text = json_dumps(body, JSON_COMPACT);
    t_resp_t r = t_control(&env, "POST", "records", text);
    int rc = r.status == 201 ? 0 : -1;
    t_resp_free(&r);
    free(text);
    json_decref(body);
    return rc;
}

static int teardown(void **state)
{
    (void)state;
    t_env_stop(&env);
    return 0;
}

static t_resp_t t_query(const char *path, const char *options)
{
    char url[4096], opt[128];
    snprintf(url, sizeof(url), "%s%s", env.base, path);
    snprintf(opt, sizeof(opt), "Sforce-Query-Options: %s", options ? options : "");
    const char *h[] = {env.auth, options ? opt : NULL, NULL};
    return t_http_ex(NULL, "GET", url, h, NULL, 0);
}

static void test_pages(void **state)
{
    (void)state;
    t_resp_t r = t_query("/services/data/v62.0/query?q=SELECT+Id,Name+FROM+Widget__c+ORDER+BY+Name",
                         "batchSize=300");
    assert_int_equal(r.status, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "totalSize")), 1050);
    int pages = 1;
    size_t seen = json_array_size(json_object_get(r.json, "records"));
    assert_int_equal(seen, 300);
    char next[512];
    while (json_is_false(json_object_get(r.json, "done"))) {
        const char *url = json_string_value(json_object_get(r.json, "nextRecordsUrl"));
        assert_non_null(strstr(url, "/services/data/v62.0/query/01g"));
        snprintf(next, sizeof(next), "%s", url);
        t_resp_free(&r);
        r = t_query(next, "batchSize=300");
        assert_int_equal(r.status, 200);
        assert_int_equal(json_integer_value(json_object_get(r.json, "totalSize")), 1050);
        json_t *recs = json_object_get(r.json, "records");
        if (seen == 900) /* the last page starts at W0900 */
            assert_string_equal(json_string_value(json_object_get(json_array_get(recs, 0), "Name")),
                                "W0900");
        seen += json_array_size(recs);
        pages++;
    }
    assert_null(json_object_get(r.json, "nextRecordsUrl"));
    assert_int_equal(pages, 4);
    assert_int_equal(seen, 1050);
    t_resp_free(&r);
    /* a served-out locator is gone */
    r = t_query(next, NULL);
    assert_int_equal(r.status, 400);
    assert_string_equal(t_error_code(&r), "INVALID_QUERY_LOCATOR");
    t_resp_free(&r);

    /* default batch 2000: one page; batchSize below 200 is raised to 200 */
    r = t_query("/services/data/v62.0/query?q=SELECT+Id+FROM+Widget__c", NULL);
    assert_true(json_is_true(json_object_get(r.json, "done")));
    assert_int_equal(json_array_size(json_object_get(r.json, "records")), 1050);
    t_resp_free(&r);
    r = t_query("/services/data/v62.0/query?q=SELECT+Id+FROM+Widget__c", "batchSize=10");
    assert_int_equal(json_array_size(json_object_get(r.json, "records")), 200);
    t_resp_free(&r);
}

static void test_query_all_and_count(void **state)
{
    (void)state;
    t_resp_t r = t_api(&env, "DELETE", "/sobjects/Widget__c/Ext_Id__c/P-7", NULL);
    assert_int_equal(r.status, 204);
    t_resp_free(&r);
    r = t_query("/services/data/v62.0/query?q=SELECT+COUNT()+FROM+Widget__c", NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "totalSize")), 1049);
    assert_int_equal(json_array_size(json_object_get(r.json, "records")), 0);
    t_resp_free(&r);
    r = t_query("/services/data/v62.0/queryAll?q=SELECT+Id,IsDeleted+FROM+Widget__c+WHERE+"
                "Ext_Id__c+%3D+'P-7'",
                NULL);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "totalSize")), 1);
    assert_true(json_is_true(
        json_object_get(json_array_get(json_object_get(r.json, "records"), 0), "IsDeleted")));
    t_resp_free(&r);
    r = t_query("/services/data/v62.0/query?q=SELECT+Id+FROM+Widget__c+WHERE+Ext_Id__c+%3D+'P-7'",
                NULL);
    assert_int_equal(json_integer_value(json_object_get(r.json, "totalSize")), 0);
    t_resp_free(&r);
}

static void test_query_relationship(void **state)
{
    (void)state;
    t_resp_t r = t_api(&env, "POST", "/sobjects/Account", "{\"Name\":\"Rel Parent\"}");
    char body[256];
    snprintf(body, sizeof(body), "{\"LastName\":\"Rel Kid\",\"AccountId\":\"%s\"}",
             json_string_value(json_object_get(r.json, "id")));
    t_resp_free(&r);
    r = t_api(&env, "POST", "/sobjects/Contact", body);
    t_resp_free(&r);
    r = t_query("/services/data/v62.0/query?q=SELECT+Id,Account.Name+FROM+Contact+WHERE+LastName"
                "+%3D+'Rel+Kid'",
                NULL);
    assert_int_equal(r.status, 200);
    json_t *rec = json_array_get(json_object_get(r.json, "records"), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(rec, "Account"), "Name")),
                        "Rel Parent");
    t_resp_free(&r);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pages),
        cmocka_unit_test(test_query_all_and_count),
        cmocka_unit_test(test_query_relationship),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return rc;
}
