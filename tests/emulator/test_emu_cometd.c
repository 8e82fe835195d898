/*
 * test_emu_cometd.c - sfemu's Streaming API over real HTTP (libcurl against
 * an in-process sfemu): Bayeux handshake/subscribe/connect with the replay
 * extension, Salesforce's error strings (compared with the reference
 * fixtures), long-poll wake-up, client expiry, the control API (publish,
 * drop, expire, restart, delay) and the producers: platform events through
 * REST, Change Data Capture for every change type, PushTopic.
 */
#include "emu_cometd.h"
#include "test_emu_util.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#define T_TIMEOUT_MS 800 /* how long sfemu holds an idle connect in these tests */
#define T_EXPIRY_MS  5000

static t_env_t env;

static double t_now(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static int setup(void **state)
{
    (void)state;
    emu_options_t opt = {.cometd_timeout_ms = T_TIMEOUT_MS, .cometd_client_expiry_ms = T_EXPIRY_MS};
    return t_env_start(&env, &opt);
}

static int teardown(void **state)
{
    (void)state;
    t_env_stop(&env);
    return 0;
}

/* POST of Bayeux messages (printf-style) to /cometd/62.0 with the session. */
static t_resp_t t_bayeux_auth(const char *auth, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static t_resp_t t_bayeux_auth(const char *auth, const char *fmt, ...)
{
    char body[8192], url[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);
    snprintf(url, sizeof(url), "%s/cometd/62.0", env.base);
    return t_http("POST", url, auth, body);
}
#define t_bayeux(...) t_bayeux_auth(env.auth, __VA_ARGS__)

static json_t *t_first(const t_resp_t *r)
{
    return json_array_get(r->json, 0);
}

static const char *t_err(const t_resp_t *r)
{
    const char *e = json_string_value(json_object_get(t_first(r), "error"));
    return e ? e : "";
}

static void t_control_ok(const char *what, const char *body)
{
    t_resp_t r = t_control(&env, "POST", what, body);
    assert_int_equal(r.status, 200);
    t_resp_free(&r);
}

static void t_shape(const char *fixture, const json_t *have)
{
    json_t *want = t_fixture(fixture);
    assert_non_null(want);
    if (json_is_array(want)) {
        json_t *one = json_incref(json_array_get(want, 0));
        json_decref(want);
        want = one;
    }
    /* "id" echoes the request's (a string here, a number in some captures);
     * the payload's custom fields are the fixture's own event type's. */
    json_object_del(want, "id");
    json_t *payload = json_object_get(json_object_get(want, "data"), "payload");
    const char *k;
    void *tmp;
    json_t *v;
    json_object_foreach_safe(payload, tmp, k, v)
    {
        if (strstr(k, "__c"))
            json_object_del(payload, k);
    }
    char where[512] = "";
    bool ok = t_shape_match(want, have, "$", where, sizeof(where));
    if (!ok)
        fprintf(stderr, "%s: %s\n", fixture, where);
    assert_true(ok);
    json_decref(want);
}

/* Handshake: the new client id (caller frees). */
static char *t_handshake(void)
{
    t_resp_t r =
        t_bayeux("[{\"channel\":\"/meta/handshake\",\"version\":\"1.0\",\"minimumVersion\":"
                 "\"1.0\",\"supportedConnectionTypes\":[\"long-polling\"],\"ext\":{"
                 "\"replay\":true},\"id\":\"1\"}]");
    assert_int_equal(r.status, 200);
    assert_true(json_is_true(json_object_get(t_first(&r), "successful")));
    char *cid = strdup(json_string_value(json_object_get(t_first(&r), "clientId")));
    t_resp_free(&r);
    return cid;
}

static t_resp_t t_subscribe(const char *cid, const char *channel, long long replay)
{
    return t_bayeux("[{\"channel\":\"/meta/subscribe\",\"clientId\":\"%s\",\"subscription\":\"%s\","
                    "\"ext\":{\"replay\":{\"%s\":%lld}},\"id\":\"2\"}]",
                    cid, channel, channel, replay);
}

static void t_subscribe_ok(const char *cid, const char *channel, long long replay)
{
    t_resp_t r = t_subscribe(cid, channel, replay);
    if (!json_is_true(json_object_get(t_first(&r), "successful")))
        fprintf(stderr, "subscribe %s: %s\n", channel, r.body);
    assert_true(json_is_true(json_object_get(t_first(&r), "successful")));
    assert_string_equal(json_string_value(json_object_get(t_first(&r), "subscription")), channel);
    t_resp_free(&r);
}

static t_resp_t t_connect(const char *cid)
{
    return t_bayeux("[{\"channel\":\"/meta/connect\",\"clientId\":\"%s\",\"connectionType\":"
                    "\"long-polling\",\"id\":\"3\"}]",
                    cid);
}

/* Connects until `want` events arrived (or 10 s): returns them (owned). */
static json_t *t_events(const char *cid, size_t want)
{
    json_t *events = json_array();
    double until = t_now() + 10;
    while (json_array_size(events) < want && t_now() < until) {
        t_resp_t r = t_connect(cid);
        assert_int_equal(r.status, 200);
        assert_true(json_is_true(json_object_get(t_first(&r), "successful")));
        for (size_t i = 1; i < json_array_size(r.json); i++)
            json_array_append(events, json_array_get(r.json, i));
        t_resp_free(&r);
    }
    return events;
}

static long long t_replay(const json_t *ev)
{
    return (long long)json_integer_value(
        json_object_get(json_object_get(json_object_get(ev, "data"), "event"), "replayId"));
}

static void t_publish(const char *channel, int count, long long *first, long long *last)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"channel\":\"%s\",\"count\":%d}", channel, count);
    t_resp_t r = t_control(&env, "POST", "events/publish", body);
    assert_int_equal(r.status, 200);
    json_t *ids = json_object_get(r.json, "replay_ids");
    if (first)
        *first = (long long)json_integer_value(json_array_get(ids, 0));
    if (last)
        *last = (long long)json_integer_value(json_array_get(ids, 1));
    t_resp_free(&r);
}

