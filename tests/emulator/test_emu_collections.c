/*
 * test_emu_collections.c - sObject Collections, /composite, /composite/batch
 * and /composite/tree over real HTTP, with the allOrNone rollbacks checked
 * by reading the org back afterwards.
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
    return t_env_start(&env, NULL);
}

static int teardown(void **state)
{
    (void)state;
    t_env_stop(&env);
    return 0;
}

static long t_live(const char *sobject)
{
    t_resp_t c = t_control(&env, "GET", "counters", NULL);
    long n = (long)json_integer_value(
        json_object_get(json_object_get(json_object_get(c.json, "records"), sobject), "live"));
    t_resp_free(&c);
    return n;
}

static void test_create_update_delete(void **state)
{
    (void)state;
    long before = t_live("Account");
    json_t *records = json_array();
    for (int i = 0; i < 200; i++)
        json_array_append_new(records, json_pack("{s:{s:s},s:s+}", "attributes", "type", "Account",
                                                 "Name", "Bulk ", "x"));
    json_t *body = json_pack("{s:b,s:o}", "allOrNone", 0, "records", records);
    char *text = json_dumps(body, JSON_COMPACT);
    t_resp_t r = t_api(&env, "POST", "/composite/sobjects", text);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(r.json), 200);
    json_t *ids = json_array();
    size_t i;
    json_t *res;
    json_array_foreach(r.json, i, res)
    {
        assert_true(json_is_true(json_object_get(res, "success")));
        json_array_append(ids, json_object_get(res, "id"));
    }
    t_resp_free(&r);
    free(text);
    json_decref(body);
    assert_int_equal(t_live("Account"), before + 200);

    /* 201 records: refused as a whole */
    records = json_array();
    for (int k = 0; k < 201; k++)
        json_array_append_new(
            records, json_pack("{s:{s:s},s:s}", "attributes", "type", "Account", "Name", "n"));
    body = json_pack("{s:o}", "records", records);
    text = json_dumps(body, JSON_COMPACT);
    r = t_api(&env, "POST", "/composite/sobjects", text);
    assert_int_equal(r.status, 400);
    t_resp_free(&r);
    free(text);
    json_decref(body);

    /* update two, one of them with a bad id: partial success */
    char upd[512];
    snprintf(
        upd, sizeof(upd),
        "{\"allOrNone\":false,\"records\":[{\"attributes\":{\"type\":\"Account\"},\"id\":\"%s\","
        "\"Name\":\"Renamed\"},{\"attributes\":{\"type\":\"Account\"},\"id\":"
        "\"001000000000000AAA\",\"Name\":\"Ghost\"}]}",
        json_string_value(json_array_get(ids, 0)));
    r = t_api(&env, "PATCH", "/composite/sobjects", upd);
    assert_int_equal(r.status, 200);
    assert_true(json_is_true(json_object_get(json_array_get(r.json, 0), "success")));
    assert_true(json_is_false(json_object_get(json_array_get(r.json, 1), "success")));
    t_resp_free(&r);
    r = t_apif(&env, "GET", NULL, "/sobjects/Account/%s",
               json_string_value(json_array_get(ids, 0)));
    assert_string_equal(json_string_value(json_object_get(r.json, "Name")), "Renamed");
    t_resp_free(&r);

    /* retrieve */
    r = t_apif(&env, "GET", NULL, "/composite/sobjects/Account?ids=%s,%s&fields=Id,Name",
               json_string_value(json_array_get(ids, 0)),
               json_string_value(json_array_get(ids, 1)));
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(r.json), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(r.json, 0), "Name")),
                        "Renamed");
    t_resp_free(&r);

    /* delete with allOrNone and a malformed id: nothing deleted (fixture's shape) */
    r = t_apif(&env, "DELETE", NULL, "/composite/sobjects?ids=%s,001RM000003oLrB000&allOrNone=true",
               json_string_value(json_array_get(ids, 0)));
    assert_int_equal(r.status, 200);
    json_t *first = json_array_get(r.json, 0), *second = json_array_get(r.json, 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(first, "errors"), 0), "statusCode")),
                        "ALL_OR_NONE_OPERATION_ROLLED_BACK");
    assert_non_null(json_object_get(first, "id"));
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(second, "errors"), 0), "statusCode")),
                        "MALFORMED_ID");
    assert_null(json_object_get(second, "id"));
    t_resp_free(&r);
    r = t_apif(&env, "GET", NULL, "/sobjects/Account/%s",
               json_string_value(json_array_get(ids, 0)));
    assert_int_equal(r.status, 200); /* still there */
    t_resp_free(&r);

    /* delete without ids */
    r = t_api(&env, "DELETE", "/composite/sobjects", NULL);
    assert_int_equal(r.status, 400);
    assert_string_equal(t_error_code(&r), "REQUIRED_FIELD_MISSING");
    t_resp_free(&r);

    /* delete all 200 */
    char url[8192] = "/composite/sobjects?ids=";
    for (size_t k = 0; k < 200; k++) {
        size_t l = strlen(url);
        snprintf(url + l, sizeof(url) - l, "%s%s", k ? "," : "",
                 json_string_value(json_array_get(ids, k)));
    }
    r = t_api(&env, "DELETE", url, NULL);
    assert_int_equal(r.status, 200);
    json_array_foreach(r.json, i, res) assert_true(json_is_true(json_object_get(res, "success")));
    t_resp_free(&r);
    assert_int_equal(t_live("Account"), before);
    json_decref(ids);
}

