/*
 * emu_soql_parse.c - recursive-descent parser of the supported SOQL subset.
 *
 *   query  := SELECT items FROM name [WHERE cond] [ORDER BY keys] [LIMIT n] [OFFSET n]
 *   items  := COUNT() | path {, path}
 *   cond   := term {AND term} | term {OR term}      (mixing needs parentheses, as in SOQL)
 *   term   := NOT term | ( cond ) | path op value | path [NOT] IN (values)
 *           | path LIKE string | path INCLUDES|EXCLUDES (values)
 *   keys   := path [ASC|DESC] [NULLS FIRST|LAST] {, ...}
 *
 * Only positions are kept here; emu_soql_bind.c resolves names and types.
 * Recursion is bounded by SOQL_MAX_DEPTH.
 */
#include <stdlib.h>
#include <string.h>

#include "emu_soql_int.h"

typedef struct soql_parser {
    emu_soql_t *q;
    const char *text;
    const soql_tok_t *toks;
    size_t ntoks, pos;
    soql_err_t *e;
} soql_parser_t;

/* Words that end a path or start a clause: never taken as a field name. */
static const char *const reserved[] = {
    "SELECT", "FROM",   "WHERE", "ORDER", "BY",       "LIMIT",    "OFFSET", "AND",
    "OR",     "NOT",    "IN",    "LIKE",  "INCLUDES", "EXCLUDES", "NULL",   "TRUE",
    "FALSE",  "ASC",    "DESC",  "NULLS", "GROUP",    "HAVING",   "WITH",   "FOR",
    "USING",  "TYPEOF", "WHEN",  "THEN",  "ELSE",     "END",      NULL};

/* SOQL we know and do not emulate: named in the message so nobody mistakes it for a typo. */
static const char *const unsupported[] = {"GROUP",
                                          "HAVING",
                                          "WITH",
                                          "FOR",
                                          "USING",
                                          "TYPEOF",
                                          "UPDATE",
                                          "VIEW",
                                          "ROLLUP",
                                          "CUBE",
                                          "FIELDS",
                                          "toLabel",
                                          "convertCurrency",
                                          "FORMAT",
                                          "SUM",
                                          "AVG",
                                          "MIN",
                                          "MAX",
                                          "COUNT_DISTINCT",
                                          "CALENDAR_YEAR",
                                          "DAY_ONLY",
                                          "GROUPING",
                                          "DISTANCE",
                                          "GEOLOCATION",
                                          NULL};

static const soql_tok_t *peek(soql_parser_t *p)
{
    return &p->toks[p->pos];
}

static const soql_tok_t *peek2(soql_parser_t *p)
{
    return p->pos + 1 < p->ntoks ? &p->toks[p->pos + 1] : &p->toks[p->ntoks - 1];
}

static const soql_tok_t *take(soql_parser_t *p)
{
    const soql_tok_t *t = &p->toks[p->pos];
    if (t->kind != TK_EOF)
        p->pos++;
    return t;
}

static bool is_kw(soql_parser_t *p, const char *kw)
{
    return soql_keyword(p->text, peek(p), kw);
}

static bool in_list(soql_parser_t *p, const soql_tok_t *t, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (soql_keyword(p->text, t, list[i]))
            return true;
    return false;
}

/* "unexpected token: 'X'" at t, Salesforce's wording; unsupported SOQL says so too. */
static int unexpected_at(soql_parser_t *p, const soql_tok_t *t)
{
    char buf[48];
    if (t->kind == TK_EOF) {
        soql_error_at(p->e, "MALFORMED_QUERY", t->off, "unexpected token: <EOF>");
    } else if (in_list(p, t, unsupported)) {
        soql_excerpt(p->text, t->off, t->len, buf, sizeof(buf));
        soql_error_at(p->e, "MALFORMED_QUERY", t->off,
                      "unexpected token: '%s' (%s is not supported by sfemu)", buf, buf);
    } else {
        soql_error_at(p->e, "MALFORMED_QUERY", t->off, "unexpected token: '%s'",
                      soql_excerpt(p->text, t->off, t->len, buf, sizeof(buf)));
    }
    return -1;
}

