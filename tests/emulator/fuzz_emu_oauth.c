/*
 * fuzz_emu_oauth.c - libFuzzer target for what sfemu's OAuth module parses
 * from the network: form bodies and query strings, Authorization headers
 * (Basic, Bearer), identity paths and JWT assertions.
 *
 * Input layout: byte 0 picks the handler, then an Authorization header up to
 * the first '\n', then the body. Every input also goes through the token
 * endpoint. The body is handed over in a buffer of exactly its length (no NUL)
 * so ASan sees any read past it; strings the API takes NUL-terminated are
 * copied. The org comes from data/org.json next to this source file (or the
 * file named by EMU_ORG_JSON), so the corpus can hold valid client
 * credentials and reach the grants' logic.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_oauth_int.h"
#include "sfb.h"

static emu_oauth_t *oauth;

static emu_oauth_t *fuzz_oauth(void)
{
    if (oauth)
        return oauth;
    /* CMake compiles with absolute paths, so __FILE__ finds the data; EMU_ORG_JSON overrides. */
    char path[4096];
    const char *slash = strrchr(__FILE__, '/');
    if (getenv("EMU_ORG_JSON"))
        snprintf(path, sizeof(path), "%s", getenv("EMU_ORG_JSON"));
    else
        snprintf(path, sizeof(path), "%.*s/data/org.json", slash ? (int)(slash - __FILE__) : 1,
                 slash ? __FILE__ : ".");
    sfb_log_init(SFB_LOG_ERROR, SFB_LOG_FORMAT_TEXT, 2); /* refusals log at INFO */
    json_error_t je;
    json_t *org = json_load_file(path, 0, &je);
    char err[256];
    oauth = org ? emu_oauth_create(org, "http://127.0.0.1:1", 0, err, sizeof(err)) : NULL;
    json_decref(org);
    if (!oauth) {
        fprintf(stderr, "fuzz_emu_oauth: cannot load %s\n", path);
        abort(); /* a fuzzer without its org would only test the error path */
    }
    return oauth;
}

static char *cstr(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    emu_oauth_t *o = fuzz_oauth();
    if (size < 1)
        return 0;
    uint8_t selector = data[0];
    data++;
    size--;
    const uint8_t *nl = memchr(data, '\n', size);
    size_t hlen = nl ? (size_t)(nl - data) : 0;
    char *header = nl ? cstr(data, hlen) : NULL;
    size_t blen = nl ? size - hlen - 1 : size;
    char *body = malloc(blen ? blen : 1);
    memcpy(body, nl ? nl + 1 : data, blen);
    char *body_str = cstr((const uint8_t *)body, blen);
    emu_reply_t r = {0};

    emu_oauth_token(o, body, blen, header, &r);
    emu_reply_clear(&r);

    switch (selector % 8) {
    case 0:
        emu_oauth_authorize(o, "GET", body_str, NULL, 0, &r);
        break;
    case 1:
        emu_oauth_authorize(o, "POST", NULL, body, blen, &r);
        break;
    case 2:
        emu_oauth_revoke(o, selector & 8 ? "POST" : "GET", body_str, body, blen, &r);
        break;
    case 3:
        emu_oauth_introspect(o, body, blen, header, &r);
        break;
    case 4:
        emu_oauth_identity(o, body_str, header, &r);
        break;
    case 5:
        emu_oauth_userinfo(o, header, &r);
        emu_oauth_check_bearer(o, header, NULL);
        break;
    case 6: {
        /* The body is a raw assertion: parse, read the time claims, verify with the app's key. */
        emu_jwt_t jwt;
        char err[128];
        int64_t t;
        if (emu_jwt_parse(body, blen, &jwt, err, sizeof(err)) == 0) {
            emu_jwt_claim_time(jwt.claims, "exp", &t);
            emu_jwt_claim_time(jwt.claims, "nbf", &t);
            emu_jwt_verify_rs256(&jwt, o->apps[1].pkey, err, sizeof(err));
            emu_jwt_clear(&jwt);
        }
        break;
    }
    default: {
        size_t n = 0;
        free(emu_b64_decode(body, blen, selector & 8, &n));
        break;
    }
    }
    emu_reply_clear(&r);
    /* Keep inputs independent and the table small: a corpus entry with valid credentials
     * would otherwise fill it to EMU_OAUTH_MAX_SESSIONS. */
    emu_oauth_expire_all_sessions(o);
    free(header);
    free(body);
    free(body_str);
    return 0;
}
