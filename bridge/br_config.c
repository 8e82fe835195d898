/*
 * br_config.c - the table-driven loader: reads the file, lets libconfig parse
 * it, then walks the key table (br_config_table.c) to validate every setting,
 * fill defaults, resolve ${ENV}/@file references and store values at their
 * offsetof. Cross-key rules run afterwards in br_config_finalize().
 *
 * Errors stop at the first problem: one precise line is more useful than a
 * cascade of follow-on complaints.
 */
#include "br_config_int.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATH_BUF          512  /* key paths: "orgs.[12].auth.client_secret" */
#define DEFAULT_MAX_STR   4096 /* longest string value unless a row says otherwise */
#define MAX_PROPERTIES    256  /* kafka.properties entries */
#define MAX_PROPS_DEPTH   8    /* nesting of kafka.properties groups (a.b.c.d...) */
#define MAX_MESSAGE_BYTES 768

static void vformat_at(br_cload_t *ld, char *buf, size_t size, int line, const char *path,
                       const char *fmt, va_list ap) __attribute__((format(printf, 6, 0)));

static void vformat_at(br_cload_t *ld, char *buf, size_t size, int line, const char *path,
                       const char *fmt, va_list ap)
{
    char msg[MAX_MESSAGE_BYTES];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (line > 0 && path)
        snprintf(buf, size, "%s:%d: key '%s': %s", ld->name, line, path, msg);
    else if (line > 0)
        snprintf(buf, size, "%s:%d: %s", ld->name, line, msg);
    else if (path)
        snprintf(buf, size, "%s: key '%s': %s", ld->name, path, msg);
    else
        snprintf(buf, size, "%s: %s", ld->name, msg);
}

int br_cload_error(br_cload_t *ld, int line, const char *path, const char *fmt, ...)
{
    if (!ld->errstr || ld->errstr_size == 0)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vformat_at(ld, ld->errstr, ld->errstr_size, line, path, fmt, ap);
    va_end(ap);
    return -1;
}

void br_cload_warn(br_cload_t *ld, int line, const char *path, const char *fmt, ...)
{
    br_config_t *config = ld->config;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vformat_at(ld, buf, sizeof(buf), line, path, fmt, ap);
    va_end(ap);
    /* Warnings are bounded like everything else; past 64 they add nothing. */
    if (config->warnings_count >= 64)
        return;
    char **w = realloc(config->warnings, (config->warnings_count + 1) * sizeof(*w));
    if (!w)
        return;
    config->warnings = w;
    char *copy = strdup(buf);
    if (copy)
        config->warnings[config->warnings_count++] = copy;
}

int br_cload_line(br_cload_t *ld, const char *path)
{
    char buf[PATH_BUF];
    snprintf(buf, sizeof(buf), "%s", path);
    for (;;) {
        config_setting_t *s = config_lookup(ld->lc, buf);
        if (s)
            return config_setting_source_line(s);
        char *dot = strrchr(buf, '.');
        if (!dot)
            return 0;
        *dot = '\0';
    }
}

int br_cload_read_file(const char *path, size_t max, char **out, size_t *len, char *why,
                       size_t why_size)
{
    int fd = -1, rc = -1;
    char *buf = NULL;
    size_t used = 0;
    struct stat st;

    *out = NULL;
    /* O_NONBLOCK: "@/dev/stdin" or a FIFO must fail, not hang the loader. */
    fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, why_size, "%s", strerror(errno));
        goto done;
    }
    if (fstat(fd, &st) != 0) {
        snprintf(why, why_size, "%s", strerror(errno));
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, why_size, "not a regular file");
        goto done;
    }
    if ((unsigned long long)st.st_size > max) {
        snprintf(why, why_size, "larger than %zu bytes", max);
        goto done;
    }
    buf = malloc(max + 1);
    if (!buf) {
        snprintf(why, why_size, "out of memory");
        goto done;
    }
    /* The size may change under us: read up to max+1 to notice growth. */
    for (;;) {
        ssize_t n = read(fd, buf + used, max + 1 - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(why, why_size, "%s", strerror(errno));
            goto done;
        }
        if (n == 0)
            break;
        used += (size_t)n;
        if (used > max) {
            snprintf(why, why_size, "larger than %zu bytes", max);
            goto done;
        }
    }
    buf[used] = '\0';
    *out = buf;
    buf = NULL;
    if (len)
        *len = used;
    rc = 0;
