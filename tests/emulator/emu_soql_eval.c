/*
 * emu_soql_eval.c - runs a bound query over the caller's records: WHERE with
 * SOQL's two-valued logic (a null field is != every non-null value; only = and
 * != match null), stable ORDER BY, OFFSET/LIMIT and projection into REST
 * record shapes. Values are read from the records as they are stored (REST
 * JSON forms) and compared by field type.
 *
 * Cost: one pass over the source; O(n log n) extra when sorting. Parent
 * records are looked up at most once per row and relationship.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emu_soql_int.h"

/* ---- dates ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char *s, size_t n, unsigned *out)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return 0;
}

static int parse_ymd(const char *s, size_t n, int64_t *days)
{
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    unsigned y, m, d;
    if (n < 10 || s[4] != '-' || s[7] != '-' || digits(s, 4, &y) || digits(s + 5, 2, &m) ||
        digits(s + 8, 2, &d))
        return -1;
    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return -1;
    if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return -1;
    *days = days_from_civil(y, m, d);
    return 0;
}

int soql_parse_date(const char *s, size_t n, int64_t *days)
{
    return n == 10 ? parse_ymd(s, n, days) : -1;
}

int soql_parse_datetime(const char *s, size_t n, int64_t *ms)
{
    int64_t days;
    unsigned hh, mi, ss, frac = 0, zh = 0, zm = 0;
    size_t i = 19;
    int sign = 0;
    if (n < 20 || parse_ymd(s, n, &days) || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
        s[16] != ':' || digits(s + 11, 2, &hh) || digits(s + 14, 2, &mi) ||
        digits(s + 17, 2, &ss) || hh > 23 || mi > 59 || ss > 59)
        return -1;
    if (s[i] == '.') {
        /* Fraction: milliseconds from the first three digits, the rest ignored. */
        size_t start = ++i;
        unsigned scale = 100;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            frac += (unsigned)(s[i] - '0') * scale;
            scale /= 10;
            i++;
        }
        if (i == start || i - start > 9)
            return -1;
    }
    if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i < n && (s[i] == '+' || s[i] == '-')) {
        sign = s[i] == '+' ? 1 : -1;
        i++;
        if (n - i == 5 && s[i + 2] == ':' && !digits(s + i, 2, &zh) && !digits(s + i + 3, 2, &zm))
            i += 5;
        else if (n - i == 4 && !digits(s + i, 2, &zh) && !digits(s + i + 2, 2, &zm))
            i += 4;
        else
            return -1;
        if (zh > 23 || zm > 59)
            return -1;
    } else {
        return -1;
    }
    if (i != n)
        return -1;
    int64_t secs = days * 86400 + hh * 3600 + mi * 60 + ss - sign * (int64_t)(zh * 3600 + zm * 60);
    *ms = secs * 1000 + frac;
    return 0;
}

/* ---- rows ---- */

/* Marks a parent not looked up yet (NULL means looked up, none). */
static const char unresolved_marker;
#define UNRESOLVED ((const json_t *)(const void *)&unresolved_marker)

typedef struct soql_row {
    const emu_soql_t *q;
    const emu_soql_source_t *src;
    const json_t *rec;
    const json_t **parents; /* q->nrels */
} soql_row_t;

static const json_t *parent(soql_row_t *r, int rel)
{
    if (r->parents[rel] == UNRESOLVED) {
        const char *id = json_string_value(json_object_get(r->rec, r->q->rels[rel].field));
        const json_t *p = id && r->src->by_id ? r->src->by_id(r->src->ctx, id) : NULL;
        r->parents[rel] = json_is_object(p) ? p : NULL;
    }
    return r->parents[rel];
}

static const json_t *field_json(soql_row_t *r, const soql_fref_t *f)
{
    const json_t *rec = f->rel < 0 ? r->rec : parent(r, f->rel);
    return rec ? json_object_get(rec, f->name) : NULL;
}