static void test_handshake_and_connect_shapes(void **state)
{
    (void)state;
    t_resp_t r = t_bayeux("[{\"channel\":\"/meta/handshake\",\"version\":\"1.0\","
                          "\"supportedConnectionTypes\":[\"long-polling\"],\"id\":\"305\"}]");
    assert_int_equal(r.status, 200);
    t_shape("cometd_handshake_response.issue_capture.json", t_first(&r));
    assert_string_equal(json_string_value(json_object_get(t_first(&r), "id")), "305");
    assert_true(json_is_true(json_object_get(json_object_get(t_first(&r), "ext"), "replay")));
    char *cid = strdup(json_string_value(json_object_get(t_first(&r), "clientId")));
    t_resp_free(&r);
    /* First connect: advice {interval 0, timeout, reconnect retry}, held the timeout. */
    double t0 = t_now();
    r = t_connect(cid);
    double held = t_now() - t0;
    t_shape("cometd_connect_first_with_advice.issue_capture.json", t_first(&r));
    json_t *advice = json_object_get(t_first(&r), "advice");
    assert_int_equal(json_integer_value(json_object_get(advice, "timeout")), T_TIMEOUT_MS);
    assert_int_equal(json_integer_value(json_object_get(advice, "interval")), 0);
    assert_string_equal(json_string_value(json_object_get(advice, "reconnect")), "retry");
    assert_true(held >= T_TIMEOUT_MS / 1000.0 * 0.9);
    t_resp_free(&r);
    /* advice {"timeout":0} from the client: answered at once. */
    t0 = t_now();
    r = t_bayeux("[{\"channel\":\"/meta/connect\",\"clientId\":\"%s\",\"connectionType\":"
                 "\"long-polling\",\"advice\":{\"timeout\":0}}]",
                 cid);
    assert_true(json_is_true(json_object_get(t_first(&r), "successful")));
    assert_true(t_now() - t0 < 0.4);
    t_resp_free(&r);
    r = t_connect(cid); /* later ones: no advice */
    assert_null(json_object_get(t_first(&r), "advice"));
    assert_string_equal(json_string_value(json_object_get(t_first(&r), "clientId")), cid);
    t_resp_free(&r);
    r = t_bayeux("[{\"channel\":\"/meta/disconnect\",\"clientId\":\"%s\",\"id\":\"9\"}]", cid);
    assert_true(json_is_true(json_object_get(t_first(&r), "successful")));
    t_resp_free(&r);
    r = t_connect(cid);
    t_shape("cometd_connect_unknown_client.issue_capture.json", t_first(&r));
    t_resp_free(&r);
    free(cid);
}

