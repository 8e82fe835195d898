/*
 * emu_soql_int.h - private to the SOQL module: tokens, the parsed and bound
 * query, errors. Pipeline: emu_soql_lex.c (text -> tokens), emu_soql_parse.c
 * (tokens -> query with raw text positions), emu_soql_bind.c (names and
 * literals checked against the schema, typed), emu_soql_eval.c (records ->
 * rows). emu_soql.c holds the arena, errors and the public entry points.
 */
#ifndef EMU_SOQL_INT_H
#define EMU_SOQL_INT_H

#include <stdarg.h>
#include <stdint.h>

#include "emu_soql.h"

/* Bounds on what one query may hold; the text limit already caps all of them, these make the
   costs explicit and keep recursion shallow. */
#define SOQL_MAX_DEPTH  100   /* nested parentheses and NOTs in WHERE */
#define SOQL_MAX_IN     20000 /* values in one IN / NOT IN / INCLUDES list */
#define SOQL_MAX_FIELDS 1000  /* items in the SELECT list */
#define SOQL_MAX_ORDER  32    /* ORDER BY keys (Salesforce's limit) */
#define SOQL_MAX_OFFSET 2000  /* Salesforce's maximum OFFSET */
#define SOQL_MAX_NDAYS  100000

/* ---- arena: every allocation of a prepared query, freed at once ---- */
typedef struct soql_chunk soql_chunk_t;
typedef struct soql_arena {
    soql_chunk_t *head;
    size_t used, cap; /* in head */
} soql_arena_t;
void *soql_alloc(soql_arena_t *a, size_t size); /* zeroed; NULL when out of memory */
char *soql_strndup(soql_arena_t *a, const char *s, size_t n);
void soql_arena_free(soql_arena_t *a);