static void test_create_all_or_none_rollback(void **state)
{
    (void)state;
    long before = t_live("Contact");
    const char *body = "{\"allOrNone\":true,\"records\":["
                       "{\"attributes\":{\"type\":\"Contact\"},\"LastName\":\"Good\"},"
                       "{\"attributes\":{\"type\":\"Contact\"},\"FirstName\":\"NoLastName\"},"
                       "{\"attributes\":{\"type\":\"Contact\"},\"LastName\":\"Good too\"}]}";
    t_resp_t r = t_api(&env, "POST", "/composite/sobjects", body);
    assert_int_equal(r.status, 200);
    const char *want[] = {"ALL_OR_NONE_OPERATION_ROLLED_BACK", "REQUIRED_FIELD_MISSING",
                          "ALL_OR_NONE_OPERATION_ROLLED_BACK"};
    for (size_t i = 0; i < 3; i++) {
        json_t *res = json_array_get(r.json, i);
        assert_true(json_is_false(json_object_get(res, "success")));
        assert_null(json_object_get(res, "id"));
        assert_string_equal(json_string_value(json_object_get(
                                json_array_get(json_object_get(res, "errors"), 0), "statusCode")),
                            want[i]);
    }
    t_resp_free(&r);
    assert_int_equal(t_live("Contact"), before);

    /* the same with allOrNone false: two created */
    char partial[1024];
    snprintf(partial, sizeof(partial), "{\"allOrNone\":false,%s", strchr(body, ',') + 1);
    r = t_api(&env, "POST", "/composite/sobjects", partial);
    assert_int_equal(r.status, 200);
    assert_true(json_is_true(json_object_get(json_array_get(r.json, 0), "success")));
    assert_true(json_is_false(json_object_get(json_array_get(r.json, 1), "success")));
    t_resp_free(&r);
    assert_int_equal(t_live("Contact"), before + 2);

    /* an unknown field is a request-level error: 400, nothing created */
    r = t_api(&env, "POST", "/composite/sobjects",
              "{\"records\":[{\"attributes\":{\"type\":\"Contact\"},\"LastName\":\"a\"},"
              "{\"attributes\":{\"type\":\"Contact\"},\"LastName\":\"b\",\"Bogus__c\":1}]}");
    assert_int_equal(r.status, 400);
    assert_string_equal(t_error_code(&r), "INVALID_FIELD");
    t_resp_free(&r);
    assert_int_equal(t_live("Contact"), before + 2);
}