static void test_replay_modes(void **state)
{
    (void)state;
    const char *ch = "/event/Order_Event__e";
    long long first, last;
    t_publish(ch, 5, &first, &last);
    assert_int_equal(last - first, 4);
    /* -2: every retained event, in order, with the platform event's shape. */
    char *cid = t_handshake();
    t_subscribe_ok(cid, ch, -2);
    json_t *ev = t_events(cid, (size_t)last);
    assert_true(json_array_size(ev) >= 5);
    for (size_t i = 0; i < json_array_size(ev); i++) {
        assert_int_equal(t_replay(json_array_get(ev, i)), (long long)i + 1);
        assert_string_equal(json_string_value(json_object_get(json_array_get(ev, i), "channel")),
                            ch);
    }
    t_shape("event_platform_event_low_ink.sf_docs.json", json_array_get(ev, 0));
    json_decref(ev);
    free(cid);
    /* An id: delivery resumes after it. */
    cid = t_handshake();
    t_subscribe_ok(cid, ch, last - 2);
    ev = t_events(cid, 2);
    assert_int_equal(json_array_size(ev), 2);
    assert_int_equal(t_replay(json_array_get(ev, 0)), last - 1);
    assert_int_equal(t_replay(json_array_get(ev, 1)), last);
    json_decref(ev);
    free(cid);
    /* -1: only new ones. */
    cid = t_handshake();
    t_subscribe_ok(cid, ch, -1);
    t_resp_t r = t_connect(cid); /* nothing: held for the timeout */
    assert_int_equal(json_array_size(r.json), 1);
    t_resp_free(&r);
    t_publish(ch, 1, NULL, NULL);
    ev = t_events(cid, 1);
    assert_int_equal(json_array_size(ev), 1);
    assert_int_equal(t_replay(json_array_get(ev, 0)), last + 1);
    json_decref(ev);
    /* Unsubscribed: no more deliveries. */
    r = t_bayeux(
        "[{\"channel\":\"/meta/unsubscribe\",\"clientId\":\"%s\",\"subscription\":\"%s\"}]", cid,
        ch);
    assert_true(json_is_true(json_object_get(t_first(&r), "successful")));
    t_resp_free(&r);
    t_publish(ch, 1, NULL, NULL);
    r = t_connect(cid);
    assert_int_equal(json_array_size(r.json), 1);
    t_resp_free(&r);
    free(cid);
}

typedef struct t_held {
    char cid[64];
    t_resp_t r;
    double returned;
} t_held_t;

static void *t_held_connect(void *arg)
{
    t_held_t *h = arg;
    h->r = t_connect(h->cid);
    h->returned = t_now();
    return NULL;
}

static void test_wakeup_latency(void **state)
{
    (void)state;
    t_control_ok("cometd/timeouts", "{\"timeout_ms\":5000}");
    char *cid = t_handshake();
    t_subscribe_ok(cid, "/event/Order_Event__e", -1);
    t_resp_t r = t_connect(cid); /* the first connect (advice) returns at once? no: held */
    t_resp_free(&r);
    double worst = 0, sum = 0;
    for (int i = 0; i < 5; i++) {
        t_held_t h = {0};
        snprintf(h.cid, sizeof(h.cid), "%s", cid);
        pthread_t th;
        pthread_create(&th, NULL, t_held_connect, &h);
        usleep(150000); /* the connect is held by now */
        double t0 = t_now();
        t_publish("/event/Order_Event__e", 1, NULL, NULL);
        pthread_join(th, NULL);
        double lat = h.returned - t0;
        assert_int_equal(json_array_size(h.r.json), 2); /* reply + the event */
        t_resp_free(&h.r);
        sum += lat;
        worst = lat > worst ? lat : worst;
    }
    printf("long-poll wake-up: mean %.1f ms, worst %.1f ms (publish request -> connect reply)\n",
           sum / 5 * 1000, worst * 1000);
    assert_true(worst < 0.5);
    t_control_ok("cometd/timeouts", "{\"timeout_ms\":800}");
    free(cid);
}