static int unexpected(soql_parser_t *p)
{
    return unexpected_at(p, peek(p));
}

static int expect_kw(soql_parser_t *p, const char *kw)
{
    if (!is_kw(p, kw))
        return unexpected(p);
    take(p);
    return 0;
}

static int expect(soql_parser_t *p, soql_tk_t kind)
{
    if (peek(p)->kind != kind)
        return unexpected(p);
    take(p);
    return 0;
}

static void *alloc(soql_parser_t *p, size_t size)
{
    void *m = soql_alloc(&p->q->arena, size);
    if (!m)
        soql_error_plain(p->e, "UNKNOWN_EXCEPTION", "out of memory");
    return m;
}

/* A field path token: an identifier that is not a keyword. */
static int path(soql_parser_t *p, uint32_t *off, uint32_t *len)
{
    const soql_tok_t *t = peek(p);
    if (t->kind != TK_IDENT || in_list(p, t, reserved))
        return unexpected(p);
    if (peek2(p)->kind == TK_LPAREN) {
        /* A function call: COUNT() is handled by the SELECT list, nothing else is emulated. */
        char buf[48];
        soql_excerpt(p->text, t->off, t->len, buf, sizeof(buf));
        soql_error_at(p->e, "MALFORMED_QUERY", t->off,
                      "unexpected token: '%s' (function %s() is not supported by sfemu)", buf, buf);
        return -1;
    }
    take(p);
    *off = t->off;
    *len = t->len;
    return 0;
}

/* A non-negative integer (LIMIT, OFFSET, LAST_N_DAYS:n) up to max. */
static int integer(soql_parser_t *p, int64_t max, int64_t *out)
{
    const soql_tok_t *t = peek(p);
    int64_t v = 0;
    if (t->kind != TK_NUMBER)
        return unexpected(p);
    for (uint32_t i = 0; i < t->len; i++) {
        char c = p->text[t->off + i];
        if (c < '0' || c > '9')
            return unexpected(p);
        v = v * 10 + (c - '0');
        if (v > max) {
            soql_error_at(p->e, "MALFORMED_QUERY", t->off, "number too large: %lld is the maximum",
                          (long long)max);
            return -1;
        }
    }
    take(p);
    *out = v;
    return 0;
}

static const struct {
    const char *name;
    soql_datekw_t kw;
    bool has_n;
} datekws[] = {
    {"TODAY", KW_TODAY, false},
    {"YESTERDAY", KW_YESTERDAY, false},
    {"TOMORROW", KW_TOMORROW, false},
    {"LAST_N_DAYS", KW_LAST_N_DAYS, true},
    {"NEXT_N_DAYS", KW_NEXT_N_DAYS, true},
};

static int value(soql_parser_t *p, soql_lit_t *lit)
{
    const soql_tok_t *t = peek(p);
    lit->off = t->off;
    lit->len = t->len;
    switch (t->kind) {
    case TK_STRING:
        lit->kind = LIT_STRING;
        break;
    case TK_NUMBER:
        lit->kind = LIT_NUMBER;
        break;
    case TK_DATE:
        lit->kind = LIT_DATE;
        break;
    case TK_DATETIME:
        lit->kind = LIT_DATETIME;
        break;
    case TK_COLON:
        soql_error_at(p->e, "MALFORMED_QUERY", t->off, "Bind variables only allowed in Apex code");
        return -1;
    case TK_IDENT:
        if (is_kw(p, "TRUE")) {
            lit->kind = LIT_TRUE;
            break;
        }
        if (is_kw(p, "FALSE")) {
            lit->kind = LIT_FALSE;
            break;
        }
        if (is_kw(p, "NULL")) {
            lit->kind = LIT_NULL;
            break;
        }
        for (size_t i = 0; i < sizeof(datekws) / sizeof(datekws[0]); i++) {
            if (!is_kw(p, datekws[i].name))
                continue;
            take(p);
            lit->kind = LIT_DATEKW;
            lit->kw = datekws[i].kw;
            if (datekws[i].has_n) {
                if (expect(p, TK_COLON) != 0 || integer(p, SOQL_MAX_NDAYS, &lit->n) != 0)
                    return -1;
            }
            return 0;
        }
        return unexpected(p);
    default:
        return unexpected(p);
    }
    take(p);
    return 0;
}

