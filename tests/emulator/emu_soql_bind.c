/*
 * emu_soql_bind.c - checks a parsed query against the object schema: the
 * FROM object, every field path (one parent relationship at most), operators
 * against field types, literals against field types (decoded and typed once
 * here so execution only compares). Names are copied out of the schema, which
 * is only borrowed for the duration of emu_soql_prepare().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_soql_int.h"

typedef struct soql_binder {
    emu_soql_t *q;
    const char *text;
    const emu_soql_schema_t *schema;
    const json_t *base; /* describe of the FROM object */
    soql_err_t *e;
} soql_binder_t;

#define NAME_MAX_LEN 255

static const json_t *sobject(soql_binder_t *b, const char *name, size_t len)
{
    char buf[NAME_MAX_LEN + 1];
    if (len > NAME_MAX_LEN)
        return NULL;
    memcpy(buf, name, len);
    buf[len] = '\0';
    return b->schema->sobject(b->schema->ctx, buf);
}

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static const json_t *find_field(const json_t *so, const char *name, size_t len)
{
    size_t i;
    const json_t *f;
    json_array_foreach(json_object_get(so, "fields"), i, f)
    {
        const char *fn = jstr(f, "name");
        if (soql_strcasecmp_n(fn, strlen(fn), name, len) == 0)
            return f;
    }
    return NULL;
}

static void field_type(const json_t *f, soql_fref_t *out)
{
    const char *t = jstr(f, "type");
    out->sortable = true;
    out->tname = "string";
    out->type = FT_STRING;
    if (!strcmp(t, "id") || !strcmp(t, "reference")) {
        out->type = FT_ID;
        out->tname = "id";
    } else if (!strcmp(t, "boolean")) {
        out->type = FT_BOOL;
        out->tname = "boolean";
    } else if (!strcmp(t, "int")) {
        out->type = FT_NUMBER;
        out->tname = "integer";
    } else if (!strcmp(t, "double") || !strcmp(t, "currency") || !strcmp(t, "percent") ||
               !strcmp(t, "long")) {
        out->type = FT_NUMBER;
        out->tname = "double";
    } else if (!strcmp(t, "date")) {
        out->type = FT_DATE;
        out->tname = "date";
    } else if (!strcmp(t, "datetime")) {
        out->type = FT_DATETIME;
        out->tname = "dateTime";
    } else if (!strcmp(t, "multipicklist")) {
        out->type = FT_MULTI;
        out->tname = "multipicklist";
        out->sortable = false;
    }
}

static char *dup(soql_binder_t *b, const char *s)
{
    char *p = soql_strndup(&b->q->arena, s, strlen(s));
    if (!p)
        soql_error_plain(b->e, "UNKNOWN_EXCEPTION", "out of memory");
    return p;
}

static int no_such_column(soql_binder_t *b, uint32_t at, const char *name, size_t len,
                          const char *entity)
{
    char buf[80];
    soql_error_at(b->e, "INVALID_FIELD", at,
                  "No such column '%s' on entity '%s'. If you are attempting to use a custom "
                  "field, be sure to append the '__c' after the custom field name. Please "
                  "reference your WSDL or the describe call for the appropriate names.",
                  soql_excerpt(name, 0, len, buf, sizeof(buf)), entity);
    return -1;
}

/* Relationship index for the reference field `ref` of the FROM object, added when new. */
static int add_rel(soql_binder_t *b, const json_t *ref, const char *target)
{
    emu_soql_t *q = b->q;
    const char *name = jstr(ref, "relationshipName");
    for (size_t i = 0; i < q->nrels; i++)
        if (!strcmp(q->rels[i].name, name))
            return (int)i;
    /* Relationships are few (bounded by the fields of the FROM object); grow by copying into
       the arena, the old array stays there until destroy. */
    soql_rel_t *rels = soql_alloc(&q->arena, (q->nrels + 1) * sizeof(*rels));
    if (!rels) {
        soql_error_plain(b->e, "UNKNOWN_EXCEPTION", "out of memory");
        return -1;
    }
    if (q->nrels)
        memcpy(rels, q->rels, q->nrels * sizeof(*rels));
    rels[q->nrels].name = dup(b, name);
    rels[q->nrels].field = dup(b, jstr(ref, "name"));
    rels[q->nrels].target = dup(b, target);
    if (!rels[q->nrels].name || !rels[q->nrels].field || !rels[q->nrels].target)
        return -1;
    q->rels = rels;
    return (int)q->nrels++;
}