/* Stored value -> typed value; anything unreadable for the type reads as null. */
static void field_val(soql_row_t *r, const soql_fref_t *f, soql_val_t *v)
{
    const json_t *j = field_json(r, f);
    const char *s;
    v->k = V_NULL;
    if (!j)
        return;
    switch (f->type) {
    case FT_STRING:
    case FT_ID:
    case FT_MULTI:
        if ((s = json_string_value(j))) {
            v->k = V_STR;
            v->s = s;
            v->n = json_string_length(j);
        }
        break;
    case FT_NUMBER:
        if (json_is_number(j)) {
            v->k = V_NUM;
            v->d = json_number_value(j);
        }
        break;
    case FT_BOOL:
        if (json_is_boolean(j)) {
            v->k = V_BOOL;
            v->i = json_is_true(j);
        }
        break;
    case FT_DATE:
        if ((s = json_string_value(j)) && parse_ymd(s, json_string_length(j), &v->i) == 0)
            v->k = V_DAY;
        break;
    case FT_DATETIME:
        if ((s = json_string_value(j)) && soql_parse_datetime(s, json_string_length(j), &v->i) == 0)
            v->k = V_MS;
        break;
    }
}

/* ---- comparisons ---- */

static int cmp_num(double a, double b)
{
    return a < b ? -1 : (a > b ? 1 : 0);
}

static int cmp_int(int64_t a, int64_t b)
{
    return a < b ? -1 : (a > b ? 1 : 0);
}

/* Ids: a 15-character id equals its 18-character form (the suffix only encodes case). */
static int cmp_id(const char *a, size_t an, const char *b, size_t bn)
{
    if ((an == 15 || an == 18) && (bn == 15 || bn == 18)) {
        int c = memcmp(a, b, 15);
        return c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
    size_t n = an < bn ? an : bn;
    int c = memcmp(a, b, n);
    if (c)
        return c < 0 ? -1 : 1;
    return an == bn ? 0 : (an < bn ? -1 : 1);
}

/* Both values of the same non-null kind (bind and field_val make sure). */
static int cmp_vals(const soql_val_t *a, const soql_val_t *b, soql_ftype_t t)
{
    switch (a->k) {
    case V_STR:
        return t == FT_ID ? cmp_id(a->s, a->n, b->s, b->n)
                          : soql_strcasecmp_n(a->s, a->n, b->s, b->n);
    case V_NUM:
        return cmp_num(a->d, b->d);
    default:
        return cmp_int(a->i, b->i);
    }
}

static void datekw_range(const soql_val_t *kw, int64_t today, soql_ftype_t t, int64_t *lo,
                         int64_t *hi)
{
    *lo = *hi = today; /* an empty range; every keyword sets its own below */
    switch (kw->kw) {
    case KW_TODAY:
        *lo = today, *hi = today + 1;
        break;
    case KW_YESTERDAY:
        *lo = today - 1, *hi = today;
        break;
    case KW_TOMORROW:
        *lo = today + 1, *hi = today + 2;
        break;
    case KW_LAST_N_DAYS: /* "includes the current day": LAST_N_DAYS:1 is yesterday and today */
        *lo = today - kw->i, *hi = today + 1;
        break;
    case KW_NEXT_N_DAYS: /* from tomorrow, n days */
        *lo = today + 1, *hi = today + 1 + kw->i;
        break;
    }
    if (t == FT_DATETIME) {
        *lo *= 86400000;
        *hi *= 86400000;
    }
}

/* Next part of a multipicklist value "a;b;c", trimmed. */
static bool mpl_next(const char **p, const char *end, const char **part, size_t *len)
{
    while (*p < end && (**p == ';' || **p == ' '))
        (*p)++;
    if (*p >= end)
        return false;
    const char *s = *p;
    while (*p < end && **p != ';')
        (*p)++;
    const char *e = *p;
    while (e > s && e[-1] == ' ')
        e--;
    *part = s;
    *len = (size_t)(e - s);
    return true;
}

static bool mpl_has(const char *set, size_t n, const char *item, size_t len)
{
    const char *p = set, *part;
    size_t plen;
    while (mpl_next(&p, set + n, &part, &plen))
        if (soql_strcasecmp_n(part, plen, item, len) == 0)
            return true;
    return false;
}

/* Every part of a is in b. */
static bool mpl_subset(const char *a, size_t an, const char *b, size_t bn)
{
    const char *p = a, *part;
    size_t plen;
    while (mpl_next(&p, a + an, &part, &plen))
        if (!mpl_has(b, bn, part, plen))
            return false;
    return true;
}

static size_t next_cp(const char *s, size_t n, size_t i)
{
    i++;
    while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80)
        i++;
    return i;
}