/* ( value {, value} ) */
static int value_list(soql_parser_t *p, soql_cond_t *c)
{
    if (expect(p, TK_LPAREN) != 0)
        return -1;
    if (is_kw(p, "SELECT")) {
        soql_error_at(p->e, "MALFORMED_QUERY", peek(p)->off,
                      "unexpected token: 'SELECT' (semi-join subqueries are not supported by "
                      "sfemu)");
        return -1;
    }
    /* Count first so the list is one allocation. */
    size_t n = 1;
    for (size_t i = p->pos;
         i < p->ntoks && p->toks[i].kind != TK_RPAREN && p->toks[i].kind != TK_EOF; i++)
        if (p->toks[i].kind == TK_COMMA)
            n++;
    if (n > SOQL_MAX_IN) {
        soql_error_at(p->e, "MALFORMED_QUERY", peek(p)->off,
                      "too many values in the list: %zu, sfemu accepts %d", n, SOQL_MAX_IN);
        return -1;
    }
    c->lits = alloc(p, n * sizeof(*c->lits));
    if (!c->lits)
        return -1;
    for (;;) {
        if (c->nlits == n)
            return unexpected(p);
        if (value(p, &c->lits[c->nlits]) != 0)
            return -1;
        c->nlits++;
        if (peek(p)->kind == TK_COMMA) {
            take(p);
            continue;
        }
        return expect(p, TK_RPAREN);
    }
}

static soql_cond_t *cond(soql_parser_t *p, int depth);

static soql_cond_t *simple(soql_parser_t *p)
{
    soql_cond_t *c = alloc(p, sizeof(*c));
    if (!c)
        return NULL;
    c->kind = C_CMP;
    if (path(p, &c->path_off, &c->path_len) != 0)
        return NULL;
    const soql_tok_t *t = peek(p);
    c->op_off = t->off;
    switch (t->kind) {
    case TK_EQ:
        c->op = OP_EQ;
        break;
    case TK_NE:
        c->op = OP_NE;
        break;
    case TK_LT:
        c->op = OP_LT;
        break;
    case TK_GT:
        c->op = OP_GT;
        break;
    case TK_LE:
        c->op = OP_LE;
        break;
    case TK_GE:
        c->op = OP_GE;
        break;
    default:
        if (is_kw(p, "LIKE")) {
            c->op = OP_LIKE;
        } else if (is_kw(p, "IN")) {
            c->op = OP_IN;
        } else if (is_kw(p, "INCLUDES")) {
            c->op = OP_INCLUDES;
        } else if (is_kw(p, "EXCLUDES")) {
            c->op = OP_EXCLUDES;
        } else if (is_kw(p, "NOT")) {
            take(p);
            if (!is_kw(p, "IN")) {
                unexpected(p);
                return NULL;
            }
            c->op = OP_NOTIN;
        } else {
            unexpected(p);
            return NULL;
        }
    }
    take(p);
    if (c->op == OP_IN || c->op == OP_NOTIN || c->op == OP_INCLUDES || c->op == OP_EXCLUDES) {
        if (value_list(p, c) != 0)
            return NULL;
        return c;
    }
    c->lits = alloc(p, sizeof(*c->lits));
    if (!c->lits || value(p, c->lits) != 0)
        return NULL;
    c->nlits = 1;
    return c;
}

