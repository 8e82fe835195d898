/*
 * fuzz_emu_cometd.c - libFuzzer target for sfemu's Bayeux endpoint: the
 * input is the body of a POST /cometd/62.0 with a valid session. Every "@c"
 * in it becomes the id of a live client the harness made (handshake, one
 * subscription, events on the bus), so connect, subscribe and unsubscribe
 * reach their real paths, not only "Unknown client". Connects are held 1 ms.
 * The reply must be JSON (or a short text error) whatever the input.
 */
#include "emu_cometd.h"
#include "sfb.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static emu_t *fuzz_emu;
static char fuzz_auth[2200];
static char fuzz_cid[64];
static unsigned long fuzz_runs;

static void fuzz_call(const char *path, const char *body, size_t len, emu_resp_t *resp)
{
    emu_req_t req = {.method = "POST",
                     .path = path,
                     .query = "",
                     .body = body,
                     .body_len = len,
                     .authorization = fuzz_auth};
    emu_route(fuzz_emu, &req, resp);
}

/* A fresh client subscribed to the platform event channel from the start. */
static void fuzz_client(void)
{
    static const char hs[] = "[{\"channel\":\"/meta/handshake\",\"supportedConnectionTypes\":"
                             "[\"long-polling\"]}]";
    emu_resp_t resp = {0};
    fuzz_call("/cometd/62.0", hs, sizeof(hs) - 1, &resp);
    json_t *r = resp.text ? json_loads(resp.text, 0, NULL) : NULL;
    snprintf(fuzz_cid, sizeof(fuzz_cid), "%s",
             json_string_value(json_object_get(json_array_get(r, 0), "clientId"))
                 ? json_string_value(json_object_get(json_array_get(r, 0), "clientId"))
                 : "none");
    json_decref(r);
    emu_resp_clear(&resp);
    char sub[256];
    int n =
        snprintf(sub, sizeof(sub),
                 "[{\"channel\":\"/meta/subscribe\",\"clientId\":\"%s\",\"subscription\":"
                 "\"/event/Order_Event__e\",\"ext\":{\"replay\":{\"/event/Order_Event__e\":-2}}}]",
                 fuzz_cid);
    memset(&resp, 0, sizeof(resp));
    fuzz_call("/cometd/62.0", sub, (size_t)n, &resp);
    emu_resp_clear(&resp);
}

static int fuzz_init(void)
{
    char err[256];
    emu_options_t opt;
    memset(&opt, 0, sizeof(opt));
    opt.cometd_timeout_ms = 1;
    opt.event_max_per_channel = 1000;
    sfb_log_init(SFB_LOG_ERROR, SFB_LOG_FORMAT_TEXT, 2);
    fuzz_emu = emu_create(&opt, err, sizeof(err));
    if (!fuzz_emu || emu_server_offline(fuzz_emu, err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz_emu_cometd: %s\n", err);
        return -1;
    }
    static const char form[] = "grant_type=client_credentials&client_id=3MVG9sfemu.sfbridge."
                               "CONSUMERKEY&client_secret=sfemu-sfbridge-secret";
    emu_resp_t resp = {0};
    fuzz_call("/services/oauth2/token", form, sizeof(form) - 1, &resp);
    const char *tok = json_string_value(json_object_get(resp.json, "access_token"));
    snprintf(fuzz_auth, sizeof(fuzz_auth), "Bearer %s", tok ? tok : "none");
    emu_resp_clear(&resp);
    return emu_control_apply(fuzz_emu, "events/publish",
                             "{\"channel\":\"/event/Order_Event__e\",\"count\":3}", err,
                             sizeof(err));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fuzz_emu && fuzz_init() != 0)
        return 0;
    if (!fuzz_cid[0] || fuzz_runs % 500 == 0)
        fuzz_client(); /* the input may have disconnected it */
    fuzz_runs++;
    /* Substitute "@c" with the live client id (at most 27 bytes for 2). */
    size_t cap = size * 16 + 1;
    char *body = malloc(cap);
    if (!body)
        return 0;
    size_t len = 0, cid_len = strlen(fuzz_cid);
    for (size_t i = 0; i < size; i++) {
        if (i + 1 < size && data[i] == '@' && data[i + 1] == 'c') {
            memcpy(body + len, fuzz_cid, cid_len);
            len += cid_len;
            i++;
        } else {
            body[len++] = (char)data[i];
        }
    }
    body[len] = '\0';
    emu_resp_t resp = {0};
    fuzz_call("/cometd/62.0", body, len, &resp);
    if (resp.status == 200) {
        /* A Bayeux reply is always a JSON array. */
        json_t *r = resp.text ? json_loads(resp.text, 0, NULL) : NULL;
        if (!json_is_array(r))
            abort();
        json_decref(r);
    } else if (!resp.text && !resp.json) {
        abort();
    }
    emu_resp_clear(&resp);
    free(body);
    if (fuzz_runs % 5000 == 0) {
        char err[256];
        emu_control_apply(fuzz_emu, "cometd/drop", "{}", err, sizeof(err));
        fuzz_cid[0] = '\0';
    }
    return 0;
}
