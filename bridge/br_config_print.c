/*
 * br_config_print.c - writes the effective config (for `sfbridge check`) and
 * the key reference, both walking the same table as the loader so neither can
 * forget a key. Secrets are printed as SFB_REDACTED with where they came
 * from (a variable name or a file path), never their value.
 */
#include "br_config_int.h"

#include <string.h>

static void indent(FILE *out, int depth)
{
    for (int i = 0; i < depth; i++)
        fputs("  ", out);
}

/* A libconfig string literal: quotes, backslashes and control bytes escaped. */
static void print_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            fputs("\\\"", out);
            break;
        case '\\':
            fputs("\\\\", out);
            break;
        case '\n':
            fputs("\\n", out);
            break;
        case '\t':
            fputs("\\t", out);
            break;
        case '\r':
            fputs("\\r", out);
            break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                fprintf(out, "\\x%02x", *p);
            else
                fputc(*p, out);
        }
    }
    fputc('"', out);
}

static void print_origin(FILE *out, br_secret_origin_t origin, const char *ref)
{
    switch (origin) {
    case BR_SECRET_ENV:
        fprintf(out, "  # from ${%s}", ref ? ref : "?");
        break;
    case BR_SECRET_FILE:
        fprintf(out, "  # from file %s", ref ? ref : "?");
        break;
    case BR_SECRET_INLINE:
        fputs("  # inline: move it to ${ENV_VAR} or @file", out);
        break;
    case BR_SECRET_UNSET:
        break;
    }
}

/* Number of leading dot-separated components two names share. */
static size_t common_components(const char *a, const char *b)
{
    size_t n = 0;
    for (;;) {
        size_t la = strcspn(a, "."), lb = strcspn(b, ".");
        if (la != lb || strncmp(a, b, la) != 0 || a[la] != '.' || b[lb] != '.')
            return n;
        n++;
        a += la + 1;
        b += lb + 1;
    }
}

/*
 * kafka.properties were flattened from nested groups in file order, so the
 * members of one group are consecutive: re-nesting by shared prefixes gives
 * back groups libconfig can read again.
 */
static void print_props(FILE *out, const br_kafka_property_t *props, size_t count, int depth)
{
    size_t open = 0; /* components of the previous name currently open as groups */
    const char *prev = "";
    for (size_t i = 0; i < count; i++) {
        const char *name = props[i].name;
        size_t keep = i ? common_components(prev, name) : 0;
        if (keep > open)
            keep = open;
        while (open > keep) {
            indent(out, depth + (int)--open);
            fputs("};\n", out);
        }
        const char *p = name;
        for (size_t c = 0; c < keep; c++)
            p += strcspn(p, ".") + 1;
        for (;;) {
            size_t len = strcspn(p, ".");
            if (p[len] != '.') {
                indent(out, depth + (int)open);
                fprintf(out, "%s = ", p);
                break;
            }
            indent(out, depth + (int)open);
            fprintf(out, "%.*s = {\n", (int)len, p);
            open++;
            p += len + 1;
        }
        if (props[i].secret) {
            fprintf(out, "\"%s\";", SFB_REDACTED);
            print_origin(out, props[i].origin, props[i].ref);
        } else {
            print_string(out, props[i].value);
            fputc(';', out);
        }
        fputc('\n', out);
        prev = name;
    }
    while (open > 0) {
        indent(out, depth + (int)--open);
        fputs("};\n", out);
    }
}

static void print_group(FILE *out, const br_ckey_t *keys, const void *base, int depth);

