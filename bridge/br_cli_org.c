/*
 * br_cli_org.c - `sfbridge org ...`: the questions the Salesforce REST API
 * answers about one org of the config, printed so a user can pipe them.
 *
 *   sfbridge org -c FILE [--org NAME] info|versions|resources|limits
 *   sfbridge org -c FILE [--org NAME] describe [SOBJECT]
 *   sfbridge org -c FILE [--org NAME] query [--all] SOQL
 *   --format json (default) | ndjson | csv | table
 *
 * `query` streams rows as pages arrive (the library holds one page), with a
 * progress line on stderr when stderr is a terminal.
 */
#include "br_cli.h"
#include "br_config.h"
#include "br_org.h"
#include "sf.h"
#include "sfb.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum { FMT_JSON, FMT_NDJSON, FMT_CSV, FMT_TABLE } fmt_t;

static void org_usage(FILE *out)
{
    fprintf(out, "Usage: sfbridge org -c FILE [--org NAME] [--format F] COMMAND\n"
                 "\n"
                 "Commands:\n"
                 "  info                 who we are logged in as, instance, API usage\n"
                 "  versions             API versions the org offers\n"
                 "  resources            REST resources of the configured API version\n"
                 "  limits               the org's limits (Max/Remaining)\n"
                 "  describe [SOBJECT]   describe one sObject, or list them all\n"
                 "  query [--all] SOQL   run a query (--all: queryAll, with deleted rows)\n"
                 "\n"
                 "Options:\n"
                 "  -c, --config FILE    the sfbridge config (required)\n"
                 "  -o, --org NAME       the org (may be left out when the config has one)\n"
                 "  -f, --format F       json (default), ndjson, csv, or table\n"
                 "  -a, --all            query: include deleted and archived rows\n"
                 "  -h, --help           this help\n");
}

static void print_json(const json_t *v)
{
    char *txt = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY);
    if (txt)
        printf("%s\n", txt);
    free(txt);
}

static void report(const char *what, const sf_error_t *err)
{
    fprintf(stderr, "sfbridge org %s: %s\n", what, err ? err->message : "failed");
}

/* A CSV cell: quoted when it holds a comma, quote or newline; objects as JSON. */
static void csv_cell(FILE *out, const json_t *v, char sep)
{
    char *owned = NULL;
    const char *s = "";
    char num[64];
    if (json_is_string(v))
        s = json_string_value(v);
    else if (json_is_integer(v)) {
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        s = num;
    } else if (json_is_real(v)) {
        snprintf(num, sizeof(num), "%.17g", json_real_value(v));
        s = num;
    } else if (json_is_boolean(v))
        s = json_is_true(v) ? "true" : "false";
    else if (v && !json_is_null(v))
        s = owned = json_dumps(v, JSON_COMPACT);
    if (sep == ',' && strpbrk(s, ",\"\n\r")) {
        fputc('"', out);
        for (const char *p = s; *p; p++) {
            if (*p == '"')
                fputc('"', out);
            fputc(*p, out);
        }
        fputc('"', out);
    } else {
        for (const char *p = s; *p; p++)
            fputc(*p == '\t' || *p == '\n' ? ' ' : *p, out);
    }
    free(owned);
}

/* Columns = the keys of the first row except "attributes". */
static json_t *columns_of(const json_t *row)
{
    json_t *cols = json_array();
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)row, key, v)
    {
        if (strcmp(key, "attributes") != 0)
            json_array_append_new(cols, json_string(key));
    }
    return cols;
}

static void print_row(const json_t *cols, const json_t *row, fmt_t fmt)
{
    char sep = fmt == FMT_CSV ? ',' : '\t';
    for (size_t i = 0; i < json_array_size(cols); i++) {
        if (i)
            putchar(sep);
        csv_cell(stdout, json_object_get(row, json_string_value(json_array_get(cols, i))), sep);
    }
    putchar('\n');
}

static void print_header(const json_t *cols, fmt_t fmt)
{
    char sep = fmt == FMT_CSV ? ',' : '\t';
    for (size_t i = 0; i < json_array_size(cols); i++) {
        if (i)
            putchar(sep);
        fputs(json_string_value(json_array_get(cols, i)), stdout);
    }
    putchar('\n');
}