static void test_error_strings(void **state)
{
    (void)state;
    char url[256];
    char *cid = t_handshake();
    /* Unknown channel; replay map that does not name the channel. */
    t_resp_t r = t_subscribe(cid, "/event/Nope__e", -1);
    assert_string_equal(t_err(&r), "400::The channel you requested to subscribe to doesn't exist "
                                   "{/event/Nope__e}");
    t_resp_free(&r);
    r = t_bayeux("[{\"channel\":\"/meta/subscribe\",\"clientId\":\"%s\",\"subscription\":\"/topic/"
                 "topicName\",\"ext\":{\"replay\":{}},\"id\":\"27\"}]",
                 cid);
    /* /topic/topicName does not exist: the channel check comes first. */
    assert_non_null(strstr(t_err(&r), "doesn't exist"));
    t_resp_free(&r);
    r = t_bayeux("[{\"channel\":\"/meta/subscribe\",\"clientId\":\"%s\",\"subscription\":\"/data/"
                 "ChangeEvents\",\"ext\":{\"replay\":{}},\"id\":\"27\"}]",
                 cid);
    assert_string_equal(
        t_err(&r), "400::The replayId for channel {/data/ChangeEvents} wasn't found using the "
                   "provided replay ID map {{}}. Ensure that the channel name you provided in the "
                   "replay map is valid and matches the channel name used for subscribing.");
    t_resp_free(&r);
    /* A replay id past retention (expired through the control API). */
    long long first, last;
    t_publish("/event/Order_Event__e", 3, &first, &last);
    char body[200];
    snprintf(body, sizeof(body),
             "{\"channel\":\"/event/Order_Event__e\",\"through_replay_id\":%lld}", last - 1);
    t_control_ok("events/expire", body);
    r = t_subscribe(cid, "/event/Order_Event__e", last - 2);
    char want[300];
    snprintf(want, sizeof(want),
             "400::The replayId {%lld} you provided was invalid.  Please provide a valid ID, -2 to "
             "replay all events, or -1 to replay only new events.",
             last - 2);
    assert_string_equal(t_err(&r), want);
    t_shape("cometd_subscribe_invalid_replay.assembled.json", t_first(&r));
    t_resp_free(&r);
    t_subscribe_ok(cid, "/event/Order_Event__e", last - 1); /* the boundary is fine */
    r = t_control(&env, "GET", "events?channel=/event/Order_Event__e", NULL);
    assert_int_equal(json_integer_value(json_object_get(r.json, "first_replay_id")), last);
    assert_int_equal(json_integer_value(json_object_get(r.json, "last_replay_id")), last);
    assert_int_equal(json_integer_value(json_object_get(r.json, "count")), 1);
    t_resp_free(&r);
    /* Channel name checks. */
    r = t_bayeux("[{\"channel\":\"/meta/subscribe\",\"clientId\":\"%s\"}]", cid);
    assert_string_equal(t_err(&r), "400::Channel name not specified");
    t_resp_free(&r);
    r = t_bayeux("[{\"channel\":\"/meta/subscribe\",\"clientId\":\"%s\",\"subscription\":\"x\"}]",
                 cid);
    assert_string_equal(t_err(&r), "400::Channel subscriptions must start with a leading '/'");
    t_resp_free(&r);
    /* Unknown client on subscribe. */
    r = t_subscribe("nosuchclient", "/event/Order_Event__e", -1);
    assert_string_equal(t_err(&r), "403::Unknown client");
    t_resp_free(&r);
    /* No token; a bad token at handshake; an expired session at connect. */
    r = t_bayeux_auth(NULL, "[{\"channel\":\"/meta/handshake\"}]");
    assert_int_equal(r.status, 401);
    assert_string_equal(t_err(&r), "401::Request requires authentication");
    t_resp_free(&r);
    r = t_bayeux_auth("Authorization: Bearer 00Dbogus!token",
                      "[{\"channel\":\"/meta/handshake\"}]");
    t_shape("cometd_handshake_denied.sf_docs.json", t_first(&r));
    assert_string_equal(t_err(&r), "403::Handshake denied");
    t_resp_free(&r);
    t_control_ok("sessions/expire", NULL);
    r = t_connect(cid);
    t_shape("cometd_connect_auth_invalid.sf_docs.json", t_first(&r));
    assert_string_equal(t_err(&r), "401::Authentication invalid");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(t_first(&r), "advice"), "reconnect")),
        "none");
    t_resp_free(&r);
    assert_int_equal(t_token(&env), 0);
    r = t_connect(cid); /* the client went with the session */
    assert_string_equal(t_err(&r), "403::Unknown client");
    t_resp_free(&r);
    /* URL version, size, malformed body. */
    snprintf(url, sizeof(url), "%s/cometd/36.0", env.base);
    r = t_http("POST", url, env.auth, "[]");
    assert_int_equal(r.status, 400);
    assert_string_equal(r.body, "Unsupported API version. Only API versions '37.0' and later are "
                                "supported.");
    t_resp_free(&r);
    snprintf(url, sizeof(url), "%s/cometd", env.base);
    r = t_http("POST", url, env.auth, "[]");
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "API version in the URI is mandatory"));
    t_resp_free(&r);
    char *big = malloc(40000);
    memset(big, ' ', 39999);
    big[0] = '[';
    big[39998] = ']';
    big[39999] = '\0';
    snprintf(url, sizeof(url), "%s/cometd/62.0", env.base);
    r = t_http("POST", url, env.auth, big);
    assert_int_equal(r.status, 413);
    assert_string_equal(r.body, "Maximum Request Size Exceeded");
    t_resp_free(&r);
    free(big);
    r = t_http("POST", url, env.auth, "{not json");
    assert_int_equal(r.status, 400);
    t_resp_free(&r);
    free(cid);
}