/* % any run, _ one character (a UTF-8 code point), the rest case-insensitively. Greedy with
   backtracking to the last %: O(pattern x text) at worst. */
static bool like_match(const int16_t *p, size_t pn, const char *s, size_t sn)
{
    size_t pi = 0, si = 0, star = SIZE_MAX, star_s = 0;
    while (si < sn) {
        if (pi < pn && p[pi] == LIKE_ANY) {
            star = pi++;
            star_s = si;
        } else if (pi < pn && p[pi] == LIKE_ONE) {
            pi++;
            si = next_cp(s, sn, si);
        } else if (pi < pn && p[pi] >= 0 && tolower(p[pi]) == tolower((unsigned char)s[si])) {
            pi++;
            si++;
        } else if (star != SIZE_MAX) {
            pi = star + 1;
            star_s = next_cp(s, sn, star_s);
            si = star_s;
        } else {
            return false;
        }
    }
    while (pi < pn && p[pi] == LIKE_ANY)
        pi++;
    return pi == pn;
}

typedef struct soql_exec {
    const emu_soql_t *q;
    int64_t today; /* UTC day of this execution, for TODAY and friends */
} soql_exec_t;

static bool eq_val(const soql_exec_t *x, const soql_val_t *v, const soql_val_t *lit, soql_ftype_t t)
{
    if (lit->k == V_NULL)
        return v->k == V_NULL;
    if (v->k == V_NULL)
        return false;
    if (lit->k == V_DATEKW) {
        int64_t lo, hi;
        datekw_range(lit, x->today, t, &lo, &hi);
        return v->i >= lo && v->i < hi;
    }
    if (t == FT_MULTI) /* = 'a;b' is the same set of values, in any order */
        return mpl_subset(v->s, v->n, lit->s, lit->n) && mpl_subset(lit->s, lit->n, v->s, v->n);
    return cmp_vals(v, lit, t) == 0;
}

static bool eval(const soql_exec_t *x, soql_row_t *r, const soql_cond_t *c)
{
    switch (c->kind) {
    case C_AND:
        for (size_t i = 0; i < c->nkids; i++)
            if (!eval(x, r, c->kids[i]))
                return false;
        return true;
    case C_OR:
        for (size_t i = 0; i < c->nkids; i++)
            if (eval(x, r, c->kids[i]))
                return true;
        return false;
    case C_NOT:
        return !eval(x, r, c->kids[0]);
    case C_CMP:
        break;
    }
    soql_val_t v;
    field_val(r, &c->f, &v);
    switch (c->op) {
    case OP_EQ:
        return eq_val(x, &v, &c->vals[0], c->f.type);
    case OP_NE:
        return !eq_val(x, &v, &c->vals[0], c->f.type);
    case OP_IN:
    case OP_NOTIN: {
        bool found = false;
        for (size_t i = 0; i < c->nlits && !found; i++)
            found = eq_val(x, &v, &c->vals[i], c->f.type);
        return c->op == OP_IN ? found : !found;
    }
    case OP_LIKE:
        return v.k == V_STR && like_match(c->like, c->nlike, v.s, v.n);
    case OP_INCLUDES:
    case OP_EXCLUDES: {
        /* INCLUDES ('a;b', 'c'): (a and b) or c. A null value holds no value at all. */
        bool found = false;
        for (size_t i = 0; i < c->nlits && !found && v.k == V_STR; i++)
            found = c->vals[i].k == V_STR && mpl_subset(c->vals[i].s, c->vals[i].n, v.s, v.n);
        return c->op == OP_INCLUDES ? found : !found;
    }
    default:
        break;
    }
    /* < > <= >= : never true for null */
    const soql_val_t *lit = &c->vals[0];
    if (v.k == V_NULL || lit->k == V_NULL)
        return false;
    if (lit->k == V_DATEKW) {
        int64_t lo, hi;
        datekw_range(lit, x->today, c->f.type, &lo, &hi);
        switch (c->op) {
        case OP_LT:
            return v.i < lo;
        case OP_LE:
            return v.i < hi;
        case OP_GT:
            return v.i >= hi;
        default:
            return v.i >= lo;
        }
    }
    int cmp = cmp_vals(&v, lit, c->f.type);
    switch (c->op) {
    case OP_LT:
        return cmp < 0;
    case OP_LE:
        return cmp <= 0;
    case OP_GT:
        return cmp > 0;
    default:
        return cmp >= 0;
    }
}