static int run_query(sf_org_t *org, const char *soql, bool all, fmt_t fmt)
{
    sf_error_t *err = NULL;
    json_t *row = NULL, *cols = NULL;
    bool tty = isatty(2);
    long n = 0;
    int rc;
    sf_query_t *q = sf_query_start(org, soql, all, 0, &err);
    if (!q) {
        report("query", err);
        sf_error_destroy(err);
        return BR_EXIT_FAILURE;
    }
    if (fmt == FMT_JSON)
        fputs("[", stdout);
    while ((rc = sf_query_next(q, &row, &err)) == 1) {
        if (fmt == FMT_JSON || fmt == FMT_NDJSON) {
            char *txt = json_dumps(row, JSON_COMPACT);
            printf("%s%s%s", fmt == FMT_JSON && n ? ",\n " : "", txt ? txt : "null",
                   fmt == FMT_NDJSON ? "\n" : "");
            free(txt);
        } else {
            if (!cols) {
                cols = columns_of(row);
                print_header(cols, fmt);
            }
            print_row(cols, row, fmt);
        }
        n++;
        if (tty && n % 500 == 0)
            fprintf(stderr, "\r%ld/%ld rows", n, sf_query_total_size(q));
    }
    /* A failed query leaves the JSON array open: a truncated result must not
     * parse as a complete one for a reader that ignores the exit code. */
    if (fmt == FMT_JSON)
        fputs(rc == 0 ? "]\n" : "\n", stdout);
    if (tty)
        fprintf(stderr, "\r%ld/%ld rows\n", n, sf_query_total_size(q));
    json_decref(cols);
    sf_query_destroy(q);
    if (rc != 0) {
        report("query", err);
        sf_error_destroy(err);
        return BR_EXIT_FAILURE;
    }
    return BR_EXIT_OK;
}

/* Prints the objects of `arr` as a table of the given keys. */
static void print_table(const json_t *arr, const char *const *keys, size_t nkeys)
{
    json_t *cols = json_array();
    for (size_t k = 0; k < nkeys; k++)
        json_array_append_new(cols, json_string(keys[k]));
    print_header(cols, FMT_TABLE);
    for (size_t i = 0; i < json_array_size(arr); i++)
        print_row(cols, json_array_get(arr, i), FMT_TABLE);
    json_decref(cols);
}

static int run_simple(sf_org_t *org, const char *cmd, const char *arg, fmt_t fmt)
{
    sf_error_t *err = NULL;
    json_t *out = NULL;
    int rc = -1;
    if (strcmp(cmd, "versions") == 0)
        rc = sf_versions(org, &out, &err);
    else if (strcmp(cmd, "resources") == 0)
        rc = sf_resources(org, &out, &err);
    else if (strcmp(cmd, "limits") == 0)
        rc = sf_limits(org, &out, &err);
    else if (strcmp(cmd, "describe") == 0)
        rc = arg ? sf_describe(org, arg, &out, &err) : sf_describe_global(org, &out, &err);
    else if (strcmp(cmd, "info") == 0) {
        json_t *id = NULL;
        char inst[512] = "";
        sf_usage_t usage;
        json_t *limits = NULL;
        rc = sf_identity(org, &id, &err);
        /* The identity URL carries no Sforce-Limit-Info; /limits does. */
        if (rc == 0 && (rc = sf_limits(org, &limits, &err)) == 0) {
            json_decref(limits);
            sf_org_instance_url(org, inst, sizeof(inst));
            sf_org_usage(org, &usage);
            out = json_pack("{s:s, s:s, s:s, s:O?, s:O?, s:O?, s:{s:I, s:I}}", "org",
                            sf_org_name(org), "instance_url", inst, "api_version",
                            sf_org_api_version(org), "username", json_object_get(id, "username"),
                            "user_id", json_object_get(id, "user_id"), "organization_id",
                            json_object_get(id, "organization_id"), "api_usage", "used",
                            (json_int_t)usage.used, "max", (json_int_t)usage.max);
        }
        json_decref(id);
    }
    if (rc != 0) {
        report(cmd, err);
        sf_error_destroy(err);
        return BR_EXIT_FAILURE;
    }
    if (fmt == FMT_TABLE && strcmp(cmd, "limits") == 0) {
        const char *name;
        json_t *v;
        printf("%-48s %12s %12s\n", "Limit", "Max", "Remaining");
        json_object_foreach(out, name, v)
        {
            printf("%-48s %12" JSON_INTEGER_FORMAT " %12" JSON_INTEGER_FORMAT "\n", name,
                   json_integer_value(json_object_get(v, "Max")),
                   json_integer_value(json_object_get(v, "Remaining")));
        }
    } else if (fmt == FMT_TABLE && strcmp(cmd, "describe") == 0) {
        static const char *const gkeys[] = {"name", "label", "keyPrefix", "custom", "queryable"};
        static const char *const fkeys[] = {"name",       "type",       "length", "nillable",
                                            "createable", "updateable", "label"};
        if (arg)
            print_table(json_object_get(out, "fields"), fkeys, sizeof(fkeys) / sizeof(*fkeys));
        else
            print_table(json_object_get(out, "sobjects"), gkeys, sizeof(gkeys) / sizeof(*gkeys));
    } else if (fmt == FMT_NDJSON && json_is_array(out)) {
        for (size_t i = 0; i < json_array_size(out); i++) {
            char *txt = json_dumps(json_array_get(out, i), JSON_COMPACT);
            printf("%s\n", txt ? txt : "null");
            free(txt);
        }
    } else {
        print_json(out);
    }
    json_decref(out);
    return BR_EXIT_OK;
}

