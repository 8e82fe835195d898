/*
 * main.c - the sfbridge command line: global options, then one subcommand.
 *
 * Only main() exits. Global options (before the subcommand) set up logging;
 * each subcommand parses its own options and has its own --help.
 */
#include "br_cli.h"
#include "sfb.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

int br_cli_log_level_given;
int br_cli_log_format_given;

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: sfbridge [GLOBAL OPTIONS] COMMAND [ARGS]\n"
            "\n"
            "sfbridge joins Apache Kafka and Salesforce for many orgs at once: it applies\n"
            "record-change commands from Kafka to Salesforce (sink), publishes Salesforce\n"
            "events and query results to Kafka (source), and answers questions about an org.\n"
            "\n"
            "Commands:\n"
            "  check -c FILE            validate a config file and print it, secrets redacted\n"
            "  command validate [FILE]  check command messages (one JSON per line, - = stdin)\n"
            "  run -c FILE              run the daemon\n"
            "  org -c FILE COMMAND      ask an org: info, versions, resources, limits,\n"
            "                           describe [SOBJECT], query [--all] SOQL\n"
            "  login --org NAME -c FILE log a person in (OAuth web-server flow)\n"
            "  logout --org NAME -c FILE revoke and forget the org's stored token\n"
            "\n"
            "Global options:\n"
            "  --log-level LEVEL        error, warn, info (default), debug\n"
            "  --log-format FORMAT      text (default) or json (one JSON object per line)\n"
            "  -h, --help               show this help\n"
            "  -V, --version            show the version\n"
            "\n"
            "Every command takes --help.\n"
            "\n"
            "Exit codes:\n"
            "  0  success\n"
            "  1  the work failed (an invalid command, an error from Salesforce or Kafka)\n"
            "  2  bad usage or bad configuration\n");
}

int main(int argc, char **argv)
{
    sfb_log_level_t level = SFB_LOG_INFO;
    sfb_log_format_t format = SFB_LOG_FORMAT_TEXT;

    static const struct option long_opts[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"log-level", required_argument, NULL, 'l'},
        {"log-format", required_argument, NULL, 'f'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    /* '+' stops at the first non-option: the subcommand owns the rest. */
    while ((opt = getopt_long(argc, argv, "+hV", long_opts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            usage(stdout);
            return BR_EXIT_OK;
        case 'V':
            printf("sfbridge %s\n", SFBRIDGE_VERSION);
            return BR_EXIT_OK;
        case 'l':
            br_cli_log_level_given = 1;
            if (sfb_log_level_parse(optarg, &level) != 0) {
                fprintf(stderr,
                        "sfbridge: --log-level: unknown level \"%s\" "
                        "(expected error, warn, info or debug)\n",
                        optarg);
                return BR_EXIT_USAGE;
            }
            break;
        case 'f':
            br_cli_log_format_given = 1;
            if (sfb_log_format_parse(optarg, &format) != 0) {
                fprintf(stderr,
                        "sfbridge: --log-format: unknown format \"%s\" "
                        "(expected text or json)\n",
                        optarg);
                return BR_EXIT_USAGE;
            }
            break;
        default:
            usage(stderr);
            return BR_EXIT_USAGE;
        }
    }
    sfb_log_init(level, format, 2);

    if (optind >= argc) {
        usage(stderr);
        return BR_EXIT_USAGE;
    }
    const char *cmd = argv[optind];
    int sub_argc = argc - optind;
    char **sub_argv = argv + optind;
    optind = 1; /* reset getopt for the subcommand */

    if (strcmp(cmd, "check") == 0)
        return br_cli_check(sub_argc, sub_argv);
    if (strcmp(cmd, "command") == 0)
        return br_cli_command(sub_argc, sub_argv);
    if (strcmp(cmd, "run") == 0)
        return br_cli_run(sub_argc, sub_argv);
    if (strcmp(cmd, "org") == 0)
        return br_cli_org(sub_argc, sub_argv);
    if (strcmp(cmd, "login") == 0)
        return br_cli_login(sub_argc, sub_argv);
    if (strcmp(cmd, "logout") == 0)
        return br_cli_logout(sub_argc, sub_argv);
    if (strcmp(cmd, "help") == 0) {
        usage(stdout);
        return BR_EXIT_OK;
    }
    fprintf(stderr, "sfbridge: unknown command \"%s\" (see sfbridge --help)\n", cmd);
    return BR_EXIT_USAGE;
}