static void test_upsert_collection(void **state)
{
    (void)state;
    t_resp_t r =
        t_api(&env, "POST", "/sobjects/Widget__c", "{\"Name\":\"pre\",\"Ext_Id__c\":\"C-2\"}");
    assert_int_equal(r.status, 201);
    t_resp_free(&r);
    r = t_api(
        &env, "PATCH", "/composite/sobjects/Widget__c/Ext_Id__c",
        "{\"allOrNone\":false,\"records\":["
        "{\"attributes\":{\"type\":\"Widget__c\"},\"Ext_Id__c\":\"C-1\",\"Quantity__c\":1},"
        "{\"attributes\":{\"type\":\"Widget__c\"},\"Ext_Id__c\":\"C-2\",\"Quantity__c\":2}]}");
    assert_int_equal(r.status, 200);
    assert_true(json_is_true(json_object_get(json_array_get(r.json, 0), "created")));
    assert_true(json_is_false(json_object_get(json_array_get(r.json, 1), "created")));
    t_resp_free(&r);
    r = t_api(&env, "PATCH", "/composite/sobjects/Widget__c/Name", "{\"records\":[]}");
    assert_int_equal(r.status, 404);
    assert_string_equal(t_error_code(&r), "NOT_FOUND");
    t_resp_free(&r);
    /* allOrNone upsert with a failing record: the created one is rolled back */
    r = t_api(&env, "PATCH", "/composite/sobjects/Widget__c/Ext_Id__c",
              "{\"allOrNone\":true,\"records\":["
              "{\"attributes\":{\"type\":\"Widget__c\"},\"Ext_Id__c\":\"C-3\"},"
              "{\"attributes\":{\"type\":\"Widget__c\"},\"Ext_Id__c\":\"C-4\",\"Contact_Email__c\":"
              "\"not-an-email\"}]}");
    assert_int_equal(r.status, 200);
    assert_true(json_is_false(json_object_get(json_array_get(r.json, 0), "success")));
    t_resp_free(&r);
    r = t_api(&env, "GET", "/sobjects/Widget__c/Ext_Id__c/C-3", NULL);
    assert_int_equal(r.status, 404);
    t_resp_free(&r);
}