/* Resolves "Field", "Rel.Field" or "FromObject.Field". */
static int resolve(soql_binder_t *b, uint32_t off, uint32_t len, soql_fref_t *out)
{
    const char *p = b->text + off;
    const char *dot = memchr(p, '.', len);
    const json_t *so = b->base, *f;
    const char *entity = b->q->from;
    const char *fname = p;
    size_t flen = len;
    out->rel = -1;
    if (dot) {
        size_t l1 = (size_t)(dot - p);
        fname = dot + 1;
        flen = len - l1 - 1;
        if (l1 == 0 || flen == 0 || memchr(fname, '.', flen)) {
            const char *bad = l1 == 0 || flen == 0 ? "a field path with an empty part"
                                                   : "a field path through two relationships";
            soql_error_at(b->e, "MALFORMED_QUERY", off,
                          "unexpected token: '%.*s' (%s is not supported by sfemu)",
                          (int)(len > 60 ? 60 : len), p, bad);
            return -1;
        }
        const json_t *ref = NULL, *fld;
        size_t i;
        json_array_foreach(json_object_get(b->base, "fields"), i, fld)
        {
            const char *rn = json_string_value(json_object_get(fld, "relationshipName"));
            if (rn && soql_strcasecmp_n(rn, strlen(rn), p, l1) == 0) {
                ref = fld;
                break;
            }
        }
        if (ref) {
            const char *target =
                json_string_value(json_array_get(json_object_get(ref, "referenceTo"), 0));
            const json_t *tso = target ? sobject(b, target, strlen(target)) : NULL;
            if (!tso) {
                soql_error_at(b->e, "INVALID_FIELD", off,
                              "relationship '%s' points to no known object", jstr(ref, "name"));
                return -1;
            }
            so = tso;
            entity = jstr(tso, "name");
            if ((out->rel = add_rel(b, ref, entity)) < 0)
                return -1;
        } else if (soql_strcasecmp_n(b->q->from, strlen(b->q->from), p, l1) != 0) {
            char buf[80];
            soql_error_at(b->e, "INVALID_FIELD", off,
                          "Didn't understand relationship '%s' in field path. If you are "
                          "attempting to use a custom relationship, be sure to append the '__r' "
                          "after the custom relationship name. Please reference your WSDL or the "
                          "describe call for the appropriate names.",
                          soql_excerpt(p, 0, l1, buf, sizeof(buf)));
            return -1;
        }
    }
    if (!(f = find_field(so, fname, flen)))
        return no_such_column(b, off, fname, flen, entity);
    field_type(f, out);
    return (out->name = dup(b, jstr(f, "name"))) ? 0 : -1;
}

/* ---- literals ---- */

static char unescape(char c)
{
    switch (c) {
    case 'n':
    case 'N':
        return '\n';
    case 'r':
    case 'R':
        return '\r';
    case 't':
    case 'T':
        return '\t';
    case 'b':
    case 'B':
        return '\b';
    case 'f':
    case 'F':
        return '\f';
    default:
        return c; /* ' " \ % _ */
    }
}

