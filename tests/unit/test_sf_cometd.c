/*
 * test_sf_cometd.c - the Bayeux parser over every cometd_* and event_*
 * fixture of the reference (real Salesforce bodies), bad input, bounds, and
 * the backoff.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sf.h"

#define FIXTURES SFB_SOURCE_DIR "/tests/unit/data/cometd/"

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 20);
    *len = fread(buf, 1, (1 << 20) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static sf_bayeux_batch_t *parse_fixture(const char *name)
{
    char path[512];
    size_t len = 0;
    snprintf(path, sizeof(path), "%s%s", FIXTURES, name);
    char *body = read_all(path, &len);
    if (!body)
        fail_msg("cannot read %s", path);
    sf_bayeux_batch_t *batch = NULL;
    sf_error_t *err = NULL;
    if (sf_bayeux_parse(body, len, 1 << 20, 100, &batch, &err) != 0)
        fail_msg("%s: %s", name, err->message);
    free(body);
    assert_int_equal(batch->rejected, 0);
    assert_int_equal(batch->msg_cnt, 1);
    return batch;
}

static void test_handshake(void **state)
{
    (void)state;
    sf_bayeux_batch_t *b = parse_fixture("cometd_handshake_response.issue_capture.json");
    assert_int_equal(b->msgs[0].kind, SF_BAYEUX_HANDSHAKE);
    assert_true(b->msgs[0].successful);
    assert_string_equal(b->msgs[0].client_id, "1cyu4thyxh3fgv1nqwcvebt3o9x");
    sf_bayeux_batch_destroy(b);

    b = parse_fixture("cometd_handshake_denied.sf_docs.json");
    assert_false(b->msgs[0].successful);
    assert_string_equal(b->msgs[0].error, "403::Handshake denied");
    assert_string_equal(b->msgs[0].failure_reason, "401::Authentication invalid");
    assert_string_equal(b->msgs[0].advice_reconnect, "none");
    sf_bayeux_batch_destroy(b);
}

static void test_connect(void **state)
{
    (void)state;
    sf_bayeux_batch_t *b = parse_fixture("cometd_connect_first_with_advice.issue_capture.json");
    assert_int_equal(b->msgs[0].kind, SF_BAYEUX_CONNECT);
    assert_true(b->msgs[0].successful);
    assert_int_equal(b->msgs[0].advice_timeout_ms, 110000);
    assert_int_equal(b->msgs[0].advice_interval_ms, 0);
    assert_string_equal(b->msgs[0].advice_reconnect, "retry");
    sf_bayeux_batch_destroy(b);

    b = parse_fixture("cometd_connect_plain.issue_capture.json");
    assert_true(b->msgs[0].successful);
    assert_int_equal(b->msgs[0].advice_timeout_ms, -1);
    sf_bayeux_batch_destroy(b);

    b = parse_fixture("cometd_connect_unknown_client.issue_capture.json");
    assert_false(b->msgs[0].successful);
    assert_string_equal(b->msgs[0].error, "403::Unknown client");
    assert_string_equal(b->msgs[0].advice_reconnect, "handshake");
    assert_null(b->msgs[0].client_id);
    sf_bayeux_batch_destroy(b);

    b = parse_fixture("cometd_connect_auth_invalid.sf_docs.json");
    assert_false(b->msgs[0].successful);
    assert_string_equal(b->msgs[0].error, "401::Authentication invalid");
    assert_string_equal(b->msgs[0].advice_reconnect, "none");
    sf_bayeux_batch_destroy(b);
}

static void test_subscribe(void **state)
{
    (void)state;
    sf_bayeux_batch_t *b = parse_fixture("cometd_subscribe_invalid_replay.assembled.json");
    assert_int_equal(b->msgs[0].kind, SF_BAYEUX_SUBSCRIBE);
    assert_false(b->msgs[0].successful);
    assert_string_equal(b->msgs[0].subscription, "/topic/TestAccountStreaming");
    assert_true(sf_bayeux_error_is_invalid_replay(b->msgs[0].error));
    sf_bayeux_batch_destroy(b);

    /* A replay map that does not name the channel is our bug, not an expired id. */
    b = parse_fixture("cometd_subscribe_replay_map_mismatch.emp_connector_issue.json");
    assert_false(b->msgs[0].successful);
    assert_false(sf_bayeux_error_is_invalid_replay(b->msgs[0].error));
    sf_bayeux_batch_destroy(b);

    /* Our own request shape parses as a (reply-less) meta message only when
     * it says successful; without it, it is rejected. */
    size_t len;
    char *body = read_all(FIXTURES "cometd_subscribe_request_with_replay.sketch.json", &len);
    assert_non_null(body);
    sf_bayeux_batch_t *batch = NULL;
    assert_int_equal(sf_bayeux_parse(body, len, 1 << 20, 100, &batch, NULL), 0);
    assert_int_equal(batch->msg_cnt, 0);
    assert_int_equal(batch->rejected, 1);
    sf_bayeux_batch_destroy(batch);
    free(body);
}