static void test_composite(void **state)
{
    (void)state;
    t_resp_t r = t_api(
        &env, "POST", "/composite",
        "{\"allOrNone\":false,\"compositeRequest\":["
        "{\"method\":\"POST\",\"url\":\"/services/data/v62.0/sobjects/Account\",\"referenceId\":"
        "\"refAccount\",\"body\":{\"Name\":\"Composite Co\"}},"
        "{\"method\":\"POST\",\"url\":\"/services/data/v62.0/sobjects/Contact\",\"referenceId\":"
        "\"refContact\",\"body\":{\"LastName\":\"Sample\",\"AccountId\":\"@{refAccount.id}\"}},"
        "{\"method\":\"GET\",\"url\":\"/services/data/v62.0/sobjects/Contact/"
        "@{refContact.id}?fields="
        "AccountId\",\"referenceId\":\"getContact\"},"
        "{\"method\":\"GET\",\"url\":\"/services/data/v62.0/query?q=SELECT+Id+FROM+Contact+WHERE+Id"
        "+%3D+'@{refContact.id}'\",\"referenceId\":\"q\"}]}");
    assert_int_equal(r.status, 200);
    json_t *subs = json_object_get(r.json, "compositeResponse");
    assert_int_equal(json_array_size(subs), 4);
    json_t *s0 = json_array_get(subs, 0);
    assert_int_equal(json_integer_value(json_object_get(s0, "httpStatusCode")), 201);
    assert_non_null(json_object_get(json_object_get(s0, "httpHeaders"), "Location"));
    const char *acc = json_string_value(json_object_get(json_object_get(s0, "body"), "id"));
    json_t *s2 = json_array_get(subs, 2);
    assert_int_equal(json_integer_value(json_object_get(s2, "httpStatusCode")), 200);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(s2, "body"), "AccountId")), acc);
    json_t *s3 = json_array_get(subs, 3);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(s3, "body"), "totalSize")),
                     1);
    t_resp_free(&r);

    /* allOrNone: the second subrequest fails, the first is rolled back, the rest halted */
    long before = t_live("Account");
    r = t_api(
        &env, "POST", "/composite",
        "{\"allOrNone\":true,\"compositeRequest\":["
        "{\"method\":\"POST\",\"url\":\"/services/data/v62.0/sobjects/Account\","
        "\"referenceId\":\"a\",\"body\":{\"Name\":\"Rolled back\"}},"
        "{\"method\":\"POST\",\"url\":\"/services/data/v62.0/sobjects/Contact\","
        "\"referenceId\":\"c\",\"body\":{\"FirstName\":\"no last name\"}},"
        "{\"method\":\"GET\",\"url\":\"/services/data/v62.0/limits\",\"referenceId\":\"l\"}]}");
    assert_int_equal(r.status, 200);
    subs = json_object_get(r.json, "compositeResponse");
    const int want[] = {400, 400, 400};
    const char *codes[] = {"PROCESSING_HALTED", "REQUIRED_FIELD_MISSING", "PROCESSING_HALTED"};
    for (size_t i = 0; i < 3; i++) {
        json_t *s = json_array_get(subs, i);
        assert_int_equal(json_integer_value(json_object_get(s, "httpStatusCode")), want[i]);
        assert_string_equal(json_string_value(json_object_get(
                                json_array_get(json_object_get(s, "body"), 0), "errorCode")),
                            codes[i]);
    }
    t_resp_free(&r);
    assert_int_equal(t_live("Account"), before);

    /* a reference to a failed subrequest */
    r = t_api(&env, "POST", "/composite",
              "{\"compositeRequest\":["
              "{\"method\":\"POST\",\"url\":\"/services/data/v62.0/sobjects/Contact\","
              "\"referenceId\":\"c\",\"body\":{}},"
              "{\"method\":\"GET\",\"url\":\"/services/data/v62.0/sobjects/Contact/@{c.id}\","
              "\"referenceId\":\"g\"}]}");
    subs = json_object_get(r.json, "compositeResponse");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(subs, 1), "httpStatusCode")),
                     400);
    t_resp_free(&r);

    /* structure errors: top-level 400, nothing runs */
    r = t_api(&env, "POST", "/composite",
              "{\"compositeRequest\":[{\"method\":\"GET\",\"url\":\"/services/data/v62.0/limits\","
              "\"referenceId\":\"x\"},{\"method\":\"GET\",\"url\":\"/services/data/v62.0/limits\","
              "\"referenceId\":\"x\"}]}");
    assert_int_equal(r.status, 400);
    t_resp_free(&r);
    json_t *many = json_array();
    for (int i = 0; i < 26; i++)
        json_array_append_new(many, json_pack("{s:s,s:s,s:o}", "method", "GET", "url",
                                              "/services/data/v62.0/limits", "referenceId",
                                              json_sprintf("r%d", i)));
    json_t *cb = json_pack("{s:o}", "compositeRequest", many);
    char *text = json_dumps(cb, JSON_COMPACT);
    r = t_api(&env, "POST", "/composite", text);
    assert_int_equal(r.status, 400);
    t_resp_free(&r);
    free(text);
    json_decref(cb);
    /* six queries: more than the 5 query/collections subrequests allowed */
    many = json_array();
    for (int i = 0; i < 6; i++)
        json_array_append_new(many, json_pack("{s:s,s:s,s:o}", "method", "GET", "url",
                                              "/services/data/v62.0/query?q=SELECT+Id+FROM+User",
                                              "referenceId", json_sprintf("q%d", i)));
    cb = json_pack("{s:o}", "compositeRequest", many);
    text = json_dumps(cb, JSON_COMPACT);
    r = t_api(&env, "POST", "/composite", text);
    assert_int_equal(r.status, 400);
    assert_string_equal(t_error_code(&r), "LIMIT_EXCEEDED");
    t_resp_free(&r);
    free(text);
    json_decref(cb);
}