static void test_client_expiry(void **state)
{
    (void)state;
    t_control_ok("cometd/timeouts", "{\"expiry_ms\":300}");
    char *cid = t_handshake();
    t_resp_t r = t_connect(cid); /* held 800 ms: a held client does not expire */
    assert_true(json_is_true(json_object_get(t_first(&r), "successful")));
    t_resp_free(&r);
    usleep(600000); /* silent past the expiry */
    r = t_connect(cid);
    assert_string_equal(t_err(&r), "403::Unknown client");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(t_first(&r), "advice"), "reconnect")),
        "handshake");
    t_resp_free(&r);
    t_control_ok("cometd/timeouts", "{\"expiry_ms\":5000}");
    free(cid);
}

static void test_drop_restart_delay(void **state)
{
    (void)state;
    t_control_ok("cometd/timeouts", "{\"timeout_ms\":5000}");
    /* drop: a held connect answers 403::Unknown client at once. */
    char *cid = t_handshake();
    t_held_t h = {0};
    snprintf(h.cid, sizeof(h.cid), "%s", cid);
    pthread_t th;
    pthread_create(&th, NULL, t_held_connect, &h);
    usleep(150000);
    double t0 = t_now();
    t_control_ok("cometd/drop", "{}");
    pthread_join(th, NULL);
    assert_true(h.returned - t0 < 1.0);
    assert_string_equal(t_err(&h.r), "403::Unknown client");
    t_resp_free(&h.r);
    assert_int_equal(emu_cometd_clients(env.emu->cometd), 0);
    free(cid);
    /* restart: held connect answered successfully; next one 403; events and ids kept. */
    long long first, last;
    t_publish("/event/Order_Event__e", 2, &first, &last);
    cid = t_handshake();
    t_subscribe_ok(cid, "/event/Order_Event__e", -1);
    memset(&h, 0, sizeof(h));
    snprintf(h.cid, sizeof(h.cid), "%s", cid);
    pthread_create(&th, NULL, t_held_connect, &h);
    usleep(150000);
    t0 = t_now();
    t_control_ok("bus/restart", "{}");
    pthread_join(th, NULL);
    assert_true(h.returned - t0 < 1.0);
    assert_true(json_is_true(json_object_get(t_first(&h.r), "successful")));
    t_resp_free(&h.r);
    t_resp_t r = t_connect(cid);
    assert_string_equal(t_err(&r), "403::Unknown client");
    t_resp_free(&r);
    free(cid);
    cid = t_handshake();
    t_subscribe_ok(cid, "/event/Order_Event__e", first - 1);
    json_t *ev = t_events(cid, 2);
    assert_int_equal(json_array_size(ev), 2);
    assert_int_equal(t_replay(json_array_get(ev, 0)), first);
    json_decref(ev);
    /* delay: the next connect reply leaves 600 ms late, with its events. */
    t_control_ok("cometd/delay", "{\"ms\":600,\"next\":1}");
    t_publish("/event/Order_Event__e", 1, NULL, &last);
    t0 = t_now();
    r = t_connect(cid);
    double took = t_now() - t0;
    assert_true(took >= 0.55);
    assert_int_equal(json_array_size(r.json), 2);
    assert_int_equal(t_replay(json_array_get(r.json, 1)), last);
    t_resp_free(&r);
    t_publish("/event/Order_Event__e", 1, NULL, NULL);
    t0 = t_now();
    r = t_connect(cid); /* only the next one was delayed */
    assert_true(t_now() - t0 < 0.5);
    t_resp_free(&r);
    t_control_ok("cometd/timeouts", "{\"timeout_ms\":800}");
    free(cid);
}