static void print_key(FILE *out, const br_ckey_t *k, const void *base, int depth)
{
    const void *field = (const char *)base + k->offset;
    switch (k->type) {
    case BR_CT_STRING: {
        const char *s = *(char *const *)field;
        indent(out, depth);
        if (!s) {
            fprintf(out, "# %s is not set\n", k->name);
            return;
        }
        fprintf(out, "%s = ", k->name);
        print_string(out, s);
        fputs(";\n", out);
        return;
    }
    case BR_CT_SECRET: {
        const br_secret_t *sec = field;
        indent(out, depth);
        if (!sec->value) {
            fprintf(out, "# %s is not set\n", k->name);
            return;
        }
        fprintf(out, "%s = \"%s\";", k->name, sfb_redact_secret(sec->value));
        print_origin(out, sec->origin, sec->ref);
        fputc('\n', out);
        return;
    }
    case BR_CT_INT: {
        int v;
        memcpy(&v, field, sizeof(v));
        indent(out, depth);
        fprintf(out, "%s = %d;\n", k->name, v);
        return;
    }
    case BR_CT_BOOL: {
        bool b;
        memcpy(&b, field, sizeof(b));
        indent(out, depth);
        fprintf(out, "%s = %s;\n", k->name, b ? "true" : "false");
        return;
    }
    case BR_CT_ENUM: {
        int v;
        memcpy(&v, field, sizeof(v));
        int n = 0;
        while (k->enums[n])
            n++;
        indent(out, depth);
        fprintf(out, "%s = \"%s\";\n", k->name, v >= 0 && v < n ? k->enums[v] : "?");
        return;
    }
    case BR_CT_GROUP:
        indent(out, depth);
        fprintf(out, "%s = {\n", k->name);
        print_group(out, k->sub, field, depth + 1);
        indent(out, depth);
        fputs("};\n", out);
        return;
    case BR_CT_LIST: {
        const char *array = *(char *const *)field;
        size_t count = *(const size_t *)((const char *)base + k->count_offset);
        indent(out, depth);
        fprintf(out, "%s = (%s", k->name, count ? "\n" : " );\n");
        if (!count)
            return;
        for (size_t i = 0; i < count; i++) {
            indent(out, depth + 1);
            fputs("{\n", out);
            print_group(out, k->sub, array + i * k->elem_size, depth + 2);
            indent(out, depth + 1);
            fputs(i + 1 < count ? "},\n" : "}\n", out);
        }
        indent(out, depth);
        fputs(");\n", out);
        return;
    }
    case BR_CT_PROPS: {
        const br_kafka_property_t *props = *(br_kafka_property_t *const *)field;
        size_t count = *(const size_t *)((const char *)base + k->count_offset);
        indent(out, depth);
        fprintf(out, "%s = {%s", k->name, count ? "\n" : " };\n");
        if (!count)
            return;
        print_props(out, props, count, depth + 1);
        indent(out, depth);
        fputs("};\n", out);
        return;
    }
    }
}

static void print_group(FILE *out, const br_ckey_t *keys, const void *base, int depth)
{
    for (const br_ckey_t *k = keys; k->name; k++)
        print_key(out, k, base, depth);
}

void br_config_print(const br_config_t *config, FILE *out)
{
    fprintf(out, "# effective configuration of ");
    print_string(out, config->path ? config->path : "?");
    fprintf(out, " (defaults filled in, secrets shown as %s)\n", SFB_REDACTED);
    print_group(out, br_config_root_keys, config, 0);
}

/* ---- reference ------------------------------------------------------------- */

/* Writes `text` as comment lines of at most ~96 columns. */
static void print_wrapped(FILE *out, int depth, const char *text)
{
    const int width = 96 - 2 * depth - 2;
    const char *p = text;
    while (*p) {
        int len = (int)strlen(p);
        if (len > width) {
            len = width;
            while (len > 0 && p[len] != ' ')
                len--;
            if (len == 0)
                len = width;
        }
        indent(out, depth);
        fprintf(out, "# %.*s\n", len, p);
        p += len;
        while (*p == ' ')
            p++;
    }
}

static void print_ref_group(FILE *out, const br_ckey_t *keys, int depth);

