/*
 * produce_results.c - writes result messages with the real serialiser
 * (br_result_to_json) into DIR, for produced.cmake to validate with ajv
 * against schemas/result.v1.schema.json.
 *
 * Two kinds: one ok result for every valid command example (parsed with
 * br_command_parse, so ids, op names and command ids flow from a real
 * command into a real result), and error results covering what the sink
 * writes when Salesforce says no.
 *
 *   schemas_produce_results DIR      exit 0, or 1 if anything could not be written
 */
#include "br_command.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int write_result(const char *dir, const char *name, const br_result_t *r)
{
    char errstr[256];
    char *json = NULL;
    if (br_result_to_json(r, &json, errstr, sizeof(errstr)) != 0) {
        fprintf(stderr, "%s: br_result_to_json: %s\n", name, errstr);
        return -1;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/result.%s.json", dir, name);
    FILE *f = fopen(path, "wb");
    int rc = -1;
    if (f && fputs(json, f) >= 0 && fputc('\n', f) != EOF)
        rc = 0;
    if (f && fclose(f) != 0)
        rc = -1;
    if (rc != 0)
        fprintf(stderr, "%s: cannot write\n", path);
    free(json);
    return rc;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)))
            *len = fread(buf, 1, (size_t)n, f);
    }
    fclose(f);
    return buf;
}

/* An ok result for every valid command example. */
static int from_examples(const char *dir, const char *examples, int *written)
{
    DIR *d = opendir(examples);
    struct dirent *de;
    int rc = 0;
    long offset = 100;
    if (!d) {
        fprintf(stderr, "%s: cannot open\n", examples);
        return -1;
    }
    while ((de = readdir(d))) {
        size_t nl = strlen(de->d_name);
        if (strncmp(de->d_name, "command.", 8) != 0 || nl < 6 ||
            strcmp(de->d_name + nl - 5, ".json") != 0)
            continue;
        char path[4096], errstr[256], idbuf[600], name[300];
        size_t len = 0;
        snprintf(path, sizeof(path), "%s/%s", examples, de->d_name);
        char *bytes = read_file(path, &len);
        br_command_t *cmd = NULL;
        if (!bytes ||
            br_command_parse(bytes, len, NULL, &cmd, errstr, sizeof(errstr)) != BR_COMMAND_OK) {
            fprintf(stderr, "%s: %s\n", path, bytes ? errstr : "cannot read");
            free(bytes);
            rc = -1;
            continue;
        }
        free(bytes);
        offset++;
        br_result_t r = {
            .command_id =
                br_command_effective_id(cmd, "sf.commands", 7, offset, idbuf, sizeof(idbuf)),
            .org = "acme-prod",
            .topic = "sf.commands",
            .partition = 7,
            .offset = offset,
            .op = cmd->op,
            .sobject = cmd->sobject,
            .ok = true,
            .id = cmd->id[0] ? cmd->id : "a0RE000000IJmcNMAT",
            .created = cmd->op == BR_OP_INSERT || cmd->op == BR_OP_UPSERT ? 1 : -1,
            .rows = -1,
            .attempts = 1,
        };
        if (cmd->op == BR_OP_QUERY) {
            r.id = NULL;
            r.rows = 3;
        }
        snprintf(name, sizeof(name), "from_%.*s", (int)(nl - 13), de->d_name + 8);
        if (write_result(dir, name, &r) != 0)
            rc = -1;
        else
            (*written)++;
        br_command_destroy(cmd);
    }
    closedir(d);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: schemas_produce_results DIR [COMMAND_EXAMPLES_DIR]\n");
        return 2;
    }
    const char *dir = argv[1];
    const char *examples = argc == 3 ? argv[2] : SFB_EXAMPLES_DIR;
    int rc = 0, written = 0;

    static const char *const lastname[] = {"LastName"};
    static const char *const two[] = {"Email", "Phone"};
    const br_result_error_t required = {"REQUIRED_FIELD_MISSING",
                                        "Required fields are missing: [LastName]", lastname, 1};
    const br_result_error_t several[] = {
        {"INVALID_EMAIL_ADDRESS", "Email: invalid email address: ünïcødé@", two, 1},
        {"FIELD_CUSTOM_VALIDATION_EXCEPTION", "Phone \"must\" be\nset", two + 1, 1},
        {"SFBRIDGE_RETRIES_EXHAUSTED", NULL, NULL, 0},
    };
    const br_result_error_t lock = {"UNABLE_TO_LOCK_ROW",
                                    "unable to obtain exclusive access to this record", NULL, 0};

    br_result_t r = {
        .command_id = "orders/42",
        .org = "acme-sandbox",
        .topic = "sf.commands",
        .partition = 2147483647,
        .offset = 9007199254740991LL, /* the largest integer a JSON reader keeps exactly */
        .op = BR_OP_INSERT,
        .sobject = "Contact",
        .ok = false,
        .created = -1,
        .rows = -1,
        .errors = &required,
        .errors_count = 1,
        .attempts = 1,
    };
    if (write_result(dir, "error_required_field", &r) != 0)
        rc = 1;
    r.op = BR_OP_UPDATE;
    r.id = "001xx000003DGb2AAG";
    r.errors = several;
    r.errors_count = 3;
    r.attempts = 6;
    if (write_result(dir, "error_several", &r) != 0)
        rc = 1;
    r.op = BR_OP_DELETE;
    r.partition = 0;
    r.offset = 0;
    r.errors = &lock;
    r.errors_count = 1;
    if (write_result(dir, "error_lock_row", &r) != 0)
        rc = 1;
    written += 3;

    if (from_examples(dir, examples, &written) != 0)
        rc = 1;
    printf("wrote %d results to %s\n", written, dir);
    return rc;
}