/* ---- errors ---- */
typedef struct soql_err {
    const char *text; /* the query, for the echoed line and row/column */
    size_t text_len;
    char *code;
    size_t code_size;
    char *msg;
    size_t msg_size;
    bool set; /* first error wins */
} soql_err_t;
/* Salesforce's form: "\n<line>\n<caret>\nERROR at Row:r:Column:c\n<text>". */
void soql_error_at(soql_err_t *e, const char *code, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void soql_error_plain(soql_err_t *e, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Printable-ASCII excerpt of text[off, off+len) for messages, "..." when cut. */
const char *soql_excerpt(const char *text, size_t off, size_t len, char *buf, size_t size);

/* ---- tokens ---- */
typedef enum {
    TK_EOF,
    TK_IDENT, /* letters, digits, '_' and '.', e.g. Account.Name */
    TK_STRING,
    TK_NUMBER,
    TK_DATE,
    TK_DATETIME,
    TK_LPAREN,
    TK_RPAREN,
    TK_COMMA,
    TK_COLON,
    TK_EQ,
    TK_NE,
    TK_LT,
    TK_GT,
    TK_LE,
    TK_GE,
} soql_tk_t;

typedef struct soql_tok {
    soql_tk_t kind;
    uint32_t off, len;
} soql_tok_t;

/* Tokens end with one TK_EOF. *toks is malloc'd (free() it). Returns 0, or -1 with e set. */
int soql_lex(const char *text, size_t len, soql_tok_t **toks, size_t *ntoks, soql_err_t *e);

/* ---- bound names and values ---- */
typedef enum {
    FT_STRING, /* string, textarea, email, phone, url, picklist...: case-insensitive */
    FT_ID,     /* id, reference */
    FT_BOOL,
    FT_NUMBER, /* int, double, currency, percent */
    FT_DATE,
    FT_DATETIME,
    FT_MULTI, /* multipicklist "a;b;c" */
} soql_ftype_t;

typedef struct soql_fref {
    int rel;    /* -1: the FROM object; else index into q->rels */
    char *name; /* canonical field name */
    soql_ftype_t type;
    const char *tname; /* type as Salesforce names it in messages */
    bool sortable;
} soql_fref_t;

typedef struct soql_rel {
    char *name;   /* relationshipName, canonical: "Account" */
    char *field;  /* reference field on the FROM object: "AccountId" */
    char *target; /* referenceTo[0], canonical: "Account" */
} soql_rel_t;

typedef enum {
    V_NULL,
    V_STR,
    V_NUM,
    V_BOOL,
    V_DAY,   /* days since 1970-01-01 */
    V_MS,    /* milliseconds since the epoch, UTC */
    V_DATEKW /* TODAY, LAST_N_DAYS:n...: a range of days resolved at execution */
} soql_vk_t;

typedef enum { KW_TODAY, KW_YESTERDAY, KW_TOMORROW, KW_LAST_N_DAYS, KW_NEXT_N_DAYS } soql_datekw_t;

typedef struct soql_val {
    soql_vk_t k;
    int64_t i; /* V_BOOL, V_DAY, V_MS; V_DATEKW: n */
    double d;  /* V_NUM */
    const char *s;
    size_t n;         /* V_STR */
    soql_datekw_t kw; /* V_DATEKW */
} soql_val_t;

/* ---- the query ---- */
typedef enum {
    LIT_STRING,
    LIT_NUMBER,
    LIT_TRUE,
    LIT_FALSE,
    LIT_NULL,
    LIT_DATE,
    LIT_DATETIME,
    LIT_DATEKW
} soql_lk_t;

typedef struct soql_lit {
    soql_lk_t kind;
    uint32_t off, len; /* the token (for LIT_DATEKW the keyword) */
    soql_datekw_t kw;
    int64_t n;
} soql_lit_t;

typedef enum {
    OP_EQ,
    OP_NE,
    OP_LT,
    OP_GT,
    OP_LE,
    OP_GE,
    OP_LIKE,
    OP_IN,
    OP_NOTIN,
    OP_INCLUDES,
    OP_EXCLUDES
} soql_op_t;

typedef enum { C_AND, C_OR, C_NOT, C_CMP } soql_ck_t;

/* LIKE pattern items: 0..255 a byte (matched case-insensitively), or these. */
#define LIKE_ANY (-1) /* % */
#define LIKE_ONE (-2) /* _ */

typedef struct soql_cond soql_cond_t;
struct soql_cond {
    soql_ck_t kind;
    soql_cond_t **kids; /* C_AND/C_OR: nkids >= 2; C_NOT: 1 */
    size_t nkids;
    /* C_CMP */
    uint32_t path_off, path_len, op_off;
    soql_op_t op;
    soql_lit_t *lits;
    size_t nlits;
    /* bound */
    soql_fref_t f;
    soql_val_t *vals; /* nlits */
    int16_t *like;    /* OP_LIKE */
    size_t nlike;
};

typedef struct soql_item {
    uint32_t off, len;
    soql_fref_t f;
} soql_item_t;

typedef struct soql_order {
    uint32_t off, len;
    bool desc, nulls_last;
    soql_fref_t f;
} soql_order_t;

struct emu_soql {
    soql_arena_t arena;
    uint32_t from_off, from_len;
    char *from; /* canonical */
    bool count;
    uint32_t count_off;
    soql_item_t *items;
    size_t nitems;
    soql_cond_t *where;
    soql_order_t *order;
    size_t norder;
    int64_t limit; /* -1: none */
    int64_t offset;
    soql_rel_t *rels;
    size_t nrels;
};

int soql_parse(emu_soql_t *q, const char *text, const soql_tok_t *toks, size_t ntoks,
               soql_err_t *e);
int soql_bind(emu_soql_t *q, const char *text, const emu_soql_schema_t *schema, soql_err_t *e);

/* Strict YYYY-MM-DD -> days since the epoch. 0 or -1. */
int soql_parse_date(const char *s, size_t n, int64_t *days);
/* YYYY-MM-DDThh:mm:ss[.fff](Z|+hh:mm|+hhmm) -> ms since the epoch. 0 or -1. */
int soql_parse_datetime(const char *s, size_t n, int64_t *ms);
/* Case-insensitive ASCII compare of two byte strings. */
int soql_strcasecmp_n(const char *a, size_t an, const char *b, size_t bn);
bool soql_keyword(const char *text, const soql_tok_t *t, const char *kw);

#endif
