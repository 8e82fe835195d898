/* br_cli_run.c - `sfbridge run -c FILE`: the daemon (the sink, for now). */
#include "br_cli.h"
#include "br_config.h"
#include "br_sink.h"

#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sfb.h"

static volatile sig_atomic_t stop_requested;

/* First signal: drain and stop. Second: exit at once (async-signal-safe). */
static void on_signal(int sig)
{
    (void)sig;
    if (stop_requested) {
        static const char msg[] = "sfbridge: second signal, exiting now\n";
        ssize_t w = write(2, msg, sizeof(msg) - 1);
        (void)w;
        _exit(BR_EXIT_FAILURE);
    }
    stop_requested = 1;
}

/*
 * glibc gives each thread that allocates its own malloc arena, up to 8 per
 * core, and an arena keeps what its threads freed. The daemon runs 4 org
 * workers per org plus librdkafka's threads, all allocating request and
 * response buffers in bursts, so every arena grows to its own high-water
 * mark. Two arenas measured 35 MB instead of 41 MB peak RSS with 10 orgs
 * (tests/bench/sink_bench.sh, rss10) at the same throughput and CPU.
 * MALLOC_ARENA_MAX in the environment still decides.
 */
static void limit_malloc_arenas(void)
{
#if defined(__GLIBC__) && defined(M_ARENA_MAX)
    if (!getenv("MALLOC_ARENA_MAX"))
        mallopt(M_ARENA_MAX, 2);
#endif
}

static void usage(FILE *out)
{
    fprintf(out, "Usage: sfbridge run -c FILE\n"
                 "\n"
                 "Runs the daemon: joins the consumer group of sink.command_topic, applies each\n"
                 "command to the org its partition belongs to (sink.partitions) in sObject\n"
                 "Collections batches, writes one result per command to sink.result_topic and\n"
                 "what is not a command to sink.dead_letter_topic. Offsets are committed only\n"
                 "once every command up to them has its result acknowledged by Kafka.\n"
                 "\n"
                 "With kafka.embedded = true it runs librdkafka's mock cluster in-process and\n"
                 "prints `embedded kafka bootstrap HOST:PORT` on stdout.\n"
                 "\n"
                 "SIGTERM or SIGINT: stop fetching, finish batches in flight, deliver their\n"
                 "results, commit and leave the group. A second signal exits at once.\n"
                 "\n"
                 "Options:\n"
                 "  -c, --config FILE   the config file (see deploy/sfbridge.example.conf)\n"
                 "  -h, --help          this help\n"
                 "\n"
                 "Exit codes: 0 stopped cleanly, 1 a fatal error, 2 bad usage or config.\n");
}

int br_cli_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *path = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 'h':
            usage(stdout);
            return BR_EXIT_OK;
        default:
            usage(stderr);
            return BR_EXIT_USAGE;
        }
    }
    if (!path || optind != argc) {
        usage(stderr);
        return BR_EXIT_USAGE;
    }

    char errstr[1024];
    br_config_t *config = br_config_load(path, errstr, sizeof(errstr));
    if (config && br_config_require_kafka(config, errstr, sizeof(errstr)) != 0) {
        br_config_destroy(config);
        config = NULL;
    }
    if (!config) {
        fprintf(stderr, "sfbridge run: %s\n", errstr);
        return BR_EXIT_USAGE;
    }
    /* The config's log section is the default; --log-level/--log-format win. */
    sfb_log_init(br_cli_log_level_given ? sfb_log_level() : config->log.level,
                 br_cli_log_format_given ? sfb_log_format() : config->log.format, 2);
    for (size_t i = 0; i < config->warnings_count; i++)
        SFB_WARN("config", "%s", config->warnings[i]);

    limit_malloc_arenas(); /* before any thread starts */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rc = br_sink_run(config, &stop_requested, errstr, sizeof(errstr));
    if (rc != 0)
        SFB_ERROR("sink", "%s", errstr);
    br_config_destroy(config);
    return rc == 0 ? BR_EXIT_OK : BR_EXIT_FAILURE;
}
