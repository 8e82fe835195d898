/*
 * br_config_int.h - private to br_config_*.c and its tests: the key table and
 * the loader context.
 *
 * Each row describes one key relative to the struct of its enclosing group:
 * the root table's offsets are into br_config_t, the `kafka` sub-table's into
 * br_config_kafka_t, and so on. A GROUP row nests a sub-table in place; a LIST
 * row is a libconfig list of groups stored as a calloc'ed array plus a count.
 * To add a section (source, queries): add its struct to br_config.h, a
 * sub-table here, a row in the root table, and any cross-key rule to
 * br_config_finalize().
 */
#ifndef BR_CONFIG_INT_H
#define BR_CONFIG_INT_H

#include "br_config.h"

#include <libconfig.h>

typedef enum {
    BR_CT_STRING, /* char *; default `def`; max length `max` (0 = 4096) */
    BR_CT_SECRET, /* br_secret_t; never printed */
    BR_CT_INT,    /* int; default `idef`; bounds min..max */
    BR_CT_BOOL,   /* bool; default `idef` */
    BR_CT_ENUM,   /* an enum stored as int; `enums` lists names, index = value; default `def` */
    BR_CT_GROUP,  /* nested struct at `offset`, keys in `sub` */
    BR_CT_LIST,   /* list of groups: pointer at `offset`, size_t count at `count_offset` */
    BR_CT_PROPS,  /* kafka.properties: free-form librdkafka properties */
} br_ctype_t;

#define BR_CK_REQUIRED 0x01 /* must be present (per-flow auth requirements live in finalize) */
#define BR_CK_PATH     0x02 /* a file path: "~/" expanded, relative to the config file's dir */
#define BR_CK_URL      0x04 /* http(s)://host[...], trailing '/' removed */
#define BR_CK_PEM      0x08 /* SECRET holding PEM text; a value that is not PEM is a path to read */

typedef struct br_ckey_s br_ckey_t;

/* Validates one string value; on failure writes why (a sentence fragment). */
typedef int (*br_ccheck_fn)(const char *value, char *why, size_t why_size);

struct br_ckey_s {
    const char *name;
    br_ctype_t type;
    int flags;
    size_t offset;
    const char *def;          /* STRING/ENUM default (NULL = unset) */
    long long idef, min, max; /* INT/BOOL default and INT bounds; LIST element count bounds */
    const char *const *enums; /* ENUM names, NULL-terminated */
    br_ccheck_fn check;       /* extra validation of STRING values */
    const br_ckey_t *sub;     /* GROUP/LIST keys, terminated by a row with name NULL */
    size_t elem_size;         /* LIST element size */
    size_t count_offset;      /* LIST: offset of the size_t count in the parent struct */
    const char *desc;         /* one or two sentences for the reference and the example */
};

/* The root table (br_config_table.c). */
extern const br_ckey_t br_config_root_keys[];

/* Loader context: what error messages need while the libconfig tree is alive. */
typedef struct br_cload_s {
    const char *name; /* file name for messages */
    char *dir;        /* directory relative paths resolve against */
    config_t *lc;     /* the parsed tree */
    br_config_t *config;
    char *errstr;
    size_t errstr_size;
} br_cload_t;

/* Formats "FILE:LINE: key 'PATH': ..." into ld->errstr (line 0 = no line). Returns -1. */
int br_cload_error(br_cload_t *ld, int line, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Same shape, appended to config->warnings. */
void br_cload_warn(br_cload_t *ld, int line, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Line of the setting at a libconfig path ("orgs.[1].name"), or of its closest
 * existing parent; 0 if none. */
int br_cload_line(br_cload_t *ld, const char *path);

/* Resolves a "~/", relative or absolute path into a malloc'ed absolute path. */
int br_cload_path(br_cload_t *ld, int line, const char *key, const char *in, char **out);

/* Reads a regular file of at most `max` bytes into a NUL-terminated malloc'ed
 * buffer (*len excludes the NUL). Never blocks on FIFOs or devices. */
int br_cload_read_file(const char *path, size_t max, char **out, size_t *len, char *why,
                       size_t why_size);

/* Cross-key rules, after the table pass (br_config_table.c). Returns 0 or -1. */
int br_config_finalize(br_cload_t *ld);

/* Frees every table-described field of `base` (a struct described by `keys`). */
void br_config_free_fields(const br_ckey_t *keys, void *base);

/* The value of a secret-named kafka property must be redacted. */
bool br_config_property_is_secret(const char *name);

#endif
