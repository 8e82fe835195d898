/*
 * test_emu_fixtures.c - compares what sfemu answers with the real response
 * bodies in fixtures/ (copied from /work/shared/reference/fixtures, sources
 * in fixtures/SOURCES.md) BY SHAPE: every key of the fixture is present with
 * the same JSON type (t_shape_match in test_emu_util.h).
 *
 * Where a fixture describes another org's custom object ("Whizbang") only the
 * keys every sObject shares are compared; fixtures of features sfemu does not
 * emulate (getUpdated/getDeleted, search, aggregate and child subqueries) are
 * not used. The v26 resource map lists resources sfemu does not serve
 * (licensing, connect, search, tooling, chatter, recent): only the ones it
 * serves are compared.
 */
#include "test_emu_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

static t_env_t env;
static char acc_id[19], widget_id[19];

static int setup(void **state)
{
    (void)state;
    if (t_env_start(&env, NULL) != 0)
        return -1;
    t_resp_t r = t_api(&env, "POST", "/sobjects/Account", "{\"Name\":\"Fixture Co\"}");
    snprintf(acc_id, sizeof(acc_id), "%s", json_string_value(json_object_get(r.json, "id")));
    t_resp_free(&r);
    r = t_api(&env, "POST", "/sobjects/Widget__c",
              "{\"Name\":\"Fixture W\",\"Ext_Id__c\":\"FX-1\",\"Legacy_Code__c\":\"DUP\"}");
    snprintf(widget_id, sizeof(widget_id), "%s", json_string_value(json_object_get(r.json, "id")));
    t_resp_free(&r);
    r = t_api(&env, "POST", "/sobjects/Widget__c",
              "{\"Name\":\"Fixture W2\",\"Legacy_Code__c\":\"DUP\"}");
    t_resp_free(&r);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    t_env_stop(&env);
    return 0;
}

static void t_expect_shape(const char *fixture, const json_t *have, const char *const *drop_keys)
{
    json_t *want = t_fixture(fixture);
    assert_non_null(want);
    assert_non_null(have);
    for (size_t i = 0; drop_keys && drop_keys[i]; i++)
        json_object_del(want, drop_keys[i]);
    char where[512] = "";
    if (!t_shape_match(want, have, "$", where, sizeof(where))) {
        char *text = json_dumps(have, JSON_COMPACT | JSON_ENCODE_ANY);
        fail_msg("%s: %s\nsfemu answered: %.600s", fixture, where, text ? text : "");
    }
    json_decref(want);
}

typedef struct {
    const char *fixture;
    const char *method;
    const char *path; /* under /services/data/v62.0 unless it starts with '!' (absolute) */
    const char *body;
    long status;
    const char *const *drop; /* fixture keys sfemu deliberately does not have */
    bool first_of_array;     /* compare the fixture with element 0 of our array */
} t_case_t;

static const char *const drop_resources[] = {"licensing", "connect", "search", "tooling",
                                             "chatter",   "recent",  NULL};
/* The Whizbang record's own custom fields; the shared sObject keys stay. */
static const char *const drop_whizbang[] = {
    "Auto_Number",        "Checkbox_Label", "Currency_Label",
    "Date_Label",         "DateTime_Label", "OtherDateTime_Label",
    "Email_Label",        "Number_Label",   "Percent_Label",
    "Phone_Label",        "Picklist_Label", "Picklist_Multiselect_Label",
    "Text_Label",         "TextArea_Label", "TextAreaLong_Label",
    "TextAreaRich_Label", "URL_Label",      NULL};

