/*
 * test_emu_control.c - the control API over real HTTP: reset, record
 * loading, counters, every fault kind (latency, error next-N and rate with a
 * path prefix, truncated and malformed bodies, dropped connections), expiring
 * sessions, and the daily API allocation.
 */
#include "test_emu_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sys/time.h>

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

static void t_faults(const char *spec)
{
    t_resp_t r = t_control(&env, "POST", "faults", spec);
    if (r.status != 200)
        fail_msg("faults %s: %ld %s", spec, r.status, r.body ? r.body : "");
    t_resp_free(&r);
}

static void t_clear(void)
{
    t_resp_t r = t_control(&env, "DELETE", "faults", NULL);
    assert_int_equal(r.status, 200);
    t_resp_free(&r);
}

static void test_records_counters_reset(void **state)
{
    (void)state;
    t_resp_t r = t_control(&env, "POST", "records",
                           "{\"Account\":[{\"Id\":\"001000000000042AAA\",\"Name\":\"Loaded\","
                           "\"CreatedDate\":\"2020-01-02T03:04:05.000+0000\"}]}");
    assert_int_equal(r.status, 201);
    assert_string_equal(json_string_value(json_array_get(json_object_get(r.json, "Account"), 0)),
                        "001000000000042AAA");
    t_resp_free(&r);
    r = t_api(&env, "GET", "/sobjects/Account/001000000000042", NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "CreatedDate")),
                        "2020-01-02T03:04:05.000+0000");
    t_resp_free(&r);
    r = t_control(&env, "POST", "records", "{\"Nope\":[]}");
    assert_int_equal(r.status, 400);
    t_resp_free(&r);
    /* all or nothing: the good first record is not kept when the second is bad */
    r = t_control(&env, "POST", "records",
                  "{\"Account\":[{\"Id\":\"001000000000043AAA\",\"Name\":\"ok\"},{\"Bad__c\":1}]}");
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "INVALID_FIELD"));
    t_resp_free(&r);
    r = t_api(&env, "GET", "/sobjects/Account/001000000000043AAA", NULL);
    assert_int_equal(r.status, 404);
    t_resp_free(&r);

    r = t_control(&env, "GET", "counters", NULL);
    assert_int_equal(r.status, 200);
    json_t *calls = json_object_get(r.json, "api_calls");
    assert_true(json_integer_value(
                    json_object_get(json_object_get(calls, "by_resource"), "sobjects")) >= 1);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(r.json, "records"), "Account"), "live")),
                     1);
    /* the org's users are User records */
    assert_true(json_integer_value(json_object_get(
                    json_object_get(json_object_get(r.json, "records"), "User"), "live")) >= 1);
    t_resp_free(&r);

    r = t_control(&env, "POST", "reset", NULL);
    assert_int_equal(r.status, 200);
    t_resp_free(&r);
    r = t_api(&env, "GET", "/sobjects/Account/001000000000042AAA", NULL);
    assert_int_equal(r.status, 404);
    t_resp_free(&r);
    r = t_control(&env, "GET", "counters", NULL);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(r.json, "api_calls"), "total")), 1);
    t_resp_free(&r);
    r = t_control(&env, "GET", "nothing", NULL);
    assert_int_equal(r.status, 404);
    t_resp_free(&r);
}

static void test_error_faults(void **state)
{
    (void)state;
    t_faults("{\"error\":{\"status\":503,\"errorCode\":\"SERVER_UNAVAILABLE\",\"next\":2,"
             "\"path_prefix\":\"/services/data/v62.0/sobjects\"}}");
    t_resp_t r = t_api(&env, "GET", "/limits", NULL); /* outside the prefix */
    assert_int_equal(r.status, 200);
    t_resp_free(&r);
    for (int i = 0; i < 2; i++) {
        r = t_api(&env, "GET", "/sobjects", NULL);
        assert_int_equal(r.status, 503);
        assert_string_equal(t_error_code(&r), "SERVER_UNAVAILABLE");
        t_resp_free(&r);
    }
    r = t_api(&env, "GET", "/sobjects", NULL);
    assert_int_equal(r.status, 200);
    t_resp_free(&r);

    t_faults("{\"error\":{\"errorCode\":\"UNABLE_TO_LOCK_ROW\",\"rate\":1}}");
    r = t_api(&env, "POST", "/sobjects/Account", "{\"Name\":\"x\"}");
    assert_int_equal(r.status, 400);
    assert_string_equal(t_error_code(&r), "UNABLE_TO_LOCK_ROW");
    assert_string_equal(json_string_value(json_object_get(json_array_get(r.json, 0), "message")),
                        "unable to obtain exclusive access to this record");
    t_resp_free(&r);
    t_faults("{\"error\":{\"errorCode\":\"REQUEST_LIMIT_EXCEEDED\",\"next\":1}}");
    r = t_api(&env, "GET", "/limits", NULL);
    assert_int_equal(r.status, 403);
    assert_string_equal(t_error_code(&r), "REQUEST_LIMIT_EXCEEDED");
    t_resp_free(&r);
    t_clear();

    /* rate 0.5 over 200 calls: some but not all fail */
    t_faults("{\"error\":{\"status\":503,\"rate\":0.5}}");
    int failed = 0;
    for (int i = 0; i < 200; i++) {
        r = t_api(&env, "GET", "/limits", NULL);
        failed += r.status == 503;
        t_resp_free(&r);
    }
    assert_true(failed > 40 && failed < 160);
    t_clear();

    r = t_control(&env, "POST", "faults", "{\"error\":{\"rate\":2}}");
    assert_int_equal(r.status, 400);
    t_resp_free(&r);
}

