/*
 * bench_sfemu.c - how fast sfemu answers, so it is never the bottleneck of a
 * benchmark of sfbridge. Prints requests/s for a simple GET (one record by
 * id) and records/s through sObject Collections (POST /composite/sobjects,
 * 200 Accounts a call), using a libcurl multi client with keep-alive
 * connections against an in-process sfemu (or a running one).
 *
 *   bench_sfemu [--seconds S] [--connections N] [--threads T] [--url BASE] [--only get|coll]
 *
 * Client and server share the machine's cores, as they would in a test run.
 */
#include "emu.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

typedef struct bench_conn {
    CURL *easy;
    struct curl_slist *headers;
    size_t received;
} bench_conn_t;

static double bench_now(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static size_t bench_sink(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    ((bench_conn_t *)ud)->received += size * n;
    return size * n;
}

static void bench_setup(bench_conn_t *c, const char *url, const char *auth, const char *body)
{
    curl_easy_reset(c->easy);
    curl_easy_setopt(c->easy, CURLOPT_URL, url);
    curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, bench_sink);
    curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
    curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
    if (body) {
        curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    (void)auth;
}

/* Runs `conns` parallel keep-alive connections for `seconds`; returns requests done. */
static long bench_run(const char *url, const char *auth, const char *body, int conns,
                      double seconds, long *failures)
{
    CURLM *multi = curl_multi_init();
    bench_conn_t *cs = calloc((size_t)conns, sizeof(*cs));
    for (int i = 0; i < conns; i++) {
        cs[i].easy = curl_easy_init();
        cs[i].headers = curl_slist_append(NULL, auth);
        cs[i].headers = curl_slist_append(cs[i].headers, "Content-Type: application/json");
        cs[i].headers = curl_slist_append(cs[i].headers, "Expect:");
        bench_setup(&cs[i], url, auth, body);
        curl_multi_add_handle(multi, cs[i].easy);
    }
    long done = 0;
    *failures = 0;
    double end = bench_now() + seconds;
    int running = conns;
    while (running > 0) {
        curl_multi_perform(multi, &running);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(multi, &left)) != NULL) {
            if (m->msg != CURLMSG_DONE)
                continue;
            long code = 0;
            curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
            if (m->data.result != CURLE_OK || code >= 300)
                (*failures)++;
            done++;
            bench_conn_t *c = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
            curl_multi_remove_handle(multi, m->easy_handle);
            if (bench_now() < end) {
                bench_setup(c, url, auth, body); /* reuses the connection */
                curl_multi_add_handle(multi, c->easy);
                running++;
            }
        }
        if (running > 0)
            curl_multi_poll(multi, NULL, 0, 100, NULL);
    }
    for (int i = 0; i < conns; i++) {
        curl_easy_cleanup(cs[i].easy);
        curl_slist_free_all(cs[i].headers);
    }
    free(cs);
    curl_multi_cleanup(multi);
    return done;
}

static int bench_token(const char *base, char *auth, size_t auth_size)
{
    char url[512];
    snprintf(url, sizeof(url), "%s/services/oauth2/token", base);
    bench_conn_t c = {.easy = curl_easy_init()};
    char *resp = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&resp, &len);
    curl_easy_setopt(c.easy, CURLOPT_URL, url);
    curl_easy_setopt(c.easy, CURLOPT_POSTFIELDS,
                     "grant_type=client_credentials&client_id=3MVG9sfemu.sfbridge.CONSUMERKEY"
                     "&client_secret=sfemu-sfbridge-secret");
    curl_easy_setopt(c.easy, CURLOPT_WRITEDATA, mem);
    CURLcode rc = curl_easy_perform(c.easy);
    fclose(mem);
    curl_easy_cleanup(c.easy);
    json_t *j = rc == CURLE_OK ? json_loadb(resp, len, 0, NULL) : NULL;
    const char *tok = json_string_value(json_object_get(j, "access_token"));
    if (tok)
        snprintf(auth, auth_size, "Authorization: Bearer %s", tok);
    json_decref(j);
    free(resp);
    return tok ? 0 : -1;
}

