/* br_cli_run.c - `sfbridge run`: the daemon. The sink is issue #5; until it lands
 * this validates the config and says plainly that running is not available yet. */
#include "br_cli.h"

#include <stdio.h>
#include <string.h>

int br_cli_run(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            printf("Usage: sfbridge run -c FILE\n\n"
                   "Runs the daemon: joins the consumer group of the command topic and applies\n"
                   "commands to Salesforce (not yet available in this build).\n");
            return BR_EXIT_OK;
        }
    }
    fprintf(stderr, "sfbridge run: not yet: the sink has not landed in this build "
                    "(use `sfbridge check -c FILE` to validate a config)\n");
    return BR_EXIT_FAILURE;
}
