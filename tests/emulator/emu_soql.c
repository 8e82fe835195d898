/*
 * emu_soql.c - entry points of the SOQL module, its arena and its error
 * messages (Salesforce's echo-and-caret form).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_soql_int.h"

/* ---- arena ---- */

struct soql_chunk {
    soql_chunk_t *next;
    /* data follows, max_align_t aligned */
    max_align_t data[];
};

#define SOQL_CHUNK 16384

void *soql_alloc(soql_arena_t *a, size_t size)
{
    size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    if (size == 0)
        size = sizeof(max_align_t);
    if (size > SOQL_CHUNK / 4) {
        /* Big blocks (long IN lists) get their own chunk, behind the current head so the head's
           free space stays usable. */
        soql_chunk_t *c = calloc(1, sizeof(*c) + size);
        if (!c)
            return NULL;
        if (a->head) {
            c->next = a->head->next;
            a->head->next = c;
        } else {
            a->head = c;
            a->used = a->cap = 0;
        }
        return c->data;
    }
    if (!a->head || a->cap - a->used < size) {
        soql_chunk_t *c = calloc(1, sizeof(*c) + SOQL_CHUNK);
        if (!c)
            return NULL;
        c->next = a->head;
        a->head = c;
        a->used = 0;
        a->cap = SOQL_CHUNK;
    }
    void *p = (char *)a->head->data + a->used;
    a->used += size;
    return p;
}

char *soql_strndup(soql_arena_t *a, const char *s, size_t n)
{
    char *p = soql_alloc(a, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

void soql_arena_free(soql_arena_t *a)
{
    soql_chunk_t *c = a->head;
    while (c) {
        soql_chunk_t *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->used = a->cap = 0;
}

/* ---- small helpers ---- */

int soql_strcasecmp_n(const char *a, size_t an, const char *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    for (size_t i = 0; i < n; i++) {
        int ca = tolower((unsigned char)a[i]), cb = tolower((unsigned char)b[i]);
        if (ca != cb)
            return ca < cb ? -1 : 1;
    }
    return an == bn ? 0 : (an < bn ? -1 : 1);
}

bool soql_keyword(const char *text, const soql_tok_t *t, const char *kw)
{
    return t->kind == TK_IDENT && soql_strcasecmp_n(text + t->off, t->len, kw, strlen(kw)) == 0;
}

const char *soql_excerpt(const char *text, size_t off, size_t len, char *buf, size_t size)
{
    size_t max = size > 4 ? size - 4 : 0, o = 0;
    for (size_t i = 0; i < len && o < max; i++) {
        unsigned char c = (unsigned char)text[off + i];
        buf[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (o < len && size >= 4) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    if (size)
        buf[o < size ? o : size - 1] = '\0';
    return buf;
}

/* ---- errors ---- */

static void err_code(soql_err_t *e, const char *code)
{
    if (e->code_size)
        snprintf(e->code, e->code_size, "%s", code);
}

void soql_error_plain(soql_err_t *e, const char *code, const char *fmt, ...)
{
    if (e->set)
        return;
    e->set = true;
    err_code(e, code);
    if (e->msg_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, e->msg_size, fmt, ap);
        va_end(ap);
    }
}

/* Echo of the row holding the error: a window of at most 160 bytes around the column so a
   100,000-character query does not make a 100,000-character message. */
#define ECHO_BEFORE 60
#define ECHO_WIDTH  160

void soql_error_at(soql_err_t *e, const char *code, size_t off, const char *fmt, ...)
{
    if (e->set)
        return;
    e->set = true;
    err_code(e, code);
    if (!e->msg_size)
        return;
    if (off > e->text_len)
        off = e->text_len;
    size_t row = 1, line = 0;
    for (size_t i = 0; i < off; i++) {
        if (e->text[i] == '\n') {
            row++;
            line = i + 1;
        }
    }
    size_t line_end = off;
    while (line_end < e->text_len && e->text[line_end] != '\n' && e->text[line_end] != '\r')
        line_end++;
    size_t col = off - line + 1;
    size_t ws = line;
    if (off - line > ECHO_BEFORE)
        ws = off - ECHO_BEFORE;
    size_t we = line_end;
    if (we - ws > ECHO_WIDTH)
        we = ws + ECHO_WIDTH;
    char echo[ECHO_WIDTH + 1];
    size_t n = 0;
    for (size_t i = ws; i < we; i++) {
        unsigned char c = (unsigned char)e->text[i];
        echo[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : (c == '\t' ? ' ' : '?');
    }
    echo[n] = '\0';
    char body[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);
    snprintf(e->msg, e->msg_size, "\n%s\n%*s^\nERROR at Row:%zu:Column:%zu\n%s", echo,
             (int)(off - ws), "", row, col, body);
}

/* ---- entry points ---- */

emu_soql_t *emu_soql_prepare(const char *text, const emu_soql_schema_t *schema, char *errcode,
                             size_t errcode_size, char *errmsg, size_t errmsg_size)
{
    emu_soql_t *q = NULL;
    soql_tok_t *toks = NULL;
    size_t ntoks = 0;
    soql_err_t e = {
        .code = errcode, .code_size = errcode_size, .msg = errmsg, .msg_size = errmsg_size};
    if (errcode_size)
        errcode[0] = '\0';
    if (errmsg_size)
        errmsg[0] = '\0';
    if (!text || !schema || !schema->sobject) {
        soql_error_plain(&e, "MALFORMED_QUERY", "no query");
        goto fail;
    }
    /* strnlen: never scan past the limit, whatever the caller handed us. */
    size_t len = strnlen(text, EMU_SOQL_MAX_TEXT + 1);
    if (len > EMU_SOQL_MAX_TEXT) {
        soql_error_plain(&e, "MALFORMED_QUERY",
                         "SOQL statements cannot be longer than 100,000 characters.");
        goto fail;
    }
    e.text = text;
    e.text_len = len;
    q = calloc(1, sizeof(*q));
    if (!q) {
        soql_error_plain(&e, "UNKNOWN_EXCEPTION", "out of memory");
        goto fail;
    }
    q->limit = -1;
    if (soql_lex(text, len, &toks, &ntoks, &e) != 0)
        goto fail;
    if (soql_parse(q, text, toks, ntoks, &e) != 0)
        goto fail;
    if (soql_bind(q, text, schema, &e) != 0)
        goto fail;
    free(toks);
    return q;
fail:
    free(toks);
    emu_soql_destroy(q);
    if (!e.set)
        soql_error_plain(&e, "UNKNOWN_EXCEPTION", "out of memory");
    return NULL;
}

void emu_soql_destroy(emu_soql_t *q)
{
    if (!q)
        return;
    soql_arena_free(&q->arena);
    free(q);
}

const char *emu_soql_from(const emu_soql_t *q)
{
    return q->from;
}

bool emu_soql_is_count(const emu_soql_t *q)
{
    return q->count;
}
