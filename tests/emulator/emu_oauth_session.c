/*
 * emu_oauth_session.c - the table of live access tokens, refresh tokens and
 * authorization codes. A fixed array of hash buckets plus a list in issue
 * order; the caller holds o->mu for every call.
 *
 * Bounds: at most EMU_OAUTH_MAX_SESSIONS entries. When full, expired entries
 * are swept (O(n), amortised: only when the cap is hit) and, if that frees
 * nothing, the oldest entry is evicted, the way Salesforce drops its oldest
 * sessions past a per-user limit. Family revocation is also a linear walk;
 * that is fine for an emulator's table and keeps entries free of back links.
 */
#include <stdlib.h>
#include <string.h>

#include "emu_oauth_int.h"

static size_t bucket_of(const char *token)
{
    /* FNV-1a: tokens are random, so a simple hash spreads them well. */
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)token; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    return (size_t)(h % EMU_TOK_BUCKETS);
}

void emu_tok_free(emu_tok_t *t)
{
    if (!t)
        return;
    free(t->token);
    free(t->scope);
    free(t->redirect_uri);
    free(t->code_challenge);
    free(t);
}

void emu_tok_unlink(emu_oauth_t *o, emu_tok_t *t)
{
    emu_tok_t **pp = &o->buckets[bucket_of(t->token)];
    while (*pp && *pp != t)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = t->hnext;
    if (t->older)
        t->older->newer = t->newer;
    else
        o->oldest = t->newer;
    if (t->newer)
        t->newer->older = t->older;
    else
        o->newest = t->older;
    o->n_tok--;
    t->hnext = t->older = t->newer = NULL;
}

void emu_tok_remove(emu_oauth_t *o, emu_tok_t *t)
{
    emu_tok_unlink(o, t);
    emu_tok_free(t);
}

static void sweep_expired(emu_oauth_t *o, time_t now)
{
    emu_tok_t *t = o->oldest;
    while (t) {
        emu_tok_t *next = t->newer;
        if (t->expires <= now)
            emu_tok_remove(o, t);
        t = next;
    }
}

void emu_tok_insert(emu_oauth_t *o, emu_tok_t *t)
{
    if (o->n_tok >= EMU_OAUTH_MAX_SESSIONS)
        sweep_expired(o, time(NULL));
    while (o->n_tok >= EMU_OAUTH_MAX_SESSIONS && o->oldest)
        emu_tok_remove(o, o->oldest);
    size_t b = bucket_of(t->token);
    t->hnext = o->buckets[b];
    o->buckets[b] = t;
    t->older = o->newest;
    t->newer = NULL;
    if (o->newest)
        o->newest->newer = t;
    else
        o->oldest = t;
    o->newest = t;
    o->n_tok++;
}

emu_tok_t *emu_tok_find(emu_oauth_t *o, const char *token, emu_tok_kind_t kind)
{
    if (!token || !*token)
        return NULL;
    for (emu_tok_t *t = o->buckets[bucket_of(token)]; t; t = t->hnext) {
        if (strcmp(t->token, token) != 0)
            continue;
        if (t->expires <= time(NULL)) {
            emu_tok_remove(o, t);
            return NULL;
        }
        return t->kind == kind ? t : NULL;
    }
    return NULL;
}

void emu_tok_remove_family(emu_oauth_t *o, uint64_t family)
{
    emu_tok_t *t = o->oldest;
    while (t) {
        emu_tok_t *next = t->newer;
        if (t->family == family && t->kind != EMU_TOK_CODE)
            emu_tok_remove(o, t);
        t = next;
    }
}

void emu_tok_remove_kind(emu_oauth_t *o, emu_tok_kind_t kind)
{
    emu_tok_t *t = o->oldest;
    while (t) {
        emu_tok_t *next = t->newer;
        if (t->kind == kind)
            emu_tok_remove(o, t);
        t = next;
    }
}

void emu_tok_destroy_all(emu_oauth_t *o)
{
    emu_tok_t *t = o->oldest;
    while (t) {
        emu_tok_t *next = t->newer;
        emu_tok_free(t);
        t = next;
    }
    memset(o->buckets, 0, sizeof(o->buckets));
    o->oldest = o->newest = NULL;
    o->n_tok = 0;
}