static double t_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return tv.tv_sec * 1000.0 + tv.tv_usec / 1000.0;
}

static void test_latency(void **state)
{
    (void)state;
    t_faults("{\"latency\":{\"fixed_ms\":150,\"random_ms\":50}}");
    double t0 = t_ms();
    t_resp_t r = t_api(&env, "GET", "/limits", NULL);
    double dt = t_ms() - t0;
    assert_int_equal(r.status, 200);
    assert_true(dt >= 150 && dt < 2000);
    t_resp_free(&r);
    t_clear();
    t0 = t_ms();
    r = t_api(&env, "GET", "/limits", NULL);
    assert_true(t_ms() - t0 < 150);
    t_resp_free(&r);
}

static void test_body_faults(void **state)
{
    (void)state;
    t_faults("{\"body\":{\"mode\":\"truncate\",\"next\":1}}");
    t_resp_t r = t_api(&env, "GET", "/limits", NULL);
    assert_int_equal(r.status, 200);
    assert_null(r.json); /* half a JSON document */
    assert_true(r.len > 10);
    t_resp_free(&r);
    t_faults("{\"body\":{\"mode\":\"malformed\",\"next\":1}}");
    r = t_api(&env, "GET", "/limits", NULL);
    assert_null(r.json);
    assert_non_null(strstr(r.body, "<html>"));
    t_resp_free(&r);
    r = t_api(&env, "GET", "/limits", NULL);
    assert_non_null(r.json);
    t_resp_free(&r);
}

static void test_drop(void **state)
{
    (void)state;
    t_faults("{\"drop\":{\"next\":1}}");
    t_resp_t r = t_api(&env, "GET", "/limits", NULL);
    assert_true(r.status < 0); /* curl saw the connection close without a response */
    t_resp_free(&r);
    r = t_api(&env, "GET", "/limits", NULL);
    assert_int_equal(r.status, 200);
    t_resp_free(&r);
}

static void test_sessions_expire(void **state)
{
    (void)state;
    t_resp_t r = t_control(&env, "POST", "sessions/expire", NULL);
    assert_int_equal(r.status, 200);
    t_resp_free(&r);
    r = t_api(&env, "GET", "/limits", NULL);
    assert_int_equal(r.status, 401);
    assert_string_equal(t_error_code(&r), "INVALID_SESSION_ID");
    t_resp_free(&r);
    assert_int_equal(t_token(&env), 0);
    r = t_api(&env, "GET", "/limits", NULL);
    assert_int_equal(r.status, 200);
    t_resp_free(&r);
}

static void test_api_allocation(void **state)
{
    (void)state;
    t_resp_t r = t_control(&env, "POST", "limits", "{\"daily_api_requests\":3,\"used\":0}");
    assert_int_equal(r.status, 200);
    t_resp_free(&r);
    for (int i = 0; i < 3; i++) {
        r = t_api(&env, "GET", "/limits", NULL);
        assert_int_equal(r.status, 200);
        if (i == 2)
            assert_int_equal(json_integer_value(json_object_get(
                                 json_object_get(r.json, "DailyApiRequests"), "Remaining")),
                             0);
        t_resp_free(&r);
    }
    r = t_api(&env, "GET", "/limits", NULL);
    assert_int_equal(r.status, 403);
    t_resp_free(&r);
    r = t_control(&env, "GET", "limits", NULL);
    assert_int_equal(json_integer_value(json_object_get(r.json, "used")), 3);
    t_resp_free(&r);
    r = t_control(&env, "POST", "limits", "{\"daily_api_requests\":15000,\"used\":0}");
    t_resp_free(&r);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records_counters_reset),
        cmocka_unit_test(test_error_faults),
        cmocka_unit_test(test_latency),
        cmocka_unit_test(test_body_faults),
        cmocka_unit_test(test_drop),
        cmocka_unit_test(test_sessions_expire),
        cmocka_unit_test(test_api_allocation),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return rc;
}