done:
    free(buf);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* malloc'ed a + sep + b, or NULL. */
static char *concat(const char *a, const char *sep, const char *b)
{
    size_t la = strlen(a), ls = strlen(sep), lb = strlen(b);
    char *s = malloc(la + ls + lb + 1);
    if (s) {
        memcpy(s, a, la);
        memcpy(s + la, sep, ls);
        memcpy(s + la + ls, b, lb + 1);
    }
    return s;
}

int br_cload_path(br_cload_t *ld, int line, const char *key, const char *in, char **out)
{
    *out = NULL;
    if (in[0] == '~' && (in[1] == '/' || in[1] == '\0')) {
        const char *home = getenv("HOME");
        if (!home || !*home)
            return br_cload_error(ld, line, key,
                                  "path \"%s\" starts with ~ but environment variable HOME is "
                                  "not set",
                                  in);
        *out = concat(home, "", in + 1);
    } else if (in[0] == '/' || !ld->dir) {
        *out = strdup(in);
    } else {
        *out = concat(ld->dir, "/", in);
    }
    if (!*out)
        return br_cload_error(ld, line, key, "out of memory");
    return 0;
}

static bool is_env_name(const char *s, size_t len)
{
    if (len == 0 || len > 128 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return false;
    for (size_t i = 1; i < len; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
            return false;
    return true;
}

/*
 * Turns a written value into the effective one: "${NAME}" -> the variable,
 * "@path" -> the file's contents without trailing newlines, else itself.
 * Error messages name the variable or the file, never a value.
 */
static int resolve_ref(br_cload_t *ld, int line, const char *key, const char *raw, char **out,
                       br_secret_origin_t *origin, char **ref)
{
    *out = NULL;
    *ref = NULL;
    *origin = BR_SECRET_INLINE;
    if (strncmp(raw, "${", 2) == 0) {
        size_t len = strlen(raw);
        if (len < 4 || raw[len - 1] != '}' || !is_env_name(raw + 2, len - 3))
            return br_cload_error(ld, line, key,
                                  "malformed reference: expected \"${NAME}\" with NAME made of "
                                  "letters, digits and '_' (and nothing around it)");
        char name[130];
        snprintf(name, sizeof(name), "%.*s", (int)(len - 3), raw + 2);
        const char *v = getenv(name);
        if (!v)
            return br_cload_error(ld, line, key, "environment variable %s is not set", name);
        if (!*v)
            return br_cload_error(ld, line, key, "environment variable %s is empty", name);
        *out = strdup(v);
        *ref = strdup(name);
        *origin = BR_SECRET_ENV;
    } else if (raw[0] == '@' && raw[1] != '\0') {
        char *path = NULL, *data = NULL, why[256];
        size_t len = 0;
        if (br_cload_path(ld, line, key, raw + 1, &path) != 0)
            return -1;
        if (br_cload_read_file(path, BR_CONFIG_MAX_SECRET_BYTES, &data, &len, why, sizeof(why)) !=
            0) {
            br_cload_error(ld, line, key, "cannot read file '%s': %s", path, why);
            free(path);
            return -1;
        }
        if (strlen(data) != len) {
            br_cload_error(ld, line, key, "file '%s' contains a NUL byte", path);
            free(data);
            free(path);
            return -1;
        }
        while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
            data[--len] = '\0';
        if (len == 0) {
            br_cload_error(ld, line, key, "file '%s' is empty", path);
            free(data);
            free(path);
            return -1;
        }
        *out = data;
        *ref = path;
        *origin = BR_SECRET_FILE;
        return 0;
    } else {
        *out = strdup(raw);
    }
    if (!*out || (*origin == BR_SECRET_ENV && !*ref)) {
        free(*out);
        free(*ref);
        *out = *ref = NULL;
        return br_cload_error(ld, line, key, "out of memory");
    }
    return 0;
}

static const char *type_name(int type)
{
    switch (type) {
    case CONFIG_TYPE_GROUP:
        return "a group { ... }";
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        return "an integer";
    case CONFIG_TYPE_FLOAT:
        return "a floating-point number";
    case CONFIG_TYPE_STRING:
        return "a string";
    case CONFIG_TYPE_BOOL:
        return "a boolean";
    case CONFIG_TYPE_ARRAY:
        return "an array [ ... ]";
    case CONFIG_TYPE_LIST:
        return "a list ( ... )";
    default:
        return "nothing";
    }
}

static const char *expected_name(const br_ckey_t *key)
{
    switch (key->type) {
    case BR_CT_STRING:
    case BR_CT_SECRET:
    case BR_CT_ENUM:
        return "a string";
    case BR_CT_INT:
        return "an integer";
    case BR_CT_BOOL:
        return "a boolean (true or false)";
    case BR_CT_GROUP:
    case BR_CT_PROPS:
        return "a group { ... }";
    case BR_CT_LIST:
        return "a list of groups ( { ... }, ... )";
    }
    return "?";
}

/* Levenshtein distance, capped: only used to suggest a close key name. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 99;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost =
                tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]) ? 0 : 1;
            size_t best = diag + cost;
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static int unknown_key(br_cload_t *ld, const br_ckey_t *keys, config_setting_t *child,
                       const char *path)
{
    const char *name = config_setting_name(child);
    const char *best = NULL;
    size_t best_d = 3;
    for (const br_ckey_t *k = keys; k->name; k++) {
        size_t d = edit_distance(name, k->name);
        if (d < best_d) {
            best_d = d;
            best = k->name;
        }
    }
    if (best)
        return br_cload_error(ld, config_setting_source_line(child), path,
                              "unknown key (did you mean '%s'?)", best);
    return br_cload_error(ld, config_setting_source_line(child), path, "unknown key");
}

static int join_path(br_cload_t *ld, char *buf, size_t size, const char *parent, const char *name)
{
    int n =
        parent[0] ? snprintf(buf, size, "%s.%s", parent, name) : snprintf(buf, size, "%s", name);
    if (n < 0 || (size_t)n >= size)
        return br_cload_error(ld, 0, parent, "key path too long");
    return 0;
}

static int parse_group(br_cload_t *ld, const br_ckey_t *keys, config_setting_t *group, void *base,
                       const char *path, int line);

static bool is_loopback_host(const char *host, size_t len)
{
    static const char *const names[] = {"localhost", "127.0.0.1", "[::1]"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strlen(names[i]) == len && strncmp(host, names[i], len) == 0)
            return true;
    return len > 4 && strncmp(host, "127.", 4) == 0;
}

/* http(s)://host[:port][/path]; strips trailing '/'. Plain http outside loopback is a warning. */
static int check_url(br_cload_t *ld, int line, const char *path, char *url)
{
    const char *host;
    if (strncmp(url, "https://", 8) == 0)
        host = url + 8;
    else if (strncmp(url, "http://", 7) == 0)
        host = url + 7;
    else
        return br_cload_error(ld, line, path, "\"%s\" is not an http:// or https:// URL", url);
    size_t hlen = strcspn(host, ":/?#");
    if (hlen == 0)
        return br_cload_error(ld, line, path, "URL \"%s\" has no host", url);
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return br_cload_error(ld, line, path, "URL contains whitespace or control characters");
    if (strchr(host, '?') || strchr(host, '#'))
        return br_cload_error(ld, line, path, "URL must not have a query or fragment");
    size_t len = strlen(url);
    while (len > (size_t)(host - url) + hlen && url[len - 1] == '/')
        url[--len] = '\0';
    if (host == url + 7 && !is_loopback_host(host, hlen))
        br_cload_warn(ld, line, path,
                      "plain http:// to a non-loopback host sends credentials unencrypted");
    return 0;
}

/* Stores a string value (already resolved) after length, check and path/URL rules. */
static int finish_string(br_cload_t *ld, const br_ckey_t *key, int line, const char *path,
                         char **value)
{
    size_t max = key->max > 0 ? (size_t)key->max : DEFAULT_MAX_STR;
    if (strlen(*value) > max)
        return br_cload_error(ld, line, path, "longer than %zu characters", max);
    if (key->check) {
        char why[256] = "";
        if (key->check(*value, why, sizeof(why)) != 0)
            return br_cload_error(ld, line, path, "%s", why);
    }
    if (key->flags & BR_CK_URL)
        return check_url(ld, line, path, *value);
    if (key->flags & BR_CK_PATH) {
        char *abs = NULL;
        if ((*value)[0] == '\0')
            return br_cload_error(ld, line, path, "empty path");
        if (br_cload_path(ld, line, path, *value, &abs) != 0)
            return -1;
        free(*value);
        *value = abs;
    }
    return 0;
}

static int set_enum(br_cload_t *ld, const br_ckey_t *key, int line, const char *path, const char *s,
                    void *field)
{
    for (int i = 0; key->enums[i]; i++) {
        if (strcmp(s, key->enums[i]) == 0) {
            memcpy(field, &i, sizeof(int));
            return 0;
        }
    }
    char allowed[256] = "";
    size_t used = 0;
    for (int i = 0; key->enums[i]; i++) {
        int n = snprintf(allowed + used, sizeof(allowed) - used, "%s\"%s\"", i ? ", " : "",
                         key->enums[i]);
        if (n < 0 || (size_t)n >= sizeof(allowed) - used)
            break;
        used += (size_t)n;
    }
    return br_cload_error(ld, line, path, "\"%.64s\" is not one of %s", s, allowed);
}

static void secret_wipe_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

/* Replaces every occurrence of `secret` in `msg` (librdkafka may echo values back). */
static void scrub(char *msg, const char *secret)
{
    size_t slen = strlen(secret);
    if (slen == 0)
        return;
    char *hit;
    while ((hit = strstr(msg, secret)) != NULL) {
        size_t rlen = strlen(SFB_REDACTED);
        size_t tail = strlen(hit + slen);
        if (rlen <= slen) {
            memcpy(hit, SFB_REDACTED, rlen);
            memmove(hit + rlen, hit + slen, tail + 1);
        } else {
            /* Rare (a secret shorter than the marker): blank it out in place. */
            memset(hit, '*', slen);
        }
    }
}

static const char *const managed_properties[][2] = {
    {"bootstrap.servers", "kafka.brokers"},
    {"metadata.broker.list", "kafka.brokers"},
    {"group.id", "kafka.group"},
};

static int add_property(br_cload_t *ld, const br_ckey_t *key, void *base, rd_kafka_conf_t *scratch,
                        config_setting_t *s, const char *name, const char *path)
{
    br_kafka_property_t **props = (br_kafka_property_t **)((char *)base + key->offset);
    size_t *count = (size_t *)((char *)base + key->count_offset);
    int line = config_setting_source_line(s);
    char *value = NULL, *ref = NULL, num[64];
    br_secret_origin_t origin = BR_SECRET_INLINE;
    int rc = -1;

    for (size_t i = 0; i < sizeof(managed_properties) / sizeof(managed_properties[0]); i++)
        if (strcmp(name, managed_properties[i][0]) == 0)
            return br_cload_error(ld, line, path, "set %s instead", managed_properties[i][1]);
    if (*count >= MAX_PROPERTIES)
        return br_cload_error(ld, line, path, "more than %d properties", MAX_PROPERTIES);

    switch (config_setting_type(s)) {
    case CONFIG_TYPE_STRING:
        if (resolve_ref(ld, line, path, config_setting_get_string(s), &value, &origin, &ref) != 0)
            goto done;
        break;
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        snprintf(num, sizeof(num), "%lld", config_setting_get_int64(s));
        value = strdup(num);
        break;
    case CONFIG_TYPE_FLOAT:
        snprintf(num, sizeof(num), "%.17g", config_setting_get_float(s));
        value = strdup(num);
        break;
    case CONFIG_TYPE_BOOL:
        value = strdup(config_setting_get_bool(s) ? "true" : "false");
        break;
    default:
        br_cload_error(ld, line, path, "expected a string, number or boolean, got %s",
                       type_name(config_setting_type(s)));
        goto done;
    }
    if (!value) {
        br_cload_error(ld, line, path, "out of memory");
        goto done;
    }
    bool secret = br_config_property_is_secret(name);
    char kerr[512];
    /* "consumer." and "producer." limit a property to one kind of handle
     * (connectors/kafka/kf.h); librdkafka checks the name without it. */
    const char *rd_name = name;
    if (!strncmp(rd_name, "consumer.", 9))
        rd_name += 9;
    else if (!strncmp(rd_name, "producer.", 9))
        rd_name += 9;
    if (rd_kafka_conf_set(scratch, rd_name, value, kerr, sizeof(kerr)) != RD_KAFKA_CONF_OK) {
        if (secret)
            scrub(kerr, value);
        br_cload_error(ld, line, path, "rejected by librdkafka: %s", kerr);
        goto done;
    }
    if (secret && origin == BR_SECRET_INLINE)
        br_cload_warn(ld, line, path,
                      "secret written inline: prefer \"${ENV_VAR}\" or \"@/path/to/file\"");
    br_kafka_property_t *grown = realloc(*props, (*count + 1) * sizeof(**props));
    if (!grown) {
        br_cload_error(ld, line, path, "out of memory");
        goto done;
    }
    *props = grown;
    br_kafka_property_t *p = &grown[*count];
    memset(p, 0, sizeof(*p));
    p->name = strdup(name);
    if (!p->name) {
        br_cload_error(ld, line, path, "out of memory");
        goto done;
    }
    p->value = value;
    p->ref = ref;
    p->origin = origin;
    p->secret = secret;
    value = ref = NULL;
    (*count)++;
    rc = 0;
done:
    secret_wipe_free(value);
    free(ref);
    return rc;
}

/* kafka.properties: nested groups spell dotted names (security { protocol = ... }). */
static int parse_props(br_cload_t *ld, const br_ckey_t *key, void *base, rd_kafka_conf_t *scratch,
                       config_setting_t *group, const char *prefix, const char *path, int depth)
{
    if (depth > MAX_PROPS_DEPTH)
        return br_cload_error(ld, config_setting_source_line(group), path,
                              "nested more than %d levels", MAX_PROPS_DEPTH);
    int n = config_setting_length(group);
    for (int i = 0; i < n; i++) {
        config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
        char name[PATH_BUF], sub[PATH_BUF];
        if (join_path(ld, name, sizeof(name), prefix, config_setting_name(s)) != 0 ||
            join_path(ld, sub, sizeof(sub), path, config_setting_name(s)) != 0)
            return -1;
        int rc = config_setting_is_group(s)
                     ? parse_props(ld, key, base, scratch, s, name, sub, depth + 1)
                     : add_property(ld, key, base, scratch, s, name, sub);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/*
 * A PEM key may be given as its text (inline, ${ENV} or @file) or as a plain
 * path to the PEM file; either way the config holds the text afterwards, so
 * a missing or wrong file is found by `check`, not at the first login.
 */
static int load_pem(br_cload_t *ld, int line, const char *path, br_secret_t *sec)
{
    if (strncmp(sec->value, "-----BEGIN ", 11) != 0) {
        char *file = NULL, *data = NULL, why[256];
        size_t len = 0;
        if (br_cload_path(ld, line, path, sec->value, &file) != 0)
            return -1;
        if (br_cload_read_file(file, BR_CONFIG_MAX_SECRET_BYTES, &data, &len, why, sizeof(why)) !=
            0) {
            /* The value names a file (it is not PEM text), so naming it is safe. */
            br_cload_error(ld, line, path, "cannot read PEM file '%s': %s", file, why);
            free(file);
            return -1;
        }
        secret_wipe_free(sec->value);
        free(sec->ref);
        sec->value = data;
        sec->ref = file;
        sec->origin = BR_SECRET_FILE;
    }
    if (strncmp(sec->value, "-----BEGIN ", 11) != 0 || !strstr(sec->value, "PRIVATE KEY-----") ||
        !strstr(sec->value, "-----END "))
        return br_cload_error(
            ld, line, path, "%s%s%s is not a PEM private key (-----BEGIN ... PRIVATE KEY-----)",
            sec->ref ? "'" : "the value", sec->ref ? sec->ref : "", sec->ref ? "'" : "");
    return 0;
}

static int parse_key(br_cload_t *ld, const br_ckey_t *key, config_setting_t *s, void *base,
                     const char *path, int parent_line)
{
    void *field = (char *)base + key->offset;
    int line = s ? (int)config_setting_source_line(s) : parent_line;
    int type = s ? config_setting_type(s) : CONFIG_TYPE_NONE;

    if (!s && (key->flags & BR_CK_REQUIRED))
        return br_cload_error(ld, parent_line, path, "required key is missing");

    /* Type check first: one message shape for every wrong type. */
    if (s) {
        bool ok;
        switch (key->type) {
        case BR_CT_STRING:
        case BR_CT_SECRET:
        case BR_CT_ENUM:
            ok = type == CONFIG_TYPE_STRING;
            break;
        case BR_CT_INT:
            ok = type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64;
            break;
        case BR_CT_BOOL:
            ok = type == CONFIG_TYPE_BOOL;
            break;
        case BR_CT_GROUP:
        case BR_CT_PROPS:
            ok = type == CONFIG_TYPE_GROUP;
            break;
        case BR_CT_LIST:
            /* `()` is a list; an empty `[]` is an array but means the same. */
            ok = type == CONFIG_TYPE_LIST ||
                 (type == CONFIG_TYPE_ARRAY && config_setting_length(s) == 0);
            break;
        default:
            ok = false;
        }
        if (!ok)
            return br_cload_error(ld, line, path, "expected %s, got %s", expected_name(key),
                                  type_name(type));
    }

    switch (key->type) {
    case BR_CT_STRING: {
        char **out = field;
        br_secret_origin_t origin;
        char *ref = NULL;
        if (!s) {
            if (!key->def)
                return 0;
            if (!(*out = strdup(key->def)))
                return br_cload_error(ld, line, path, "out of memory");
        } else {
            if (resolve_ref(ld, line, path, config_setting_get_string(s), out, &origin, &ref) != 0)
                return -1;
            free(ref); /* non-secret: printed as is, the origin adds nothing */
        }
        return finish_string(ld, key, line, path, out);
    }
    case BR_CT_SECRET: {
        br_secret_t *sec = field;
        if (!s)
            return 0;
        if (resolve_ref(ld, line, path, config_setting_get_string(s), &sec->value, &sec->origin,
                        &sec->ref) != 0)
            return -1;
        if (sec->value[0] == '\0') {
            /* `password = ""` means unset, so a flow's requirement still catches it. */
            free(sec->value);
            sec->value = NULL;
            sec->origin = BR_SECRET_UNSET;
            return 0;
        }
        if ((key->flags & BR_CK_PEM) && load_pem(ld, line, path, sec) != 0)
            return -1;
        if (sec->origin == BR_SECRET_INLINE)
            br_cload_warn(ld, line, path,
                          "secret written inline: prefer \"${ENV_VAR}\" or \"@/path/to/file\"");
        size_t max = key->max > 0 ? (size_t)key->max : BR_CONFIG_MAX_SECRET_BYTES;
        if (strlen(sec->value) > max)
            return br_cload_error(ld, line, path, "longer than %zu characters", max);
        return 0;
    }
    case BR_CT_INT: {
        long long v = s ? config_setting_get_int64(s) : key->idef;
        if (v < key->min || v > key->max)
            return br_cload_error(ld, line, path, "%lld is out of range %lld..%lld", v, key->min,
                                  key->max);
        int iv = (int)v;
        memcpy(field, &iv, sizeof(iv));
        return 0;
    }
    case BR_CT_BOOL: {
        bool b = s ? config_setting_get_bool(s) != 0 : key->idef != 0;
        memcpy(field, &b, sizeof(b));
        return 0;
    }
    case BR_CT_ENUM:
        if (!s) {
            if (!key->def)
                return 0;
            return set_enum(ld, key, line, path, key->def, field);
        }
        return set_enum(ld, key, line, path, config_setting_get_string(s), field);
    case BR_CT_GROUP:
        return parse_group(ld, key->sub, s, field, path, line);
    case BR_CT_LIST: {
        void **array = field;
        size_t *count = (size_t *)((char *)base + key->count_offset);
        unsigned n = s ? (unsigned)config_setting_length(s) : 0;
        if ((long long)n < key->min) {
            if (n == 0 && key->min == 1)
                return br_cload_error(ld, line, path, "at least one entry is required");
            return br_cload_error(ld, line, path, "has %u entries, at least %lld required", n,
                                  key->min);
        }
        if ((long long)n > key->max)
            return br_cload_error(ld, line, path, "has %u entries, at most %lld allowed", n,
                                  key->max);
        if (n == 0)
            return 0;
        *array = calloc(n, key->elem_size);
        if (!*array)
            return br_cload_error(ld, line, path, "out of memory");
        *count = n;
        for (unsigned i = 0; i < n; i++) {
            config_setting_t *elem = config_setting_get_elem(s, i);
            char sub[PATH_BUF + 16];
            snprintf(sub, sizeof(sub), "%.*s.[%u]", PATH_BUF - 1, path, i);
            if (!config_setting_is_group(elem))
                return br_cload_error(ld, config_setting_source_line(elem), sub,
                                      "expected a group { ... }, got %s",
                                      type_name(config_setting_type(elem)));
            if (parse_group(ld, key->sub, elem, (char *)*array + i * key->elem_size, sub,
                            config_setting_source_line(elem)) != 0)
                return -1;
        }
        return 0;
    }
    case BR_CT_PROPS: {
        if (!s)
            return 0;
        rd_kafka_conf_t *scratch = rd_kafka_conf_new();
        int rc = parse_props(ld, key, base, scratch, s, "", path, 1);
        rd_kafka_conf_destroy(scratch);
        return rc;
    }
    }
    return br_cload_error(ld, line, path, "internal error: unknown key type");
}

static int parse_group(br_cload_t *ld, const br_ckey_t *keys, config_setting_t *group, void *base,
                       const char *path, int line)
{
    char sub[PATH_BUF];
    if (group) {
        int n = config_setting_length(group);
        for (int i = 0; i < n; i++) {
            config_setting_t *child = config_setting_get_elem(group, (unsigned)i);
            const char *name = config_setting_name(child);
            const br_ckey_t *k = keys;
            while (k->name && strcmp(k->name, name) != 0)
                k++;
            if (!k->name) {
                if (join_path(ld, sub, sizeof(sub), path, name) != 0)
                    return -1;
                return unknown_key(ld, keys, child, sub);
            }
        }
    }
    for (const br_ckey_t *k = keys; k->name; k++) {
        config_setting_t *child = group ? config_setting_get_member(group, k->name) : NULL;
        if (join_path(ld, sub, sizeof(sub), path, k->name) != 0)
            return -1;
        if (parse_key(ld, k, child, base, sub, line) != 0)
            return -1;
    }
    return 0;
}

void br_config_free_fields(const br_ckey_t *keys, void *base)
{
    for (const br_ckey_t *k = keys; k->name; k++) {
        void *field = (char *)base + k->offset;
        switch (k->type) {
        case BR_CT_STRING: {
            char **s = field;
            free(*s);
            *s = NULL;
            break;
        }
        case BR_CT_SECRET: {
            br_secret_t *sec = field;
            secret_wipe_free(sec->value);
            free(sec->ref);
            memset(sec, 0, sizeof(*sec));
            break;
        }
        case BR_CT_GROUP:
            br_config_free_fields(k->sub, field);
            break;
        case BR_CT_LIST: {
            char **array = field;
            size_t *count = (size_t *)((char *)base + k->count_offset);
            for (size_t i = 0; *array && i < *count; i++)
                br_config_free_fields(k->sub, *array + i * k->elem_size);
            free(*array);
            *array = NULL;
            *count = 0;
            break;
        }
        case BR_CT_PROPS: {
            br_kafka_property_t **props = field;
            size_t *count = (size_t *)((char *)base + k->count_offset);
            for (size_t i = 0; *props && i < *count; i++) {
                free((*props)[i].name);
                secret_wipe_free((*props)[i].value);
                free((*props)[i].ref);
            }
            free(*props);
            *props = NULL;
            *count = 0;
            break;
        }
        case BR_CT_INT:
        case BR_CT_BOOL:
        case BR_CT_ENUM:
            break;
        }
    }
}

void br_config_destroy(br_config_t *config)
{
    if (!config)
        return;
    br_config_free_fields(br_config_root_keys, config);
    explicit_bzero(config->token_store.key_bytes, sizeof(config->token_store.key_bytes));
    for (size_t i = 0; i < config->warnings_count; i++)
        free(config->warnings[i]);
    free(config->warnings);
    free(config->kafka_error);
    free(config->path);
    free(config);
}

int br_config_require_kafka(const br_config_t *config, char *errstr, size_t errstr_size)
{
    if (!config || !config->kafka_error)
        return 0;
    snprintf(errstr, errstr_size, "%s", config->kafka_error);
    return -1;
}

/*
 * libconfig would follow `@include "file"` to any path, including devices;
 * one file is the whole config so `check` shows everything that is used.
 * The scanner only honours @include at the start of a line, so that is
 * where we look.
 */
static int reject_includes(br_cload_t *ld, const char *text)
{
    int line = 1;
    const char *p = text;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncmp(p, "@include", 8) == 0)
            return br_cload_error(ld, line, NULL,
                                  "@include is not supported: keep the whole config in one file");
        p = strchr(p, '\n');
        if (!p)
            break;
        p++;
        line++;
    }
    return 0;
}

static br_config_t *load_text(const char *name, const char *dir, const char *text, size_t len,
                              char *errstr, size_t errstr_size)
{
    br_cload_t ld = {.name = name, .errstr = errstr, .errstr_size = errstr_size};
    config_t lc;
    char *copy = NULL;
    br_config_t *config = NULL;
    bool ok = false;

    config_init(&lc);
    ld.lc = &lc;
    if (errstr && errstr_size)
        errstr[0] = '\0';
    if (dir && !(ld.dir = strdup(dir))) {
        br_cload_error(&ld, 0, NULL, "out of memory");
        goto done;
    }
    if (len > BR_CONFIG_MAX_FILE_BYTES) {
        br_cload_error(&ld, 0, NULL, "larger than %d bytes", BR_CONFIG_MAX_FILE_BYTES);
        goto done;
    }
    /* A NUL would silently end libconfig's input early: binary is an error. */
    const char *nul = memchr(text, '\0', len);
    if (nul) {
        int line = 1;
        for (const char *p = text; p < nul; p++)
            line += *p == '\n';
        br_cload_error(&ld, line, NULL, "contains a NUL byte: not a text file");
        goto done;
    }
    if (!(copy = malloc(len + 1))) {
        br_cload_error(&ld, 0, NULL, "out of memory");
        goto done;
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    if (reject_includes(&ld, copy) != 0)
        goto done;
    if (config_read_string(&lc, copy) != CONFIG_TRUE) {
        br_cload_error(&ld, config_error_line(&lc), NULL, "syntax error: %s",
                       config_error_text(&lc) ? config_error_text(&lc) : "unknown");
        goto done;
    }
    if (!(config = calloc(1, sizeof(*config))) || !(config->path = strdup(name))) {
        br_cload_error(&ld, 0, NULL, "out of memory");
        goto done;
    }
    ld.config = config;
    if (parse_group(&ld, br_config_root_keys, config_root_setting(&lc), config, "", 0) != 0)
        goto done;
    if (br_config_finalize(&ld) != 0)
        goto done;
    ok = true;
done:
    config_destroy(&lc);
    free(copy);
    free(ld.dir);
    if (!ok) {
        br_config_destroy(config);
        config = NULL;
    }
    return config;
}

br_config_t *br_config_load_buffer(const char *name, const char *text, size_t len, char *errstr,
                                   size_t errstr_size)
{
    return load_text(name ? name : "<buffer>", NULL, text ? text : "", text ? len : 0, errstr,
                     errstr_size);
}

br_config_t *br_config_load(const char *path, char *errstr, size_t errstr_size)
{
    char *text = NULL, *dir = NULL, why[256];
    size_t len = 0;
    br_config_t *config = NULL;

    if (!path || !*path) {
        snprintf(errstr, errstr_size, "no config file given");
        return NULL;
    }
    if (br_cload_read_file(path, BR_CONFIG_MAX_FILE_BYTES, &text, &len, why, sizeof(why)) != 0) {
        snprintf(errstr, errstr_size, "%s: cannot read config file: %s", path, why);
        return NULL;
    }
    /* Relative paths inside the file resolve against the file's own directory. */
    const char *slash = strrchr(path, '/');
    char *parent = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    dir = parent ? realpath(parent, NULL) : NULL;
    free(parent);
    if (!dir) {
        snprintf(errstr, errstr_size, "%s: cannot resolve the config file's directory: %s", path,
                 strerror(errno));
        goto done;
    }
    config = load_text(path, dir, text, len, errstr, errstr_size);
done:
    free(dir);
    free(text);
    return config;
}
