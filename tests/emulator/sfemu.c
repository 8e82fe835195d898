/*
 * sfemu.c - an offline Salesforce org for tests and the quickstart.
 * See usage() for the flags and emu_control.c for the control API.
 */
#include "emu.h"
#include "sfb.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t sfemu_stop;

static void sfemu_on_signal(int sig)
{
    (void)sig;
    sfemu_stop = 1;
}

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: sfemu --port N [options]\n"
        "\n"
        "An offline Salesforce org: OAuth 2.0 token endpoint and identity, REST API v%d.0 to\n"
        "v%d.0 (versions, resources, limits, describe, sObject CRUD and upsert, SOQL query\n"
        "with paging, composite, composite/batch, composite/tree, sObject Collections),\n"
        "the Streaming API (CometD: platform events, Change Data Capture, PushTopic),\n"
        "API call accounting and a control API for tests.\n"
        "\n"
        "  --port N            TCP port; 0 picks a free one. Prints\n"
        "                      \"sfemu listening on http://127.0.0.1:PORT\" once ready.\n"
        "  --bind ADDR         IPv4 address to listen on (default 127.0.0.1)\n"
        "  --data PATH         data directory (schema.json, org.json, optional records.json)\n"
        "                      or one JSON file with any of the sections \"sobjects\", \"org\",\n"
        "                      \"users\", \"connected_apps\", \"records\" (default: shipped data)\n"
        "  --tls-cert FILE     PEM certificate: serve https (with --tls-key)\n"
        "  --tls-key FILE      PEM private key\n"
        "  --token-ttl S       access-token lifetime in seconds (default 7200)\n"
        "  --api-limit N       DailyApiRequests allocation (default 15000)\n"
        "  --threads N         ignored: one thread per connection (held CometD connects)\n"
        "  --cometd-timeout-ms N   how long /meta/connect is held (default 110000)\n"
        "  --cometd-client-expiry-ms N  a CometD client silent this long expires (default 40000)\n"
        "  --event-retention-hours H  events kept this long (default 72)\n"
        "  --event-max-per-channel N  events kept per channel, oldest leave first (default 50000)\n"
        "  --cdc-entities L    objects with change events: all (default), none, or "
        "Account,Contact\n"
        "  --records FILE      load records: {\"Account\":[{...}],...} (as POST /__sfemu/records)\n"
        "  --faults JSON       faults at start-up (as POST /__sfemu/faults), e.g.\n"
        "                      '{\"error\":{\"status\":503,\"errorCode\":\"SERVER_UNAVAILABLE\","
        "\"rate\":0.1}}'\n"
        "  --latency-ms N      add N ms to every response (faults latency.fixed_ms)\n"
        "  --log-level L       error|warn|info|debug (default info, on stderr)\n"
        "  --help              this text\n"
        "\n"
        "Control API (no auth, JSON in and out):\n"
        "  GET    /__sfemu/                  list of endpoints\n"
        "  POST   /__sfemu/reset             records back to the loaded data; counters,\n"
        "                                    query locators, faults and API usage cleared\n"
        "  POST   /__sfemu/records           {\"Account\":[{..}]} insert records (Id and\n"
        "                                    system fields may be given) -> ids\n"
        "  GET    /__sfemu/counters          API calls by resource, records by object\n"
        "  POST   /__sfemu/counters/reset    zero the API call counters and usage\n"
        "  GET    /__sfemu/faults            current faults\n"
        "  POST   /__sfemu/faults            set faults, any of:\n"
        "           \"latency\":{\"fixed_ms\":N,\"random_ms\":M}\n"
        "           \"error\":{\"status\":503,\"errorCode\":\"SERVER_UNAVAILABLE\"|\n"
        "                    \"UNABLE_TO_LOCK_ROW\"|\"REQUEST_LIMIT_EXCEEDED\",\"message\":..,\n"
        "                    \"rate\":0..1 | \"next\":N}\n"
        "           \"body\":{\"mode\":\"truncate\"|\"malformed\",\"rate\"|\"next\"}\n"
        "           \"drop\":{\"rate\"|\"next\"}   close the connection without answering\n"
        "         each may carry \"path_prefix\":\"/services/data\" to limit it\n"
        "  DELETE /__sfemu/faults            clear all faults\n"
        "  POST   /__sfemu/sessions/expire   every access token becomes invalid now\n"
        "  POST   /__sfemu/token-ttl         {\"seconds\":N}\n"
        "  GET    /__sfemu/limits            {\"daily_api_requests\":max,\"used\":n}\n"
        "  POST   /__sfemu/limits            set either value\n"
        "  POST   /__sfemu/undelete          {\"ids\":[..]} restore deleted records\n"
        "Streaming API (/cometd/XX.X, see tests/emulator/STREAMING.md):\n"
        "  POST   /__sfemu/events/publish    {\"channel\":\"/event/X__e\",\"count\":N} or\n"
        "                                    {\"channel\":..,\"payloads\":[..]} -> replay_ids\n"
        "  GET    /__sfemu/events?channel=X  first/last replay id and count retained\n"
        "  POST   /__sfemu/events/expire     {\"channel\"?,\"through_replay_id\"?} leave "
        "retention\n"
        "  POST   /__sfemu/events/retention  {\"hours\":H} or {\"seconds\":S}\n"
        "  POST   /__sfemu/cometd/drop       forget every CometD client\n"
        "  POST   /__sfemu/bus/restart       forget clients, answer held connects; keep events\n"
        "  POST   /__sfemu/cometd/delay      {\"ms\":N,\"next\":K} delay the next K connect "
        "replies\n"
        "  POST   /__sfemu/cometd/timeouts   {\"timeout_ms\":N,\"expiry_ms\":M}\n"
        "  POST   /__sfemu/cdc               {\"entities\":\"all\"|\"none\"|[\"Account\",..]}\n",
        31, 62);
}

