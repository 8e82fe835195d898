/*
 * fuzz_emu_router.c - libFuzzer target for sfemu's request router: the input
 * is "METHOD\nPATH[?QUERY]\nBODY" and goes straight to emu_route(), without
 * sockets, with a valid bearer token so the REST handlers behind the
 * authentication are reached too. The control API may be fuzzed as well; the
 * harness clears faults and restores the API allocation after each input and
 * resets the store now and then so memory stays bounded.
 */
#include "emu_int.h"
#include "sfb.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static emu_t *fuzz_emu;
static char fuzz_auth[2200];
static unsigned long fuzz_runs;

static void fuzz_token(void)
{
    static const char form[] = "grant_type=client_credentials&client_id=3MVG9sfemu.sfbridge."
                               "CONSUMERKEY&client_secret=sfemu-sfbridge-secret";
    emu_req_t req = {.method = "POST",
                     .path = "/services/oauth2/token",
                     .query = "",
                     .body = form,
                     .body_len = sizeof(form) - 1};
    emu_resp_t resp = {0};
    emu_route(fuzz_emu, &req, &resp);
    const char *tok = json_string_value(json_object_get(resp.json, "access_token"));
    snprintf(fuzz_auth, sizeof(fuzz_auth), "Bearer %s", tok ? tok : "none");
    emu_resp_clear(&resp);
}

static int fuzz_init(void)
{
    char err[256];
    emu_options_t opt;
    memset(&opt, 0, sizeof(opt));
    opt.api_limit = 1000000000;
    sfb_log_init(SFB_LOG_ERROR, SFB_LOG_FORMAT_TEXT, 2);
    fuzz_emu = emu_create(&opt, err, sizeof(err));
    if (!fuzz_emu || emu_server_offline(fuzz_emu, err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz_emu_router: %s\n", err);
        return -1;
    }
    fuzz_token();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fuzz_emu && fuzz_init() != 0)
        return 0;
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *method = buf;
    char *nl = memchr(buf, '\n', size);
    char root[2] = "/";
    char *target = nl ? nl + 1 : root;
    if (nl)
        *nl = '\0';
    char *nl2 = nl ? strchr(target, '\n') : NULL;
    const char *body = "";
    size_t body_len = 0;
    if (nl2) {
        *nl2 = '\0';
        body = nl2 + 1;
        body_len = size - (size_t)(body - buf);
    }
    char *q = strchr(target, '?');
    if (q)
        *q++ = '\0';
    emu_route_url_decode(target, false);
    emu_req_t req = {.method = method,
                     .path = target,
                     .query = q ? q : "",
                     .body = body,
                     .body_len = body_len,
                     .authorization = fuzz_auth,
                     .if_modified_since = "Mon, 1 Jan 2001 00:00:00 GMT",
                     .query_options = "batchSize=200"};
    emu_resp_t resp = {0};
    emu_route(fuzz_emu, &req, &resp);
    /* The response must always serialize. */
    if (resp.json) {
        char *text = json_dumps(resp.json, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!text)
            abort();
        free(text);
    }
    emu_resp_clear(&resp);
    bool control = strncmp(target, "/__sfemu", 8) == 0;
    free(buf);
    char err[256];
    emu_faults_clear(fuzz_emu->faults);
    emu_control_apply(fuzz_emu, "limits", "{\"daily_api_requests\":1000000000,\"used\":0}", err,
                      sizeof(err));
    if (++fuzz_runs % 2000 == 0)
        emu_control_apply(fuzz_emu, "reset", NULL, err, sizeof(err));
    if (control)
        fuzz_token();
    return 0;
}