/* The lexer checked every escape; here they are only decoded. */
static int decode_string(soql_binder_t *b, const soql_lit_t *lit, soql_val_t *out)
{
    const char *s = b->text + lit->off + 1;
    size_t n = lit->len - 2, o = 0;
    char *d = soql_alloc(&b->q->arena, n + 1);
    if (!d) {
        soql_error_plain(b->e, "UNKNOWN_EXCEPTION", "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        d[o++] = s[i] == '\\' ? unescape(s[++i]) : s[i];
    d[o] = '\0';
    out->k = V_STR;
    out->s = d;
    out->n = o;
    return 0;
}

static int decode_like(soql_binder_t *b, const soql_lit_t *lit, soql_cond_t *c)
{
    const char *s = b->text + lit->off + 1;
    size_t n = lit->len - 2;
    c->like = soql_alloc(&b->q->arena, (n + 1) * sizeof(*c->like));
    if (!c->like) {
        soql_error_plain(b->e, "UNKNOWN_EXCEPTION", "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\')
            c->like[c->nlike++] = (unsigned char)unescape(s[++i]);
        else if (s[i] == '%')
            c->like[c->nlike++] = LIKE_ANY;
        else if (s[i] == '_')
            c->like[c->nlike++] = LIKE_ONE;
        else
            c->like[c->nlike++] = (unsigned char)s[i];
    }
    return 0;
}

static bool valid_id(const char *s, size_t n)
{
    if (n != 15 && n != 18)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')))
            return false;
    }
    return true;
}

static int wrong_type(soql_binder_t *b, const soql_fref_t *f, const soql_lit_t *lit)
{
    const char *how = "";
    if (f->type == FT_STRING || f->type == FT_MULTI)
        how = " and should be enclosed in quotes";
    else if (lit->kind == LIT_STRING)
        how = " and should not be enclosed in quotes";
    soql_error_at(b->e, "INVALID_FIELD", lit->off,
                  "value of filter criterion for field '%s' must be of type %s%s", f->name,
                  f->tname, how);
    return -1;
}

static int bind_lit(soql_binder_t *b, const soql_cond_t *c, const soql_lit_t *lit, soql_val_t *out)
{
    const soql_fref_t *f = &c->f;
    const char *raw = b->text + lit->off;
    char buf[64];
    if (lit->kind == LIT_NULL) {
        if (c->op != OP_EQ && c->op != OP_NE && c->op != OP_IN && c->op != OP_NOTIN) {
            soql_error_at(b->e, "INVALID_QUERY_FILTER_OPERATOR", lit->off,
                          "invalid operator on null value for field '%s'", f->name);
            return -1;
        }
        out->k = V_NULL;
        return 0;
    }
    switch (f->type) {
    case FT_STRING:
    case FT_MULTI:
        if (lit->kind != LIT_STRING)
            return wrong_type(b, f, lit);
        return decode_string(b, lit, out);
    case FT_ID:
        if (lit->kind != LIT_STRING || decode_string(b, lit, out) != 0 ||
            !valid_id(out->s, out->n)) {
            if (b->e->set)
                return -1;
            soql_error_at(b->e, "INVALID_QUERY_FILTER_OPERATOR", lit->off, "invalid ID field: %s",
                          soql_excerpt(raw, lit->kind == LIT_STRING ? 1 : 0,
                                       lit->kind == LIT_STRING ? lit->len - 2 : lit->len, buf,
                                       sizeof(buf)));
            return -1;
        }
        return 0;
    case FT_NUMBER: {
        if (lit->kind != LIT_NUMBER)
            return wrong_type(b, f, lit);
        /* Numbers are at most a sign, digits, a dot and digits (the lexer made sure). */
        char num[64];
        if (lit->len >= sizeof(num)) {
            soql_error_at(b->e, "MALFORMED_QUERY", lit->off, "number too long");
            return -1;
        }
        memcpy(num, raw, lit->len);
        num[lit->len] = '\0';
        out->k = V_NUM;
        out->d = strtod(num, NULL);
        return 0;
    }
    case FT_BOOL:
        if (lit->kind != LIT_TRUE && lit->kind != LIT_FALSE)
            return wrong_type(b, f, lit);
        out->k = V_BOOL;
        out->i = lit->kind == LIT_TRUE;
        return 0;
    case FT_DATE:
    case FT_DATETIME:
        if (lit->kind == LIT_DATEKW) {
            out->k = V_DATEKW;
            out->kw = lit->kw;
            out->i = lit->n;
            return 0;
        }
        if (f->type == FT_DATE && lit->kind == LIT_DATE) {
            out->k = V_DAY;
            if (soql_parse_date(raw, lit->len, &out->i) == 0)
                return 0;
        } else if (f->type == FT_DATETIME && lit->kind == LIT_DATETIME) {
            out->k = V_MS;
            if (soql_parse_datetime(raw, lit->len, &out->i) == 0)
                return 0;
        } else {
            return wrong_type(b, f, lit);
        }
        soql_error_at(b->e, "MALFORMED_QUERY", lit->off, "invalid %s literal: '%s'", f->tname,
                      soql_excerpt(raw, 0, lit->len, buf, sizeof(buf)));
        return -1;
    }
    return wrong_type(b, f, lit);
}

static int bind_cmp(soql_binder_t *b, soql_cond_t *c)
{
    if (resolve(b, c->path_off, c->path_len, &c->f) != 0)
        return -1;
    const char *bad = NULL;
    switch (c->op) {
    case OP_LIKE:
        if (c->f.type == FT_ID)
            bad = "invalid operator on id field";
        else if (c->f.type != FT_STRING)
            bad = "LIKE operator is only valid on string fields";
        break;
    case OP_INCLUDES:
    case OP_EXCLUDES:
        if (c->f.type != FT_MULTI)
            bad = "includes or excludes operator only valid on multipicklist field";
        break;
    case OP_EQ:
    case OP_NE:
        break;
    default:
        if (c->f.type == FT_MULTI)
            bad = "invalid operator on multipicklist field";
        else if (c->f.type == FT_BOOL && c->op != OP_IN && c->op != OP_NOTIN)
            bad = "invalid operator on boolean field";
        break;
    }
    if (bad) {
        soql_error_at(b->e, "INVALID_QUERY_FILTER_OPERATOR", c->op_off, "%s", bad);
        return -1;
    }
    if (c->op == OP_LIKE) {
        if (c->lits[0].kind != LIT_STRING)
            return wrong_type(b, &c->f, &c->lits[0]);
        return decode_like(b, &c->lits[0], c);
    }
    c->vals = soql_alloc(&b->q->arena, c->nlits * sizeof(*c->vals));
    if (!c->vals) {
        soql_error_plain(b->e, "UNKNOWN_EXCEPTION", "out of memory");
        return -1;
    }
    for (size_t i = 0; i < c->nlits; i++)
        if (bind_lit(b, c, &c->lits[i], &c->vals[i]) != 0)
            return -1;
    return 0;
}

/* Depth is bounded by the parser (SOQL_MAX_DEPTH). */
static int bind_cond(soql_binder_t *b, soql_cond_t *c)
{
    if (c->kind == C_CMP)
        return bind_cmp(b, c);
    for (size_t i = 0; i < c->nkids; i++)
        if (bind_cond(b, c->kids[i]) != 0)
            return -1;
    return 0;
}

int soql_bind(emu_soql_t *q, const char *text, const emu_soql_schema_t *schema, soql_err_t *e)
{
    soql_binder_t b = {.q = q, .text = text, .schema = schema, .e = e};
    b.base = sobject(&b, text + q->from_off, q->from_len);
    if (!b.base || !json_is_object(b.base)) {
        char buf[80];
        soql_error_at(e, "INVALID_TYPE", q->from_off,
                      "sObject type '%s' is not supported. If you are attempting to use a custom "
                      "object, be sure to append the '__c' after the entity name. Please "
                      "reference your WSDL or the describe call for the appropriate names.",
                      soql_excerpt(text, q->from_off, q->from_len, buf, sizeof(buf)));
        return -1;
    }
    if (!(q->from = dup(&b, jstr(b.base, "name"))))
        return -1;
    for (size_t i = 0; i < q->nitems; i++) {
        soql_item_t *it = &q->items[i];
        if (resolve(&b, it->off, it->len, &it->f) != 0)
            return -1;
        for (size_t j = 0; j < i; j++) {
            if (q->items[j].f.rel == it->f.rel && !strcmp(q->items[j].f.name, it->f.name)) {
                char buf[80];
                soql_error_at(e, "MALFORMED_QUERY", it->off, "duplicate field selected: %s",
                              soql_excerpt(text, it->off, it->len, buf, sizeof(buf)));
                return -1;
            }
        }
    }
    if (q->where && bind_cond(&b, q->where) != 0)
        return -1;
    for (size_t i = 0; i < q->norder; i++) {
        soql_order_t *o = &q->order[i];
        if (resolve(&b, o->off, o->len, &o->f) != 0)
            return -1;
        if (!o->f.sortable) {
            soql_error_at(e, "INVALID_FIELD", o->off,
                          "field '%s' can not be sorted in a query call", o->f.name);
            return -1;
        }
    }
    return 0;
}