static json_t *t_cdc_header(const json_t *ev)
{
    return json_object_get(json_object_get(json_object_get(ev, "data"), "payload"),
                           "ChangeEventHeader");
}

static void test_change_data_capture(void **state)
{
    (void)state;
    char *cid = t_handshake();
    t_subscribe_ok(cid, "/data/AccountChangeEvent", -1);
    t_subscribe_ok(cid, "/data/ChangeEvents", -1);
    t_resp_t r = t_api(&env, "POST", "/sobjects/Account", "{\"Name\":\"CDC One\",\"Phone\":\"1\"}");
    assert_int_equal(r.status, 201);
    char id[19];
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(r.json, "id")));
    t_resp_free(&r);
    r = t_apif(&env, "PATCH", "{\"Name\":\"CDC One renamed\",\"Phone\":null}",
               "/sobjects/Account/%s", id);
    assert_int_equal(r.status, 204);
    t_resp_free(&r);
    r = t_apif(&env, "DELETE", NULL, "/sobjects/Account/%s", id);
    assert_int_equal(r.status, 204);
    t_resp_free(&r);
    char body[100];
    snprintf(body, sizeof(body), "{\"ids\":[\"%s\"]}", id);
    t_control_ok("undelete", body);
    json_t *ev = t_events(cid, 8); /* 4 changes x 2 channels */
    assert_int_equal(json_array_size(ev), 8);
    static const char *const types[] = {"CREATE", "UPDATE", "DELETE", "UNDELETE"};
    size_t seen[2] = {0, 0};
    for (size_t i = 0; i < json_array_size(ev); i++) {
        json_t *e = json_array_get(ev, i);
        const char *ch = json_string_value(json_object_get(e, "channel"));
        int k = !strcmp(ch, "/data/AccountChangeEvent") ? 0 : 1;
        json_t *h = t_cdc_header(e);
        assert_string_equal(json_string_value(json_object_get(h, "changeType")), types[seen[k]]);
        assert_string_equal(json_string_value(json_object_get(h, "entityName")), "Account");
        assert_string_equal(json_string_value(json_array_get(json_object_get(h, "recordIds"), 0)),
                            id);
        assert_string_equal(json_string_value(json_object_get(h, "changeOrigin")),
                            "com/salesforce/api/rest/62.0");
        assert_int_equal(json_string_length(json_object_get(h, "transactionKey")), 36);
        assert_true(json_integer_value(json_object_get(h, "commitTimestamp")) > 1700000000000LL);
        assert_true(json_integer_value(json_object_get(h, "commitNumber")) > 0);
        assert_int_equal(json_integer_value(json_object_get(h, "sequenceNumber")), 1);
        assert_int_equal(json_string_length(json_object_get(h, "commitUser")), 18);
        assert_true(json_is_array(json_object_get(h, "nulledFields")));
        assert_true(json_is_array(json_object_get(h, "diffFields")));
        json_t *payload = json_object_get(json_object_get(e, "data"), "payload");
        if (seen[k] == 0) {
            assert_string_equal(json_string_value(json_object_get(payload, "Name")), "CDC One");
            const char *cd = json_string_value(json_object_get(payload, "CreatedDate"));
            assert_int_equal(cd[strlen(cd) - 1], 'Z');
        }
        if (seen[k] == 1) {
            t_shape("event_cdc_account_update.synthetic.json", e);
            char *changed = json_dumps(json_object_get(h, "changedFields"), JSON_COMPACT);
            assert_non_null(strstr(changed, "\"Name\""));
            assert_non_null(strstr(changed, "\"Phone\""));
            assert_non_null(strstr(changed, "\"LastModifiedDate\""));
            free(changed);
            assert_string_equal(
                json_string_value(json_array_get(json_object_get(h, "nulledFields"), 0)), "Phone");
            assert_string_equal(json_string_value(json_object_get(payload, "Name")),
                                "CDC One renamed");
        }
        seen[k]++;
    }
    json_decref(ev);
    /* Entity selection: Account deselected -> none of its changes are sent. */
    t_control_ok("cdc", "{\"entities\":[\"Contact\"]}");
    r = t_api(&env, "POST", "/sobjects/Account", "{\"Name\":\"not streamed\"}");
    t_resp_free(&r);
    r = t_api(&env, "POST", "/sobjects/Contact", "{\"LastName\":\"Streamed\"}");
    t_resp_free(&r);
    ev = t_events(cid, 1);
    assert_int_equal(json_array_size(ev), 1);
    assert_string_equal(
        json_string_value(json_object_get(t_cdc_header(json_array_get(ev, 0)), "entityName")),
        "Contact");
    json_decref(ev);
    r = t_connect(cid); /* and nothing else (held the timeout) */
    assert_int_equal(json_array_size(r.json), 1);
    t_resp_free(&r);
    t_control_ok("cdc", "{\"entities\":\"all\"}");
    /* Collections: one event per record, one transaction key; a rolled back
     * allOrNone call emits nothing. */
    r = t_api(
        &env, "POST", "/composite/sobjects",
        "{\"allOrNone\":true,\"records\":[{\"attributes\":{\"type\":\"Account\"},\"Name\":\"A\"},"
        "{\"attributes\":{\"type\":\"Account\"},\"Bogus__x\":1}]}");
    t_resp_free(&r);
    r = t_api(&env, "POST", "/composite/sobjects",
              "{\"records\":[{\"attributes\":{\"type\":\"Account\"},\"Name\":\"C1\"},"
              "{\"attributes\":{\"type\":\"Account\"},\"Name\":\"C2\"}]}");
    assert_int_equal(r.status, 200);
    t_resp_free(&r);
    ev = t_events(cid, 4);
    assert_int_equal(json_array_size(ev), 4);
    json_t *h0 = t_cdc_header(json_array_get(ev, 0));
    json_t *h1 = NULL;
    for (size_t i = 1; i < 4; i++)
        if (!strcmp(json_string_value(json_object_get(json_array_get(ev, i), "channel")),
                    json_string_value(json_object_get(json_array_get(ev, 0), "channel"))))
            h1 = t_cdc_header(json_array_get(ev, i));
    assert_non_null(h1);
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(json_array_get(ev, 0), "data"), "payload"), "Name")),
        "C1");
    assert_string_equal(json_string_value(json_object_get(h0, "transactionKey")),
                        json_string_value(json_object_get(h1, "transactionKey")));
    assert_int_equal(json_integer_value(json_object_get(h0, "sequenceNumber")), 1);
    assert_int_equal(json_integer_value(json_object_get(h1, "sequenceNumber")), 2);
    json_decref(ev);
    free(cid);
}