static soql_cond_t *term(soql_parser_t *p, int depth)
{
    if (depth >= SOQL_MAX_DEPTH) {
        soql_error_at(p->e, "MALFORMED_QUERY", peek(p)->off,
                      "conditions nested too deeply: sfemu accepts %d levels", SOQL_MAX_DEPTH);
        return NULL;
    }
    if (is_kw(p, "NOT")) {
        take(p);
        soql_cond_t *c = alloc(p, sizeof(*c));
        if (!c)
            return NULL;
        c->kind = C_NOT;
        c->kids = alloc(p, sizeof(*c->kids));
        if (!c->kids || !(c->kids[0] = term(p, depth + 1)))
            return NULL;
        c->nkids = 1;
        return c;
    }
    if (peek(p)->kind == TK_LPAREN) {
        take(p);
        soql_cond_t *c = cond(p, depth + 1);
        if (!c || expect(p, TK_RPAREN) != 0)
            return NULL;
        return c;
    }
    return simple(p);
}

/* Terms joined by one kind of operator. The terms are gathered in a linked list of arena blocks
   first, then copied into one array, so a long chain costs no recursion. */
typedef struct term_link {
    soql_cond_t *c;
    struct term_link *next;
} term_link_t;

static soql_cond_t *cond(soql_parser_t *p, int depth)
{
    soql_cond_t *first = term(p, depth);
    if (!first)
        return NULL;
    if (!is_kw(p, "AND") && !is_kw(p, "OR"))
        return first;
    bool is_and = is_kw(p, "AND");
    term_link_t head = {first, NULL}, *tail = &head;
    size_t n = 1;
    while (is_kw(p, "AND") || is_kw(p, "OR")) {
        if (is_kw(p, "AND") != is_and) {
            /* SOQL has no precedence between AND and OR: a mix needs parentheses. */
            unexpected(p);
            return NULL;
        }
        take(p);
        term_link_t *l = alloc(p, sizeof(*l));
        if (!l || !(l->c = term(p, depth)))
            return NULL;
        tail->next = l;
        tail = l;
        n++;
    }
    soql_cond_t *c = alloc(p, sizeof(*c));
    if (!c || !(c->kids = alloc(p, n * sizeof(*c->kids))))
        return NULL;
    c->kind = is_and ? C_AND : C_OR;
    for (term_link_t *l = &head; l; l = l->next)
        c->kids[c->nkids++] = l->c;
    return c;
}

static int select_list(soql_parser_t *p)
{
    emu_soql_t *q = p->q;
    size_t n = 1;
    /* Upper bound of the items: commas before FROM at this level. */
    for (size_t i = p->pos;
         i < p->ntoks && !soql_keyword(p->text, &p->toks[i], "FROM") && p->toks[i].kind != TK_EOF;
         i++)
        if (p->toks[i].kind == TK_COMMA)
            n++;
    if (n > SOQL_MAX_FIELDS) {
        soql_error_at(p->e, "MALFORMED_QUERY", peek(p)->off,
                      "too many fields in the SELECT list: sfemu accepts %d", SOQL_MAX_FIELDS);
        return -1;
    }
    q->items = alloc(p, n * sizeof(*q->items));
    if (!q->items)
        return -1;
    for (;;) {
        const soql_tok_t *t = peek(p);
        if (t->kind == TK_LPAREN) {
            soql_error_at(p->e, "MALFORMED_QUERY", t->off,
                          "unexpected token: '(' (subqueries are not supported by sfemu)");
            return -1;
        }
        if (is_kw(p, "COUNT") && peek2(p)->kind == TK_LPAREN) {
            take(p);
            take(p);
            if (peek(p)->kind != TK_RPAREN) {
                soql_error_at(p->e, "MALFORMED_QUERY", peek(p)->off,
                              "unexpected token: '%s' (only COUNT() is supported by sfemu; "
                              "aggregate queries are not)",
                              peek(p)->kind == TK_EOF ? "<EOF>" : "COUNT(field)");
                return -1;
            }
            take(p);
            if (q->nitems > 0 || q->count) {
                soql_error_at(p->e, "MALFORMED_QUERY", t->off,
                              "COUNT() must be the only element in the SELECT list");
                return -1;
            }
            q->count = true;
            q->count_off = t->off;
        } else {
            if (q->count) {
                soql_error_at(p->e, "MALFORMED_QUERY", t->off,
                              "COUNT() must be the only element in the SELECT list");
                return -1;
            }
            if (q->nitems == n)
                return unexpected(p);
            soql_item_t *it = &q->items[q->nitems];
            if (path(p, &it->off, &it->len) != 0)
                return -1;
            q->nitems++;
        }
        if (peek(p)->kind != TK_COMMA)
            return 0;
        take(p);
    }
}