/* ---- sorting: stable merge sort of row indexes over precomputed keys ---- */

typedef struct soql_sort {
    const emu_soql_t *q;
    const soql_val_t *keys; /* row * norder + k */
} soql_sort_t;

static int cmp_rows(const soql_sort_t *st, size_t a, size_t b)
{
    const emu_soql_t *q = st->q;
    for (size_t k = 0; k < q->norder; k++) {
        const soql_val_t *va = &st->keys[a * q->norder + k], *vb = &st->keys[b * q->norder + k];
        const soql_order_t *o = &q->order[k];
        int c;
        if (va->k == V_NULL || vb->k == V_NULL) {
            if (va->k == vb->k)
                continue;
            /* NULLS FIRST / LAST hold whatever the direction */
            c = (va->k == V_NULL) == o->nulls_last ? 1 : -1;
            return c;
        }
        c = cmp_vals(va, vb, o->f.type);
        if (c)
            return o->desc ? -c : c;
    }
    return 0;
}

static void merge_sort(const soql_sort_t *st, size_t *idx, size_t *tmp, size_t n)
{
    /* Bottom-up: no recursion, O(n log n), stable. */
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                tmp[k++] = cmp_rows(st, idx[j], idx[i]) < 0 ? idx[j++] : idx[i++];
            while (i < mid)
                tmp[k++] = idx[i++];
            while (j < hi)
                tmp[k++] = idx[j++];
        }
        memcpy(idx, tmp, n * sizeof(*idx));
    }
}

/* ---- projection ---- */

static json_t *attributes(const char *type, const json_t *rec, const char *ver)
{
    const char *id = json_string_value(json_object_get(rec, "Id"));
    char url[256];
    snprintf(url, sizeof(url), "/services/data/%s/sobjects/%s/%s", ver, type, id ? id : "");
    /* Built by hand rather than with json_pack: this runs once per row and per parent. */
    json_t *a = json_object();
    if (a && (json_object_set_new(a, "type", json_string(type)) != 0 ||
              json_object_set_new(a, "url", json_string(url)) != 0)) {
        json_decref(a);
        return NULL;
    }
    return a;
}

/* The nested record of relationship `rel` in `row`, created on first use: an object with its
   own attributes, or JSON null when the reference is empty or dangling. */
static json_t *nested(soql_row_t *r, json_t *row, int rel, const char *ver)
{
    const soql_rel_t *sr = &r->q->rels[rel];
    json_t *n = json_object_get(row, sr->name);
    if (n)
        return n;
    const json_t *src = parent(r, rel);
    if (!src) {
        n = json_null();
    } else {
        const char *type =
            json_string_value(json_object_get(json_object_get(src, "attributes"), "type"));
        n = json_object();
        if (n && json_object_set_new(n, "attributes",
                                     attributes(type ? type : sr->target, src, ver)) != 0) {
            json_decref(n);
            return NULL;
        }
    }
    if (!n || json_object_set_new(row, sr->name, n) != 0)
        return NULL;
    return n;
}

static json_t *project(soql_row_t *r, const char *ver)
{
    const emu_soql_t *q = r->q;
    json_t *row = json_object();
    if (!row || json_object_set_new(row, "attributes", attributes(q->from, r->rec, ver)) != 0)
        goto fail;
    for (size_t i = 0; i < q->nitems; i++) {
        const soql_fref_t *f = &q->items[i].f;
        json_t *dst = row;
        const json_t *src = r->rec;
        if (f->rel >= 0) {
            if (!(dst = nested(r, row, f->rel, ver)))
                goto fail;
            if (json_is_null(dst))
                continue;
            src = parent(r, f->rel);
        }
        const json_t *v = json_object_get(src, f->name);
        if (json_object_set_new(dst, f->name, v ? json_deep_copy(v) : json_null()) != 0)
            goto fail;
    }
    return row;
fail:
    json_decref(row);
    return NULL;
}

static int64_t utc_today(void)
{
    return (int64_t)time(NULL) / 86400;
}

