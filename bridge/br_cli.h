/*
 * br_cli.h - entry points of the sfbridge subcommands, called by main.c.
 *
 * Each takes the arguments after the subcommand name (argv[0] is the
 * subcommand itself, as getopt expects) and returns the process exit code:
 */
#ifndef BR_CLI_H
#define BR_CLI_H

#define BR_EXIT_OK      0 /* the work succeeded */
#define BR_EXIT_FAILURE 1 /* the work failed (a command is invalid, Salesforce said no, ...) */
#define BR_EXIT_USAGE   2 /* bad usage or bad configuration */

/* Set by main() when --log-level / --log-format were given: they win over the
 * config's log section (CLI state of the one process, not daemon state). */
extern int br_cli_log_level_given;
extern int br_cli_log_format_given;

/* sfbridge check -c FILE : load, validate and print the effective config (bridge/br_cli_check.c) */
int br_cli_check(int argc, char **argv);

/* sfbridge command validate [FILE|-] : check command messages (bridge/br_cli_command.c) */
int br_cli_command(int argc, char **argv);

/* sfbridge run -c FILE : the daemon (bridge/br_cli_run.c) */
int br_cli_run(int argc, char **argv);

/* sfbridge org -c FILE [--org NAME] info|versions|resources|limits|describe|query (br_cli_org.c) */
int br_cli_org(int argc, char **argv);

/* sfbridge login --org NAME -c FILE : web-server flow + PKCE, stores the refresh token
 * sfbridge logout --org NAME -c FILE : revokes and deletes it (bridge/br_cli_login.c) */
int br_cli_login(int argc, char **argv);
int br_cli_logout(int argc, char **argv);

#endif