static void test_events(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        const char *channel;
        int64_t replay_id;
    } cases[] = {
        {"event_platform_event_low_ink.sf_docs.json", "/event/Low_Ink__e", 2},
        {"event_cdc_account_update.synthetic.json", "/data/AccountChangeEvent", 6},
        {"event_pushtopic_created.sf_docs.json", "/topic/TestAccountStreaming", 13},
        {"event_generic_streaming.sf_docs.json", "/u/TestStreaming", 55},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sf_bayeux_batch_t *b = parse_fixture(cases[i].file);
        assert_int_equal(b->msgs[0].kind, SF_BAYEUX_EVENT);
        assert_string_equal(b->msgs[0].channel, cases[i].channel);
        assert_int_equal(b->msgs[0].replay_id, cases[i].replay_id);
        assert_true(json_is_object(b->msgs[0].data));
        sf_bayeux_batch_destroy(b);
    }
}

/* Bad input: whole-batch errors, and per-message rejections with the rest kept. */
static void test_bad_input(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        sf_error_kind_t kind; /* SF_ERR_NONE: parses with `rejected` messages */
        size_t kept, rejected;
    } cases[] = {
        {"", SF_ERR_PARSE, 0, 0},
        {"[{\"channel\":", SF_ERR_PARSE, 0, 0},
        {"42", SF_ERR_PARSE, 0, 0},
        {"\"x\"", SF_ERR_PARSE, 0, 0},
        {"[1, \"a\", null, []]", SF_ERR_NONE, 0, 4},
        {"[{\"channel\":\"/meta/connect\",\"successful\":true,\"channel\":\"/x\"}]", SF_ERR_PARSE,
         0, 0},
        {"[{\"channel\":\"/event/A__e\",\"data\":{\"event\":{}}}]", SF_ERR_NONE, 0, 1},
        {"[{\"channel\":\"/event/A__e\",\"data\":{\"event\":{\"replayId\":\"7\"}}}]", SF_ERR_NONE,
         0, 1},
        {"[{\"channel\":\"/event/A__e\",\"data\":{\"event\":{\"replayId\":-3}}}]", SF_ERR_NONE, 0,
         1},
        {"[{\"channel\":\"/event/A__e\",\"data\":[]}]", SF_ERR_NONE, 0, 1},
        {"[{\"channel\":\"/weird/A\",\"data\":{\"event\":{\"replayId\":1}}}]", SF_ERR_NONE, 0, 1},
        {"[{\"channel\":\"/meta/bogus\",\"successful\":true}]", SF_ERR_NONE, 0, 1},
        {"[{\"channel\":\"/meta/connect\"}]", SF_ERR_NONE, 0, 1},
        {"[{\"channel\":\"/meta/connect\",\"successful\":true,\"advice\":{\"reconnect\":\"x\"}}]",
         SF_ERR_NONE, 0, 1},
        {"[{\"channel\":\"/meta/connect\",\"successful\":true,\"advice\":{\"timeout\":-1}}]",
         SF_ERR_NONE, 0, 1},
        {"[{\"channel\":\"/meta/connect\",\"successful\":true,\"clientId\":5}]", SF_ERR_NONE, 0, 1},
        {"[{\"channel\":\"/event/A__e\",\"data\":{\"event\":{\"replayId\":9}}},"
         "{\"channel\":\"/event/A__e\"},"
         "{\"channel\":\"/meta/connect\",\"successful\":true}]",
         SF_ERR_NONE, 2, 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sf_bayeux_batch_t *b = NULL;
        sf_error_t *err = NULL;
        int rc = sf_bayeux_parse(cases[i].body, strlen(cases[i].body), 4096, 100, &b, &err);
        if (cases[i].kind != SF_ERR_NONE) {
            if (rc == 0)
                fail_msg("case %zu: parsed", i);
            assert_int_equal(err->kind, cases[i].kind);
            assert_null(b);
            sf_error_destroy(err);
            continue;
        }
        if (rc != 0)
            fail_msg("case %zu: %s", i, err->message);
        if (b->msg_cnt != cases[i].kept || b->rejected != cases[i].rejected)
            fail_msg("case %zu: kept %zu rejected %zu (%s)", i, b->msg_cnt, b->rejected,
                     b->reject_reason);
        if (b->rejected)
            assert_true(strlen(b->reject_reason) > 0);
        sf_bayeux_batch_destroy(b);
    }
}