int main(int argc, char **argv)
{
    double seconds = 5;
    int conns = 16, threads = 4;
    const char *url_arg = NULL, *only = "";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--seconds"))
            seconds = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--connections"))
            conns = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads"))
            threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--url"))
            url_arg = argv[i + 1];
        else if (!strcmp(argv[i], "--only"))
            only = argv[i + 1];
    }
    curl_global_init(CURL_GLOBAL_ALL);
    emu_t *emu = NULL;
    char base[256], err[256];
    if (url_arg) {
        snprintf(base, sizeof(base), "%s", url_arg);
    } else {
        emu_options_t opt = {.api_limit = 1000000000L, .threads = threads};
        emu = emu_create(&opt, err, sizeof(err));
        if (!emu || emu_start(emu, err, sizeof(err)) != 0) {
            fprintf(stderr, "bench_sfemu: %s\n", err);
            return 1;
        }
        snprintf(base, sizeof(base), "%s", emu_base_url(emu));
    }
    char auth[2200];
    if (bench_token(base, auth, sizeof(auth)) != 0) {
        fprintf(stderr, "bench_sfemu: no token from %s\n", base);
        return 1;
    }
    /* one record to read back */
    char url[512], id[19] = "";
    snprintf(url, sizeof(url), "%s/services/data/v62.0/sobjects/Account", base);
    {
        CURL *e = curl_easy_init();
        struct curl_slist *h = curl_slist_append(NULL, auth);
        h = curl_slist_append(h, "Content-Type: application/json");
        char *resp = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&resp, &len);
        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, "{\"Name\":\"Bench\"}");
        curl_easy_setopt(e, CURLOPT_WRITEDATA, mem);
        curl_easy_perform(e);
        fclose(mem);
        json_t *j = json_loadb(resp, len, 0, NULL);
        snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(j, "id")) ?: "");
        json_decref(j);
        free(resp);
        curl_slist_free_all(h);
        curl_easy_cleanup(e);
    }
    long failures = 0;
    snprintf(url, sizeof(url), "%s/services/data/v62.0/sobjects/Account/%s", base, id);
    double t0 = bench_now(), dt;
    long n = 0;
    if (strcmp(only, "coll") != 0) {
        n = bench_run(url, auth, NULL, conns, seconds, &failures);
        dt = bench_now() - t0;
        printf("GET /sobjects/Account/{id}: %ld requests in %.2f s = %.0f requests/s "
               "(%d connections, %ld failed)\n",
               n, dt, (double)n / dt, conns, failures);
    }
    if (!strcmp(only, "get"))
        goto done;
    json_t *records = json_array();
    for (int i = 0; i < 200; i++)
        json_array_append_new(records, json_pack("{s:{s:s},s:s,s:s,s:i}", "attributes", "type",
                                                 "Account", "Name", "Bench record", "Industry",
                                                 "Banking", "NumberOfEmployees", i));
    json_t *body = json_pack("{s:b,s:o}", "allOrNone", 0, "records", records);
    char *text = json_dumps(body, JSON_COMPACT);
    snprintf(url, sizeof(url), "%s/services/data/v62.0/composite/sobjects", base);
    int coll_conns = conns < 8 ? conns : 8;
    t0 = bench_now();
    n = bench_run(url, auth, text, coll_conns, seconds, &failures);
    dt = bench_now() - t0;
    printf("POST /composite/sobjects (200 records): %ld calls in %.2f s = %.0f records/s "
           "(%d connections, %ld failed)\n",
           n, dt, (double)n * 200 / dt, coll_conns, failures);
    free(text);
    json_decref(body);
done:
    emu_destroy(emu);
    curl_global_cleanup();
    return failures ? 1 : 0;
}