static char *sfemu_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (len + 1 == cap) {
            char *b = realloc(buf, cap * 2);
            if (!b) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = b;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

int main(int argc, char **argv)
{
    enum {
        OPT_PORT = 1000,
        OPT_BIND,
        OPT_DATA,
        OPT_CERT,
        OPT_KEY,
        OPT_TTL,
        OPT_LIMIT,
        OPT_THREADS,
        OPT_RECORDS,
        OPT_FAULTS,
        OPT_LATENCY,
        OPT_LOG,
        OPT_COMETD_TIMEOUT,
        OPT_COMETD_EXPIRY,
        OPT_RETENTION,
        OPT_MAX_EVENTS,
        OPT_CDC,
        OPT_HELP
    };
    static const struct option longopts[] = {
        {"port", required_argument, NULL, OPT_PORT},
        {"bind", required_argument, NULL, OPT_BIND},
        {"data", required_argument, NULL, OPT_DATA},
        {"tls-cert", required_argument, NULL, OPT_CERT},
        {"tls-key", required_argument, NULL, OPT_KEY},
        {"token-ttl", required_argument, NULL, OPT_TTL},
        {"api-limit", required_argument, NULL, OPT_LIMIT},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"records", required_argument, NULL, OPT_RECORDS},
        {"faults", required_argument, NULL, OPT_FAULTS},
        {"latency-ms", required_argument, NULL, OPT_LATENCY},
        {"log-level", required_argument, NULL, OPT_LOG},
        {"cometd-timeout-ms", required_argument, NULL, OPT_COMETD_TIMEOUT},
        {"cometd-client-expiry-ms", required_argument, NULL, OPT_COMETD_EXPIRY},
        {"event-retention-hours", required_argument, NULL, OPT_RETENTION},
        {"event-max-per-channel", required_argument, NULL, OPT_MAX_EVENTS},
        {"cdc-entities", required_argument, NULL, OPT_CDC},
        {"help", no_argument, NULL, OPT_HELP},
        {NULL, 0, NULL, 0},
    };
    emu_options_t opt;
    memset(&opt, 0, sizeof(opt));
    opt.port = -1;
    const char *records = NULL, *faults = NULL, *cdc = NULL;
    long latency = -1;
    sfb_log_level_t level = SFB_LOG_INFO;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case OPT_PORT:
            opt.port = (int)strtol(optarg, &end, 10);
            if (*end || opt.port < 0 || opt.port > 65535) {
                fprintf(stderr, "sfemu: --port wants 0..65535\n");
                return 2;
            }
            break;
        case OPT_BIND:
            opt.bind = optarg;
            break;
        case OPT_DATA:
            opt.data = optarg;
            break;
        case OPT_CERT:
            opt.tls_cert = optarg;
            break;
        case OPT_KEY:
            opt.tls_key = optarg;
            break;
        case OPT_TTL:
            opt.token_ttl = atoi(optarg);
            break;
        case OPT_LIMIT:
            opt.api_limit = atol(optarg);
            break;
        case OPT_THREADS:
            opt.threads = atoi(optarg);
            break;
        case OPT_RECORDS:
            records = optarg;
            break;
        case OPT_FAULTS:
            faults = optarg;
            break;
        case OPT_LATENCY:
            latency = atol(optarg);
            break;
        case OPT_LOG:
            if (sfb_log_level_parse(optarg, &level) != 0) {
                fprintf(stderr, "sfemu: --log-level wants error|warn|info|debug\n");
                return 2;
            }
            break;
        case OPT_COMETD_TIMEOUT:
        case OPT_COMETD_EXPIRY:
        case OPT_RETENTION:
        case OPT_MAX_EVENTS: {
            long v = strtol(optarg, &end, 10);
            if (*end || v <= 0 || v > 1000000000L) {
                fprintf(stderr, "sfemu: a positive number expected, not %s\n", optarg);
                return 2;
            }
            if (c == OPT_COMETD_TIMEOUT)
                opt.cometd_timeout_ms = (int)v;
            else if (c == OPT_COMETD_EXPIRY)
                opt.cometd_client_expiry_ms = (int)v;
            else if (c == OPT_RETENTION)
                opt.event_retention_hours = v;
            else
                opt.event_max_per_channel = v;
            break;
        }
        case OPT_CDC:
            cdc = optarg;
            break;
        case OPT_HELP:
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (opt.port < 0 || optind < argc) {
        usage(stderr);
        return 2;
    }
    sfb_log_init(level, SFB_LOG_FORMAT_TEXT, 2);
    char err[512];
    int rc = 1;
    emu_t *emu = emu_create(&opt, err, sizeof(err));
    if (!emu) {
        fprintf(stderr, "sfemu: %s\n", err);
        return 1;
    }
    if (records) {
        char *text = sfemu_slurp(records);
        if (!text || emu_control_apply(emu, "records", text, err, sizeof(err)) != 0) {
            fprintf(stderr, "sfemu: --records %s: %s\n", records, text ? err : "cannot read");
            free(text);
            goto done;
        }
        free(text);
    }
    if (cdc) {
        /* "all" | "none" | "Account,Contact" -> {"entities": ...} */
        char spec[2048];
        size_t len = 0;
        if (!strcmp(cdc, "all") || !strcmp(cdc, "none"))
            snprintf(spec, sizeof(spec), "{\"entities\":\"%s\"}", cdc);
        else {
            len = (size_t)snprintf(spec, sizeof(spec), "{\"entities\":[\"");
            for (const char *ch = cdc; *ch && len + 8 < sizeof(spec); ch++) {
                if (*ch == ',')
                    len += (size_t)snprintf(spec + len, sizeof(spec) - len, "\",\"");
                else if (*ch != '"' && *ch != '\\')
                    spec[len++] = *ch;
            }
            snprintf(spec + len, sizeof(spec) - len, "\"]}");
        }
        if (emu_control_apply(emu, "cdc", spec, err, sizeof(err)) != 0) {
            fprintf(stderr, "sfemu: --cdc-entities: %s\n", err);
            goto done;
        }
    }
    if (faults && emu_control_apply(emu, "faults", faults, err, sizeof(err)) != 0) {
        fprintf(stderr, "sfemu: --faults: %s\n", err);
        goto done;
    }
    if (latency >= 0) {
        char spec[96];
        snprintf(spec, sizeof(spec), "{\"latency\":{\"fixed_ms\":%ld}}", latency);
        if (emu_control_apply(emu, "faults", spec, err, sizeof(err)) != 0) {
            fprintf(stderr, "sfemu: --latency-ms: %s\n", err);
            goto done;
        }
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = sfemu_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* Block the stop signals before the server threads exist (they inherit
     * the mask), so only sigsuspend() below receives them: no lost wake-up. */
    sigset_t stop_set, old_set;
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGINT);
    sigaddset(&stop_set, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop_set, &old_set);
    if (emu_start(emu, err, sizeof(err)) != 0) {
        fprintf(stderr, "sfemu: %s\n", err);
        goto done;
    }
    printf("sfemu listening on %s\n", emu_base_url(emu));
    fflush(stdout);
    while (!sfemu_stop)
        sigsuspend(&old_set);
    SFB_INFO("emu", "stopping");
    rc = 0;
done:
    emu_destroy(emu);
    return rc;
}