static void test_bounds(void **state)
{
    (void)state;
    sf_bayeux_batch_t *b = NULL;
    sf_error_t *err = NULL;
    const char *two = "[{\"channel\":\"/meta/connect\",\"successful\":true},"
                      "{\"channel\":\"/meta/connect\",\"successful\":true}]";
    assert_int_equal(sf_bayeux_parse(two, strlen(two), 4096, 1, &b, &err), -1);
    assert_int_equal(err->kind, SF_ERR_TOO_LARGE);
    sf_error_destroy(err);
    err = NULL;
    assert_int_equal(sf_bayeux_parse(two, strlen(two), 10, 100, &b, &err), -1);
    assert_int_equal(err->kind, SF_ERR_TOO_LARGE);
    sf_error_destroy(err);
    assert_int_equal(sf_bayeux_parse(two, strlen(two), 4096, 2, &b, NULL), 0);
    assert_int_equal(b->msg_cnt, 2);
    sf_bayeux_batch_destroy(b);

    /* An advice of hours is capped at ten minutes. */
    const char *adv = "{\"channel\":\"/meta/connect\",\"successful\":true,"
                      "\"advice\":{\"interval\":99999999999,\"timeout\":5}}";
    assert_int_equal(sf_bayeux_parse(adv, strlen(adv), 4096, 2, &b, NULL), 0);
    assert_int_equal(b->msgs[0].advice_interval_ms, 600000);
    assert_int_equal(b->msgs[0].advice_timeout_ms, 5);
    sf_bayeux_batch_destroy(b);
}

static void test_backoff(void **state)
{
    (void)state;
    for (unsigned attempt = 0; attempt < 40; attempt++) {
        long cap = 100L << (attempt > 10 ? 10 : attempt);
        if (cap > 30000)
            cap = 30000;
        long max_seen = 0;
        for (int i = 0; i < 200; i++) {
            long d = sf_backoff_full_jitter(attempt, 100, 30000);
            assert_true(d >= 0 && d <= cap);
            if (d > max_seen)
                max_seen = d;
        }
        /* Full jitter spreads over the range, not a fixed value. */
        assert_true(max_seen > cap / 2);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake), cmocka_unit_test(test_connect),
        cmocka_unit_test(test_subscribe), cmocka_unit_test(test_events),
        cmocka_unit_test(test_bad_input), cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_backoff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