/* Loads the config and creates the org's client (shared with br_cli_login.c). */
sf_org_t *br_cli_org_open(const char *config_path, const char *org_name, br_config_t **config,
                          const br_config_org_t **org_conf);

sf_org_t *br_cli_org_open(const char *config_path, const char *org_name, br_config_t **config,
                          const br_config_org_t **org_conf)
{
    char errstr[1024];
    sf_org_t *org;
    *config = br_config_load(config_path, errstr, sizeof(errstr));
    if (!*config) {
        fprintf(stderr, "sfbridge: %s\n", errstr);
        return NULL;
    }
    if (org_name) {
        *org_conf = br_config_org_find(*config, org_name);
        if (!*org_conf) {
            fprintf(stderr, "sfbridge: no org named \"%s\" in %s\n", org_name, config_path);
            goto fail;
        }
    } else if ((*config)->orgs_count == 1) {
        *org_conf = &(*config)->orgs[0];
    } else {
        fprintf(stderr, "sfbridge: %s has %zu orgs: choose one with --org NAME\n", config_path,
                (*config)->orgs_count);
        goto fail;
    }
    org = br_org_create(*config, *org_conf, errstr, sizeof(errstr));
    if (!org) {
        fprintf(stderr, "sfbridge: %s\n", errstr);
        goto fail;
    }
    return org;
fail:
    br_config_destroy(*config);
    *config = NULL;
    return NULL;
}

int br_cli_org(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"org", required_argument, NULL, 'o'},
        {"format", required_argument, NULL, 'f'}, {"all", no_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL, *org_name = NULL;
    fmt_t fmt = FMT_JSON;
    bool all = false;
    int opt, ret = BR_EXIT_USAGE;
    br_config_t *config = NULL;
    const br_config_org_t *org_conf = NULL;
    sf_org_t *org = NULL;

    /* main() parsed with "+" (stop at the subcommand); optind = 0 makes glibc
     * start afresh so options may also follow the command word. */
    optind = 0;
    while ((opt = getopt_long(argc, argv, "c:o:f:ah", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 'o':
            org_name = optarg;
            break;
        case 'a':
            all = true;
            break;
        case 'f':
            if (strcmp(optarg, "json") == 0)
                fmt = FMT_JSON;
            else if (strcmp(optarg, "ndjson") == 0)
                fmt = FMT_NDJSON;
            else if (strcmp(optarg, "csv") == 0)
                fmt = FMT_CSV;
            else if (strcmp(optarg, "table") == 0)
                fmt = FMT_TABLE;
            else {
                fprintf(stderr, "sfbridge org: --format: json, ndjson, csv or table\n");
                return BR_EXIT_USAGE;
            }
            break;
        case 'h':
            org_usage(stdout);
            return BR_EXIT_OK;
        default:
            org_usage(stderr);
            return BR_EXIT_USAGE;
        }
    }
    if (!config_path || optind >= argc) {
        org_usage(stderr);
        return BR_EXIT_USAGE;
    }
    const char *cmd = argv[optind];
    const char *arg = optind + 1 < argc ? argv[optind + 1] : NULL;
    static const char *const known[] = {"info",   "versions", "resources",
                                        "limits", "describe", "query"};
    bool ok = false;
    for (size_t i = 0; i < sizeof(known) / sizeof(*known); i++)
        ok = ok || strcmp(cmd, known[i]) == 0;
    if (!ok || (strcmp(cmd, "query") == 0 && !arg) ||
        (fmt == FMT_CSV && strcmp(cmd, "query") != 0)) {
        fprintf(stderr, "sfbridge org: %s\n",
                !ok    ? "unknown command (see --help)"
                : !arg ? "query needs a SOQL statement"
                       : "--format csv is for query");
        return BR_EXIT_USAGE;
    }
    /* Extra words are an error, not ignored: an unquoted `query SELECT Id FROM
     * Account` would otherwise send "SELECT" alone. */
    int max_args = strcmp(cmd, "query") == 0 || strcmp(cmd, "describe") == 0 ? 1 : 0;
    if (argc - optind - 1 > max_args) {
        fprintf(stderr, "sfbridge org %s: unexpected argument \"%s\"%s\n", cmd,
                argv[optind + 1 + max_args],
                strcmp(cmd, "query") == 0 ? " (quote the SOQL statement as one argument)" : "");
        return BR_EXIT_USAGE;
    }
    org = br_cli_org_open(config_path, org_name, &config, &org_conf);
    if (!org)
        return BR_EXIT_USAGE;
    if (strcmp(cmd, "query") == 0)
        ret = run_query(org, arg, all, fmt);
    else
        ret = run_simple(org, cmd, arg, fmt);
    fflush(stdout);
    sf_org_destroy(org);
    br_config_destroy(config);
    return ret;
}