static int order_by(soql_parser_t *p)
{
    emu_soql_t *q = p->q;
    q->order = alloc(p, SOQL_MAX_ORDER * sizeof(*q->order));
    if (!q->order)
        return -1;
    for (;;) {
        if (q->norder == SOQL_MAX_ORDER) {
            soql_error_at(p->e, "MALFORMED_QUERY", peek(p)->off,
                          "too many ORDER BY fields: at most %d", SOQL_MAX_ORDER);
            return -1;
        }
        soql_order_t *o = &q->order[q->norder];
        if (path(p, &o->off, &o->len) != 0)
            return -1;
        q->norder++;
        if (is_kw(p, "ASC")) {
            take(p);
        } else if (is_kw(p, "DESC")) {
            take(p);
            o->desc = true;
        }
        /* Salesforce: "By default, null values are sorted first", whatever the direction. */
        if (is_kw(p, "NULLS")) {
            take(p);
            if (is_kw(p, "LAST"))
                o->nulls_last = true;
            else if (!is_kw(p, "FIRST"))
                return unexpected(p);
            take(p);
        }
        if (peek(p)->kind != TK_COMMA)
            return 0;
        take(p);
    }
}

int soql_parse(emu_soql_t *q, const char *text, const soql_tok_t *toks, size_t ntoks, soql_err_t *e)
{
    soql_parser_t p = {.q = q, .text = text, .toks = toks, .ntoks = ntoks, .e = e};
    if (expect_kw(&p, "SELECT") != 0 || select_list(&p) != 0 || expect_kw(&p, "FROM") != 0)
        return -1;
    const soql_tok_t *t = peek(&p);
    /* Reserved words are not checked here: "Order" is an sobject; a keyword that names no
       sobject fails the lookup with INVALID_TYPE at the same spot. */
    if (t->kind != TK_IDENT || memchr(text + t->off, '.', t->len) != NULL)
        return unexpected(&p);
    take(&p);
    q->from_off = t->off;
    q->from_len = t->len;
    if (is_kw(&p, "WHERE")) {
        take(&p);
        if (!(q->where = cond(&p, 0)))
            return -1;
    }
    if (is_kw(&p, "ORDER")) {
        take(&p);
        if (expect_kw(&p, "BY") != 0 || order_by(&p) != 0)
            return -1;
    }
    if (is_kw(&p, "LIMIT")) {
        take(&p);
        if (integer(&p, INT32_MAX, &q->limit) != 0)
            return -1;
    }
    if (is_kw(&p, "OFFSET")) {
        take(&p);
        const soql_tok_t *ot = peek(&p);
        if (integer(&p, INT32_MAX, &q->offset) != 0)
            return -1;
        if (q->offset > SOQL_MAX_OFFSET) {
            soql_error_at(e, "NUMBER_OUTSIDE_VALID_RANGE", ot->off,
                          "Maximum SOQL offset allowed is %d", SOQL_MAX_OFFSET);
            return -1;
        }
    }
    if (peek(&p)->kind != TK_EOF)
        return unexpected(&p);
    return 0;
}