static void test_fixture_table(void **state)
{
    (void)state;
    char get_widget[128], upsert_new[128], del_mixed[256], del_ok[128];
    snprintf(get_widget, sizeof(get_widget), "/sobjects/Widget__c/%s", widget_id);
    snprintf(upsert_new, sizeof(upsert_new), "/sobjects/Widget__c/Ext_Id__c/FX-NEW");
    snprintf(del_mixed, sizeof(del_mixed),
             "/composite/sobjects?ids=%s,001RM000003oLrB000&allOrNone=true", acc_id);
    snprintf(del_ok, sizeof(del_ok), "/composite/sobjects?ids=%s", widget_id);
    char batch[512];
    snprintf(batch, sizeof(batch),
             "{\"batchRequests\":[{\"method\":\"PATCH\",\"url\":\"v62.0/sobjects/account/%s\","
             "\"richInput\":{\"Name\":\"NewName\"}},{\"method\":\"GET\",\"url\":\"v62.0/sobjects/"
             "account/%s?fields=Name,BillingPostalCode\"}]}",
             acc_id, acc_id);
    const t_case_t cases[] = {
        {"rest_versions_list.restforce.json", "GET", "!/services/data/", NULL, 200, NULL, false},
        {"rest_resources_by_version_v26.sf_docs.json", "GET", "/", NULL, 200, drop_resources,
         false},
        {"rest_limits.simple_salesforce.json", "GET", "/limits", NULL, 200, NULL, false},
        {"rest_describe_global.restforce.json", "GET", "/sobjects", NULL, 200, NULL, false},
        {"rest_sobject_describe.restforce.json", "GET", "/sobjects/Account/describe", NULL, 200,
         NULL, false},
        {"rest_sobject_get.restforce.json", "GET", get_widget, NULL, 200, drop_whizbang, false},
        {"rest_create_success.restforce.json", "POST", "/sobjects/Account",
         "{\"Name\":\"Created\"}", 201, NULL, false},
        {"rest_upsert_created_v46plus.sf_docs.json", "PATCH", upsert_new, "{}", 201, NULL, false},
        {"rest_upsert_created.restforce.json", "PATCH",
         "!/services/data/v45.0/sobjects/Widget__c/Ext_Id__c/FX-OLD", "{}", 201, NULL, false},
        {"rest_upsert_300_multiple_choices.restforce.json", "PATCH",
         "/sobjects/Widget__c/Legacy_Code__c/DUP", "{}", 300, NULL, false},
        {"rest_upsert_error_bad_extid_field.sf_docs.json", "PATCH", "/sobjects/Widget__c/Nope/1",
         "{}", 404, NULL, true},
        {"rest_error_not_found_extid.restforce.json", "DELETE", "/sobjects/Account/rid", NULL, 404,
         NULL, false},
        {"rest_error_not_found_resource.restforce.json", "GET", "/sobjects/Whizbang/describe", NULL,
         404, NULL, false},
        {"rest_error_invalid_field_write.restforce.json", "POST", "/sobjects/Account",
         "{\"foo\":1}", 400, NULL, false},
        {"rest_error_invalid_field_query.restforce.json", "GET",
         "/query?q=SELECT+Invalid__x+FROM+Contact", NULL, 400, NULL, false},
        {"rest_query_empty.restforce.json", "GET",
         "/query?q=SELECT+Id+FROM+Account+WHERE+Name+%3D+'none'", NULL, 200, NULL, false},
        {"rest_platform_event_publish.sf_docs.json", "POST", "/sobjects/Order_Event__e",
         "{\"Order_Number__c\":\"1\"}", 201, NULL, false},
        {"rest_composite_batch_response.sf_docs.json", "POST", "/composite/batch", batch, 200, NULL,
         false},
        {"rest_composite_tree_response_success.sf_docs.json", "POST", "/composite/tree/Account",
         "{\"records\":[{\"attributes\":{\"type\":\"Account\",\"referenceId\":\"ref1\"},\"Name\":"
         "\"T\"}]}",
         201, NULL, false},
        {"rest_collections_create_allornone_error.sf_docs_via_docstring.json", "POST",
         "/composite/sobjects",
         "{\"allOrNone\":true,\"records\":[{\"attributes\":{\"type\":\"Contact\"}},{\"attributes\":"
         "{\"type\":\"Contact\"},\"LastName\":\"ok\"}]}",
         200, NULL, false},
        {"rest_collections_delete_mixed_error.sf_docs_via_docstring.json", "DELETE", del_mixed,
         NULL, 200, NULL, false},
        {"rest_collections_delete_required_field_missing.restforce.json", "DELETE",
         "/composite/sobjects", NULL, 400, NULL, false},
        {"rest_collections_upsert_result.sf_docs_via_docstring.json", "PATCH",
         "/composite/sobjects/Widget__c/Ext_Id__c",
         "{\"records\":[{\"attributes\":{\"type\":\"Widget__c\"},\"Ext_Id__c\":\"FX-U\"}]}", 200,
         NULL, false},
        {"rest_collections_delete_success.restforce.json", "DELETE", del_ok, NULL, 200, NULL,
         false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const t_case_t *c = &cases[i];
        char url[1024];
        if (c->path[0] == '!')
            snprintf(url, sizeof(url), "%s%s", env.base, c->path + 1);
        else
            snprintf(url, sizeof(url), "%s%s", env.api, c->path);
        t_resp_t r = t_http(c->method, url, env.auth, c->body);
        if (r.status != c->status)
            fail_msg("%s: status %ld, want %ld: %s", c->fixture, r.status, c->status,
                     r.body ? r.body : "");
        t_expect_shape(c->fixture, c->first_of_array ? json_array_get(r.json, 0) : r.json, c->drop);
        t_resp_free(&r);
    }
}

static void test_fixture_session_and_limit(void **state)
{
    (void)state;
    t_resp_t r = t_http("GET", env.api, "Authorization: Bearer nope", NULL);
    assert_int_equal(r.status, 401);
    t_expect_shape("rest_error_invalid_session_id.restforce.json", r.json, NULL);
    t_resp_free(&r);
    r = t_control(&env, "POST", "limits", "{\"daily_api_requests\":1,\"used\":1}");
    t_resp_free(&r);
    r = t_api(&env, "GET", "/limits", NULL);
    assert_int_equal(r.status, 403);
    t_expect_shape("rest_error_request_limit_exceeded.reconstructed.json", r.json, NULL);
    t_resp_free(&r);
    r = t_control(&env, "POST", "limits", "{\"daily_api_requests\":15000,\"used\":0}");
    t_resp_free(&r);
}

static void test_fixture_query_pages(void **state)
{
    (void)state;
    json_t *list = json_array();
    for (int i = 0; i < 450; i++)
        json_array_append_new(list, json_pack("{s:o}", "Name", json_sprintf("Q%d", i)));
    json_t *body = json_pack("{s:o}", "Account", list);
    char *text = json_dumps(body, JSON_COMPACT);
    t_resp_t r = t_control(&env, "POST", "records", text);
    assert_int_equal(r.status, 201);
    t_resp_free(&r);
    free(text);
    json_decref(body);
    char url[512];
    snprintf(url, sizeof(url), "%s/query?q=SELECT+Name+FROM+Account", env.api);
    const char *h[] = {env.auth, "Sforce-Query-Options: batchSize=400", NULL};
    r = t_http_ex(NULL, "GET", url, h, NULL, 0);
    assert_int_equal(r.status, 200);
    /* the fixture's record carries one custom field of its own object */
    json_t *want = t_fixture("rest_query_page1.restforce.json");
    json_object_del(json_array_get(json_object_get(want, "records"), 0), "Text_Label");
    char where[256];
    assert_true(t_shape_match(want, r.json, "$", where, sizeof(where)));
    json_decref(want);
    snprintf(url, sizeof(url), "%s%s", env.base,
             json_string_value(json_object_get(r.json, "nextRecordsUrl")));
    t_resp_free(&r);
    r = t_http_ex(NULL, "GET", url, h, NULL, 0);
    want = t_fixture("rest_query_page2.restforce.json");
    json_object_del(json_array_get(json_object_get(want, "records"), 0), "Text_Label");
    assert_true(t_shape_match(want, r.json, "$", where, sizeof(where)));
    assert_null(json_object_get(r.json, "nextRecordsUrl"));
    json_decref(want);
    t_resp_free(&r);
}

static void test_fixture_composite_subrequest(void **state)
{
    (void)state;
    t_resp_t r = t_api(&env, "POST", "/composite",
                       "{\"compositeRequest\":[{\"method\":\"POST\",\"url\":\"/services/data/"
                       "v62.0/sobjects/Account\",\"referenceId\":\"refAccount\",\"body\":{"
                       "\"Name\":\"Sample Account\"}}]}");
    assert_int_equal(r.status, 200);
    t_expect_shape("rest_composite_subrequest_result.sf_docs.json",
                   json_array_get(json_object_get(r.json, "compositeResponse"), 0), NULL);
    t_resp_free(&r);
}

/* The shape comparison itself must catch differences, or the table proves nothing. */
static void test_shape_match_detects(void **state)
{
    (void)state;
    char where[256];
    json_t *a = json_loads("{\"id\":\"x\",\"success\":true,\"errors\":[]}", 0, NULL);
    json_t *b = json_loads("{\"id\":\"x\",\"success\":\"true\",\"errors\":[]}", 0, NULL);
    json_t *c = json_loads("{\"id\":\"x\",\"errors\":[]}", 0, NULL);
    json_t *d = json_loads("[{\"k\":1}]", 0, NULL);
    json_t *e = json_loads("[{\"k\":1},{\"j\":2}]", 0, NULL);
    assert_true(t_shape_match(a, a, "$", where, sizeof(where)));
    assert_false(t_shape_match(a, b, "$", where, sizeof(where)));
    assert_false(t_shape_match(a, c, "$", where, sizeof(where)));
    assert_string_equal(where, "$.success: missing");
    assert_false(t_shape_match(d, e, "$", where, sizeof(where)));
    json_decref(a);
    json_decref(b);
    json_decref(c);
    json_decref(d);
    json_decref(e);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shape_match_detects),
        cmocka_unit_test(test_fixture_table),
        cmocka_unit_test(test_fixture_session_and_limit),
        cmocka_unit_test(test_fixture_query_pages),
        cmocka_unit_test(test_fixture_composite_subrequest),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return rc;
}