static void test_pushtopic_and_rest_platform_event(void **state)
{
    (void)state;
    t_resp_t r =
        t_api(&env, "POST", "/sobjects/PushTopic",
              "{\"Name\":\"AcmeAccounts\",\"Query\":\"SELECT Id, Name, Website FROM Account WHERE "
              "Name LIKE 'Acme%'\",\"ApiVersion\":62.0}");
    assert_int_equal(r.status, 201);
    t_resp_free(&r);
    char *cid = t_handshake();
    t_subscribe_ok(cid, "/topic/AcmeAccounts", -1);
    t_subscribe_ok(cid, "/event/Order_Event__e", -1);
    r = t_api(&env, "POST", "/sobjects/Account", "{\"Name\":\"Acme Rockets\"}");
    char id[19];
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(r.json, "id")));
    t_resp_free(&r);
    r = t_api(&env, "POST", "/sobjects/Account", "{\"Name\":\"Other Co\"}"); /* no match */
    t_resp_free(&r);
    r = t_apif(&env, "PATCH", "{\"Name\":\"Acme Rockets II\"}", "/sobjects/Account/%s", id);
    t_resp_free(&r);
    r = t_api(&env, "POST", "/sobjects/Order_Event__e",
              "{\"Order_Number__c\":\"R-1\",\"Amount__c\":2.5}");
    assert_int_equal(r.status, 201);
    t_resp_free(&r);
    json_t *ev = t_events(cid, 3);
    assert_int_equal(json_array_size(ev), 3);
    json_t *topic[2] = {NULL, NULL}, *pe = NULL;
    size_t nt = 0;
    for (size_t i = 0; i < 3; i++) {
        json_t *e = json_array_get(ev, i);
        if (!strcmp(json_string_value(json_object_get(e, "channel")), "/topic/AcmeAccounts"))
            topic[nt++ < 2 ? nt - 1 : 1] = e;
        else
            pe = e;
    }
    assert_int_equal(nt, 2);
    t_shape("event_pushtopic_created.sf_docs.json", topic[0]);
    json_t *e0 = json_object_get(json_object_get(topic[0], "data"), "event");
    json_t *e1 = json_object_get(json_object_get(topic[1], "data"), "event");
    assert_string_equal(json_string_value(json_object_get(e0, "type")), "created");
    assert_string_equal(json_string_value(json_object_get(e1, "type")), "updated");
    json_t *so = json_object_get(json_object_get(topic[1], "data"), "sobject");
    assert_string_equal(json_string_value(json_object_get(so, "Name")), "Acme Rockets II");
    assert_string_equal(json_string_value(json_object_get(so, "Id")), id);
    assert_null(json_object_get(so, "attributes"));
    assert_null(json_object_get(so, "Phone")); /* only the selected fields */
    assert_non_null(pe);
    t_shape("event_platform_event_low_ink.sf_docs.json", pe);
    json_t *payload = json_object_get(json_object_get(pe, "data"), "payload");
    assert_string_equal(json_string_value(json_object_get(payload, "Order_Number__c")), "R-1");
    assert_non_null(json_object_get(payload, "CreatedById"));
    json_decref(ev);
    free(cid);
}

