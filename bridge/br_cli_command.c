/*
 * br_cli_command.c - `sfbridge command validate [FILE|-]`: lets producers check
 * their messages with the very parser the sink uses (br_command_parse).
 *
 * Input format: JSON Lines, one command per line; blank lines are skipped.
 * A single pretty-printed command spanning lines is also accepted: when the
 * first non-blank line opens more brackets than it closes (it cannot be a
 * command on its own), the whole input is read as one command. --whole forces
 * that reading. Each command gets one line on stdout: "ok" or
 * "line N: <reason>" (N is the line the command starts on).
 */
#include "br_cli.h"
#include "br_command.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --max-bytes above this is surely a typo; the sink's own bound is its config's business. */
#define MAX_BYTES_CEILING ((size_t)1 << 30)

static void usage_command(FILE *out)
{
    fprintf(out, "Usage: sfbridge command SUBCOMMAND [ARGS]\n"
                 "\n"
                 "Subcommands:\n"
                 "  validate   check command messages against command.v1 (schemas/)\n"
                 "\n"
                 "See sfbridge command validate --help.\n");
}

static void usage_validate(FILE *out)
{
    fprintf(out,
            "Usage: sfbridge command validate [OPTIONS] [FILE|-]\n"
            "\n"
            "Checks command messages with the parser sfbridge's sink uses, and prints one\n"
            "line per command: \"ok\" or \"line N: <reason>\" (N: the line it starts on).\n"
            "Reads FILE, or standard input when FILE is - or absent.\n"
            "\n"
            "Input: one command per line (JSON Lines; blank lines are skipped). If the first\n"
            "non-blank line leaves a bracket open, the whole input is one command, so a\n"
            "pretty-printed file works too.\n"
            "\n"
            "Options:\n"
            "  --max-bytes N   refuse a command over N bytes (default %d, as the sink)\n"
            "  --max-depth N   refuse nesting deeper than N (default %d, as the sink)\n"
            "  -w, --whole     read the whole input as one command\n"
            "  -h, --help      show this help\n"
            "\n"
            "Exit codes: 0 every command is valid, 1 a command is invalid or there was\n"
            "none, 2 bad usage or unreadable input.\n",
            BR_COMMAND_DEFAULT_MAX_BYTES, BR_COMMAND_DEFAULT_MAX_DEPTH);
}

/*
 * Reads one line, without its '\n', into buf (cap bytes, not NUL-terminated).
 * A line longer than cap is consumed to its end and flagged too_long, so a
 * huge line costs time, never memory. Returns -1 at end of input with nothing
 * read.
 */
static int read_line(FILE *in, char *buf, size_t cap, size_t *len, int *too_long)
{
    int c;
    *len = 0;
    *too_long = 0;
    bool any = false;
    while ((c = getc(in)) != EOF) {
        any = true;
        if (c == '\n')
            return 0;
        if (*len < cap)
            buf[(*len)++] = (char)c;
        else
            *too_long = 1;
    }
    return any ? 0 : -1;
}

static bool is_blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

/* True when the line opens more [ and { (outside strings) than it closes. */
static bool leaves_bracket_open(const char *s, size_t len)
{
    long depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        if (in_string) {
            if (s[i] == '\\')
                i++;
            else if (s[i] == '"')
                in_string = false;
        } else if (s[i] == '"') {
            in_string = true;
        } else if (s[i] == '[' || s[i] == '{') {
            depth++;
        } else if (s[i] == ']' || s[i] == '}') {
            depth--;
        }
    }
    return depth > 0;
}

/* Checks one command and prints its line. Returns true if it is valid. */
static bool check_one(const char *buf, size_t len, int too_long, long line,
                      const br_command_limits_t *limits)
{
    char errstr[512];
    if (too_long) {
        printf("line %ld: too large: more than %zu bytes\n", line, limits->max_bytes);
        return false;
    }
    br_command_t *cmd = NULL;
    br_command_err_t err = br_command_parse(buf, len, limits, &cmd, errstr, sizeof(errstr));
    br_command_destroy(cmd);
    if (err == BR_COMMAND_OK) {
        printf("ok\n");
        return true;
    }
    printf("line %ld: %s\n", line, errstr);
    return false;
}