static void print_ref_key(FILE *out, const br_ckey_t *k, int depth)
{
    char facts[256] = "";
    const char *req = (k->flags & BR_CK_REQUIRED) ? ", required" : "";
    char def[96] = "";
    if (k->def)
        snprintf(def, sizeof(def), ", default \"%s\"", k->def);
    switch (k->type) {
    case BR_CT_STRING:
        snprintf(facts, sizeof(facts), "string%s%s%s%s", req,
                 (k->flags & BR_CK_PATH) ? ", file path" : "",
                 (k->flags & BR_CK_URL) ? ", URL" : "", def);
        break;
    case BR_CT_SECRET:
        snprintf(facts, sizeof(facts), "secret: \"${VAR}\" or \"@/path\"%s", req);
        break;
    case BR_CT_INT:
        if (k->flags & BR_CK_REQUIRED)
            snprintf(facts, sizeof(facts), "integer %lld..%lld, required", k->min, k->max);
        else
            snprintf(facts, sizeof(facts), "integer %lld..%lld, default %lld", k->min, k->max,
                     k->idef);
        break;
    case BR_CT_BOOL:
        snprintf(facts, sizeof(facts), "boolean, default %s", k->idef ? "true" : "false");
        break;
    case BR_CT_ENUM: {
        size_t used = (size_t)snprintf(facts, sizeof(facts), "one of");
        for (int i = 0; k->enums[i] && used < sizeof(facts); i++)
            used += (size_t)snprintf(facts + used, sizeof(facts) - used, "%s %s", i ? "," : "",
                                     k->enums[i]);
        if (used < sizeof(facts))
            snprintf(facts + used, sizeof(facts) - used, "%s%s", req, def);
        break;
    }
    case BR_CT_GROUP:
        snprintf(facts, sizeof(facts), "group%s", req);
        break;
    case BR_CT_LIST:
        snprintf(facts, sizeof(facts), "list of groups, %lld..%lld entries", k->min, k->max);
        break;
    case BR_CT_PROPS:
        snprintf(facts, sizeof(facts), "group of librdkafka properties");
        break;
    }
    char head[512];
    snprintf(head, sizeof(head), "%s (%s): %s", k->name, facts, k->desc ? k->desc : "");
    print_wrapped(out, depth, head);

    switch (k->type) {
    case BR_CT_STRING:
    case BR_CT_ENUM:
        indent(out, depth);
        if (k->def) {
            fprintf(out, "# %s = ", k->name);
            print_string(out, k->def);
            fputs(";\n", out);
        } else {
            fprintf(out, "# %s = \"\";\n", k->name);
        }
        break;
    case BR_CT_SECRET:
        indent(out, depth);
        fprintf(out, "# %s = \"${VAR}\";\n", k->name);
        break;
    case BR_CT_INT:
        indent(out, depth);
        fprintf(out, "# %s = %lld;\n", k->name, k->idef);
        break;
    case BR_CT_BOOL:
        indent(out, depth);
        fprintf(out, "# %s = %s;\n", k->name, k->idef ? "true" : "false");
        break;
    case BR_CT_GROUP:
        indent(out, depth);
        fprintf(out, "%s = {\n", k->name);
        print_ref_group(out, k->sub, depth + 1);
        indent(out, depth);
        fputs("};\n", out);
        break;
    case BR_CT_LIST:
        indent(out, depth);
        fprintf(out, "%s = (\n", k->name);
        indent(out, depth + 1);
        fputs("{\n", out);
        print_ref_group(out, k->sub, depth + 2);
        indent(out, depth + 1);
        fputs("}\n", out);
        indent(out, depth);
        fputs(");\n", out);
        break;
    case BR_CT_PROPS:
        indent(out, depth);
        fprintf(out, "# %s = { security = { protocol = \"SASL_SSL\"; }; };\n", k->name);
        break;
    }
}

static void print_ref_group(FILE *out, const br_ckey_t *keys, int depth)
{
    for (const br_ckey_t *k = keys; k->name; k++) {
        print_ref_key(out, k, depth);
        if (k[1].name)
            fputc('\n', out);
    }
}

void br_config_print_reference(FILE *out)
{
    fputs("# sfbridge configuration reference (generated from the key table by\n"
          "# `sfbridge check --print-reference`). Any string may be written as \"${VAR}\"\n"
          "# (an environment variable) or \"@/path\" (a file's contents, trailing newlines\n"
          "# stripped; relative paths are relative to this file). Unknown keys are errors.\n\n",
          out);
    print_ref_group(out, br_config_root_keys, 0);
}