static void test_batch(void **state)
{
    (void)state;
    t_resp_t r = t_api(&env, "POST", "/sobjects/Account", "{\"Name\":\"Batch\"}");
    char id[19];
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(r.json, "id")));
    t_resp_free(&r);
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"batchRequests\":[{\"method\":\"PATCH\",\"url\":\"v62.0/sobjects/account/%s\","
             "\"richInput\":{\"Name\":\"NewName\"}},{\"method\":\"GET\",\"url\":"
             "\"v62.0/sobjects/account/%s?fields=Name,BillingPostalCode\"}]}",
             id, id);
    r = t_api(&env, "POST", "/composite/batch", body);
    assert_int_equal(r.status, 200);
    assert_true(json_is_false(json_object_get(r.json, "hasErrors")));
    json_t *res = json_object_get(r.json, "results");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(res, 0), "statusCode")),
                     204);
    assert_true(json_is_null(json_object_get(json_array_get(res, 0), "result")));
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_array_get(res, 1), "result"), "Name")),
                        "NewName");
    t_resp_free(&r);

    r = t_api(&env, "POST", "/composite/batch",
              "{\"haltOnError\":true,\"batchRequests\":["
              "{\"method\":\"GET\",\"url\":\"v62.0/sobjects/Account/001000000000000AAA\"},"
              "{\"method\":\"GET\",\"url\":\"v62.0/limits\"}]}");
    assert_int_equal(r.status, 200);
    assert_true(json_is_true(json_object_get(r.json, "hasErrors")));
    res = json_object_get(r.json, "results");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(res, 0), "statusCode")),
                     404);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(res, 1), "statusCode")),
                     412);
    t_resp_free(&r);
}

static void test_tree(void **state)
{
    (void)state;
    t_resp_t r = t_api(
        &env, "POST", "/composite/tree/Account",
        "{\"records\":[{\"attributes\":{\"type\":\"Account\",\"referenceId\":\"ref1\"},\"Name\":"
        "\"Tree 1\",\"Contacts\":{\"records\":[{\"attributes\":{\"type\":\"Contact\","
        "\"referenceId\":\"ref2\"},\"LastName\":\"Kid\"}]}},{\"attributes\":{\"type\":\"Account\","
        "\"referenceId\":\"ref3\"},\"Name\":\"Tree 2\"}]}");
    assert_int_equal(r.status, 201);
    assert_true(json_is_false(json_object_get(r.json, "hasErrors")));
    json_t *results = json_object_get(r.json, "results");
    assert_int_equal(json_array_size(results), 3);
    const char *kid = NULL, *parent = NULL;
    size_t i;
    json_t *res;
    json_array_foreach(results, i, res)
    {
        const char *ref = json_string_value(json_object_get(res, "referenceId"));
        if (!strcmp(ref, "ref2"))
            kid = json_string_value(json_object_get(res, "id"));
        if (!strcmp(ref, "ref1"))
            parent = json_string_value(json_object_get(res, "id"));
    }
    assert_non_null(kid);
    t_resp_t g = t_apif(&env, "GET", NULL, "/sobjects/Contact/%s", kid);
    assert_string_equal(json_string_value(json_object_get(g.json, "AccountId")), parent);
    t_resp_free(&g);
    t_resp_free(&r);

    long before = t_live("Account");
    r = t_api(
        &env, "POST", "/composite/tree/Account",
        "{\"records\":[{\"attributes\":{\"type\":\"Account\",\"referenceId\":\"ok\"},\"Name\":"
        "\"T\",\"Contacts\":{\"records\":[{\"attributes\":{\"type\":\"Contact\","
        "\"referenceId\":\"bad\"},\"Email\":\"x@y.z\"}]}}]}");
    assert_int_equal(r.status, 400);
    assert_true(json_is_true(json_object_get(r.json, "hasErrors")));
    res = json_array_get(json_object_get(r.json, "results"), 0);
    assert_string_equal(json_string_value(json_object_get(res, "referenceId")), "bad");
    t_resp_free(&r);
    assert_int_equal(t_live("Account"), before);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_update_delete),
        cmocka_unit_test(test_create_all_or_none_rollback),
        cmocka_unit_test(test_upsert_collection),
        cmocka_unit_test(test_composite),
        cmocka_unit_test(test_batch),
        cmocka_unit_test(test_tree),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return rc;
}