json_t *emu_soql_execute(const emu_soql_t *q, const emu_soql_source_t *src, bool include_deleted,
                         const char *api_version, size_t *total_size, char *errcode,
                         size_t errcode_size, char *errmsg, size_t errmsg_size)
{
    soql_err_t e = {
        .code = errcode, .code_size = errcode_size, .msg = errmsg, .msg_size = errmsg_size};
    soql_exec_t x = {.q = q, .today = utc_today()};
    const json_t **recs = NULL, **pars = NULL;
    soql_val_t *keys = NULL;
    size_t *idx = NULL, *tmp = NULL;
    size_t n = 0, cap = 0, np = q->nrels ? q->nrels : 1;
    json_t *out = NULL;
    char ver[32];
    if (errcode_size)
        errcode[0] = '\0';
    if (errmsg_size)
        errmsg[0] = '\0';
    *total_size = 0;
    if (!src || !src->next) {
        soql_error_plain(&e, "UNKNOWN_EXCEPTION", "no record source");
        goto done;
    }
    snprintf(ver, sizeof(ver), "%s%s", api_version && api_version[0] == 'v' ? "" : "v",
             api_version ? api_version : "62.0");
    /* Without ORDER BY the first OFFSET+LIMIT matches are all we need. */
    int64_t want = q->norder == 0 && q->limit >= 0 ? q->offset + q->limit : -1;
    const json_t *rec;
    while (want != 0 && (rec = src->next(src->ctx)) != NULL) {
        if (!json_is_object(rec))
            continue;
        if (!include_deleted && json_is_true(json_object_get(rec, "IsDeleted")))
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 256;
            const json_t **nr = realloc(recs, ncap * sizeof(*recs));
            if (nr)
                recs = nr;
            const json_t **npp = nr ? realloc(pars, ncap * np * sizeof(*pars)) : NULL;
            if (!npp) {
                soql_error_plain(&e, "UNKNOWN_EXCEPTION", "out of memory");
                goto done;
            }
            pars = npp;
            cap = ncap;
        }
        soql_row_t r = {.q = q, .src = src, .rec = rec, .parents = pars + n * np};
        for (size_t k = 0; k < np; k++)
            r.parents[k] = UNRESOLVED;
        if (q->where && !eval(&x, &r, q->where))
            continue;
        recs[n++] = rec;
        if (want > 0 && (int64_t)n >= want)
            break;
    }
    size_t first = (size_t)q->offset < n ? (size_t)q->offset : n;
    size_t count = n - first;
    if (q->limit >= 0 && count > (size_t)q->limit)
        count = (size_t)q->limit;
    if (!(out = json_array())) {
        soql_error_plain(&e, "UNKNOWN_EXCEPTION", "out of memory");
        goto done;
    }
    if (q->count) {
        *total_size = count;
        goto done;
    }
    if (!(idx = malloc((n ? n : 1) * sizeof(*idx)))) {
        soql_error_plain(&e, "UNKNOWN_EXCEPTION", "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    if (q->norder && n > 1) {
        keys = malloc(n * q->norder * sizeof(*keys));
        tmp = malloc(n * sizeof(*tmp));
        if (!keys || !tmp) {
            soql_error_plain(&e, "UNKNOWN_EXCEPTION", "out of memory");
            goto done;
        }
        for (size_t i = 0; i < n; i++) {
            soql_row_t r = {.q = q, .src = src, .rec = recs[i], .parents = pars + i * np};
            for (size_t k = 0; k < q->norder; k++)
                field_val(&r, &q->order[k].f, &keys[i * q->norder + k]);
        }
        soql_sort_t st = {.q = q, .keys = keys};
        merge_sort(&st, idx, tmp, n);
    }
    for (size_t i = first; i < first + count; i++) {
        soql_row_t r = {.q = q, .src = src, .rec = recs[idx[i]], .parents = pars + idx[i] * np};
        json_t *row = project(&r, ver);
        if (!row || json_array_append_new(out, row) != 0) {
            soql_error_plain(&e, "UNKNOWN_EXCEPTION", "out of memory");
            goto done;
        }
    }
    *total_size = count;
done:
    free(recs);
    free(pars);
    free(keys);
    free(idx);
    free(tmp);
    if (e.set) {
        json_decref(out);
        *total_size = 0;
        return NULL;
    }
    return out;
}