static int parse_size(const char *opt, const char *arg, size_t min, size_t max, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(arg, &end, 10);
    if (errno || end == arg || *end || arg[0] == '-' || v < min || v > max) {
        fprintf(stderr, "sfbridge command validate: %s: \"%s\" is not a number in %zu..%zu\n", opt,
                arg, min, max);
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

static int validate_main(int argc, char **argv)
{
    br_command_limits_t limits;
    br_command_limits_init(&limits);
    bool whole = false;
    static const struct option long_opts[] = {
        {"max-bytes", required_argument, NULL, 'b'},
        {"max-depth", required_argument, NULL, 'd'},
        {"whole", no_argument, NULL, 'w'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    size_t v;
    opterr = 0; /* our own messages: getopt's would name "validate" as the program */
    while ((opt = getopt_long(argc, argv, "+hw", long_opts, NULL)) != -1) {
        switch (opt) {
        case 'b':
            if (parse_size("--max-bytes", optarg, 1, MAX_BYTES_CEILING, &v) != 0)
                return BR_EXIT_USAGE;
            limits.max_bytes = v;
            break;
        case 'd':
            if (parse_size("--max-depth", optarg, 1, 1000, &v) != 0)
                return BR_EXIT_USAGE;
            limits.max_depth = (int)v;
            break;
        case 'w':
            whole = true;
            break;
        case 'h':
            usage_validate(stdout);
            return BR_EXIT_OK;
        default:
            fprintf(stderr, "sfbridge command validate: unknown option or missing value: %s\n",
                    argv[optind - 1]);
            usage_validate(stderr);
            return BR_EXIT_USAGE;
        }
    }
    if (argc - optind > 1) {
        fprintf(stderr, "sfbridge command validate: one FILE at most\n");
        usage_validate(stderr);
        return BR_EXIT_USAGE;
    }

    int rc = BR_EXIT_FAILURE;
    FILE *in = stdin;
    char *buf = NULL;
    const char *path = optind < argc ? argv[optind] : "-";
    if (strcmp(path, "-") != 0 && !(in = fopen(path, "rb"))) {
        fprintf(stderr, "sfbridge command validate: %s: %s\n", path, strerror(errno));
        in = NULL;
        rc = BR_EXIT_USAGE;
        goto done;
    }
    /* One buffer of max_bytes + 1: the parser must see an oversized command
     * as such, and a line that does not fit is refused without being kept. */
    size_t cap = limits.max_bytes + 1;
    if (!(buf = malloc(cap))) {
        fprintf(stderr, "sfbridge command validate: out of memory for %zu bytes\n", cap);
        rc = BR_EXIT_USAGE;
        goto done;
    }

    long line = 0, first = 0, commands = 0, bad = 0;
    size_t len = 0;
    int too_long = 0;
    bool whole_mode = false;
    while (read_line(in, buf, cap, &len, &too_long) == 0) {
        line++;
        if (!too_long && is_blank(buf, len))
            continue;
        if (commands == 0 && (whole || (!too_long && leaves_bracket_open(buf, len)))) {
            first = line;
            whole_mode = true;
            break;
        }
        commands++;
        if (!check_one(buf, len, too_long, line, &limits))
            bad++;
    }
    if (whole_mode) {
        /* The rest of the input joins the first line, its newline put back
         * only if more follows, so the parser sees the input's own bytes. */
        size_t total = len;
        int c;
        bool newline = true;
        while ((c = getc(in)) != EOF) {
            for (int k = newline ? 2 : 1; k > 0; k--) {
                char ch = k == 2 ? '\n' : (char)c;
                if (total < cap)
                    buf[total++] = ch;
                else
                    too_long = 1;
            }
            newline = false;
        }
        commands++;
        if (!check_one(buf, total, too_long, first, &limits))
            bad++;
    }
    if (ferror(in)) {
        fprintf(stderr, "sfbridge command validate: %s: read error\n", path);
        rc = BR_EXIT_USAGE;
        goto done;
    }
    if (commands == 0) {
        fprintf(stderr, "sfbridge command validate: no command in the input\n");
        goto done;
    }
    rc = bad == 0 ? BR_EXIT_OK : BR_EXIT_FAILURE;

done:
    free(buf);
    if (in && in != stdin)
        fclose(in);
    return rc;
}

int br_cli_command(int argc, char **argv)
{
    if (argc < 2) {
        usage_command(stderr);
        return BR_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage_command(stdout);
        return BR_EXIT_OK;
    }
    if (strcmp(argv[1], "validate") == 0) {
        optind = 1;
        return validate_main(argc - 1, argv + 1);
    }
    fprintf(stderr, "sfbridge command: unknown subcommand \"%s\" (see sfbridge command --help)\n",
            argv[1]);
    return BR_EXIT_USAGE;
}