static void test_retention_window(void **state)
{
    (void)state;
    long long first, last;
    t_publish("/event/Order_Event__e", 2, &first, &last);
    t_control_ok("events/retention", "{\"seconds\":1}");
    usleep(1300000); /* both events are now older than the window */
    t_resp_t r = t_control(&env, "GET", "events?channel=/event/Order_Event__e", NULL);
    assert_int_equal(json_integer_value(json_object_get(r.json, "count")), 0);
    assert_int_equal(json_integer_value(json_object_get(r.json, "first_replay_id")), last + 1);
    t_resp_free(&r);
    char *cid = t_handshake();
    r = t_subscribe(cid, "/event/Order_Event__e", first);
    assert_non_null(strstr(t_err(&r), "you provided was invalid."));
    t_resp_free(&r);
    t_subscribe_ok(cid, "/event/Order_Event__e", last); /* the newest id stays valid */
    t_control_ok("events/retention", "{\"hours\":72}");
    long long again;
    t_publish("/event/Order_Event__e", 1, &again, NULL);
    assert_int_equal(again, last + 1); /* ids go on */
    json_t *ev = t_events(cid, 1);
    assert_int_equal(t_replay(json_array_get(ev, 0)), again);
    json_decref(ev);
    free(cid);
}

/* Events per second from publish (control API, batches of 1000) to connect replies. */
static void test_throughput(void **state)
{
    (void)state;
    const int total = 20000;
    char *cid = t_handshake();
    t_subscribe_ok(cid, "/event/Order_Event__e", -1);
    double t0 = t_now();
    for (int i = 0; i < total / 1000; i++)
        t_publish("/event/Order_Event__e", 1000, NULL, NULL);
    double t1 = t_now();
    json_t *ev = t_events(cid, (size_t)total);
    double t2 = t_now();
    assert_int_equal(json_array_size(ev), (size_t)total);
    for (size_t i = 1; i < json_array_size(ev); i++)
        assert_int_equal(t_replay(json_array_get(ev, i)), t_replay(json_array_get(ev, i - 1)) + 1);
    printf("bus: %d events published in %.3f s (%.0f/s), delivered by connect in %.3f s "
           "(%.0f/s); publish -> last delivery %.0f events/s\n",
           total, t1 - t0, total / (t1 - t0), t2 - t1, total / (t2 - t1), total / (t2 - t0));
    json_decref(ev);
    free(cid);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_and_connect_shapes),
        cmocka_unit_test(test_replay_modes),
        cmocka_unit_test(test_wakeup_latency),
        cmocka_unit_test(test_error_strings),
        cmocka_unit_test(test_client_expiry),
        cmocka_unit_test(test_drop_restart_delay),
        cmocka_unit_test(test_change_data_capture),
        cmocka_unit_test(test_pushtopic_and_rest_platform_event),
        cmocka_unit_test(test_retention_window),
        cmocka_unit_test(test_throughput),
    };
    curl_global_init(CURL_GLOBAL_ALL);
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return rc;
}
