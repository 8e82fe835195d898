/*
 * emu_store.c - the record store: one table per sobject (insertion order,
 * deleted rows kept for queryAll), an id index over all tables and a value
 * index per external-id/unique field.
 *
 * Locking: one rwlock for the whole store. Callers take it around a whole
 * operation (a collections call holds the write lock for all its records so
 * allOrNone needs no isolation beyond it). Records are jansson objects; only
 * the store changes them, always under the write lock, so readers holding
 * the read lock may borrow them.
 */
#include "emu_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct emu_table {
    json_t **rows;
    size_t nrows, cap;
    size_t ndeleted;
    uint64_t seq;
    json_t **index; /* per field of the sobject: value -> [records], NULL if not indexed */
} emu_table_t;

struct emu_store {
    pthread_rwlock_t lock;
    const emu_schema_t *schema;
    emu_table_t *tables;
    json_t *by_id; /* id -> record */
};

typedef struct emu_txn_entry {
    int op; /* 1 insert, 2 update */
    const emu_sobject_t *so;
    json_t *rec;
    json_t *before;
} emu_txn_entry_t;

/* Work that waits for the transaction's outcome (streaming events). */
typedef struct emu_txn_deferral {
    emu_txn_defer_fn fn;
    void *arg;
} emu_txn_deferral_t;
#define EMU_TXN_MAX_DEFERRALS 8

struct emu_txn {
    emu_txn_entry_t *entries;
    size_t n, cap;
    emu_txn_deferral_t deferred[EMU_TXN_MAX_DEFERRALS];
    size_t ndeferred;
};

void emu_txn_defer(emu_txn_t *txn, emu_txn_defer_fn fn, void *arg)
{
    if (txn->ndeferred == EMU_TXN_MAX_DEFERRALS) {
        fn(arg, true); /* no room to wait: done now rather than lost */
        return;
    }
    txn->deferred[txn->ndeferred++] = (emu_txn_deferral_t){fn, arg};
}

void *emu_txn_deferred(emu_txn_t *txn, emu_txn_defer_fn fn)
{
    for (size_t i = 0; i < txn->ndeferred; i++)
        if (txn->deferred[i].fn == fn)
            return txn->deferred[i].arg;
    return NULL;
}

static void emu_txn_settle(emu_txn_t *txn, bool commit)
{
    for (size_t i = 0; i < txn->ndeferred; i++)
        txn->deferred[i].fn(txn->deferred[i].arg, commit);
    txn->ndeferred = 0;
}

static void emu_table_free(emu_table_t *t, size_t nfields)
{
    for (size_t i = 0; i < t->nrows; i++)
        json_decref(t->rows[i]);
    free(t->rows);
    t->rows = NULL;
    t->nrows = t->cap = t->ndeleted = 0;
    if (t->index)
        for (size_t f = 0; f < nfields; f++)
            if (t->index[f])
                json_object_clear(t->index[f]);
}

emu_store_t *emu_store_create(const emu_schema_t *schema)
{
    emu_store_t *store = calloc(1, sizeof(*store));
    if (!store)
        return NULL;
    pthread_rwlock_init(&store->lock, NULL);
    store->schema = schema;
    store->tables = calloc(schema->nsobjects, sizeof(emu_table_t));
    store->by_id = json_object();
    for (size_t i = 0; i < schema->nsobjects; i++) {
        const emu_sobject_t *so = &schema->sobjects[i];
        store->tables[i].index = calloc(so->nfields ? so->nfields : 1, sizeof(json_t *));
        for (size_t f = 0; f < so->nfields; f++)
            if (so->fields[f].indexed)
                store->tables[i].index[f] = json_object();
    }
    return store;
}

void emu_store_destroy(emu_store_t *store)
{
    if (!store)
        return;
    for (size_t i = 0; i < store->schema->nsobjects; i++) {
        emu_table_t *t = &store->tables[i];
        emu_table_free(t, store->schema->sobjects[i].nfields);
        for (size_t f = 0; f < store->schema->sobjects[i].nfields; f++)
            json_decref(t->index[f]);
        free(t->index);
    }
    free(store->tables);
    json_decref(store->by_id);
    pthread_rwlock_destroy(&store->lock);
    free(store);
}

void emu_store_rdlock(emu_store_t *store)
{
    pthread_rwlock_rdlock(&store->lock);
}

void emu_store_wrlock(emu_store_t *store)
{
    pthread_rwlock_wrlock(&store->lock);
}

void emu_store_unlock(emu_store_t *store)
{
    pthread_rwlock_unlock(&store->lock);
}

void emu_store_clear(emu_store_t *store)
{
    for (size_t i = 0; i < store->schema->nsobjects; i++) {
        emu_table_free(&store->tables[i], store->schema->sobjects[i].nfields);
        store->tables[i].seq = 0;
    }
    json_object_clear(store->by_id);
}

uint64_t emu_store_next_seq(emu_store_t *store, const emu_sobject_t *so)
{
    return ++store->tables[so->index].seq;
}

json_t *emu_store_get(emu_store_t *store, const char *id18)
{
    return id18 ? json_object_get(store->by_id, id18) : NULL;
}

const emu_sobject_t *emu_store_type_of(emu_store_t *store, const json_t *rec)
{
    return emu_schema_by_prefix(store->schema, json_string_value(json_object_get(rec, "Id")));
}

/* Index key of a value: external ids compare case-insensitively. */
static bool emu_index_key(const json_t *v, char *out, size_t out_size)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t i = 0;
        for (; s[i] && i + 1 < out_size; i++)
            out[i] = (char)tolower((unsigned char)s[i]);
        out[i] = '\0';
        return i > 0;
    }
    if (json_is_integer(v)) {
        snprintf(out, out_size, "%lld", (long long)json_integer_value(v));
        return true;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d == (double)(long long)d)
            snprintf(out, out_size, "%lld", (long long)d);
        else
            snprintf(out, out_size, "%.17g", d);
        return true;
    }
    return false;
}

static void emu_store_index(emu_store_t *store, const emu_sobject_t *so, json_t *rec, bool add)
{
    emu_table_t *t = &store->tables[so->index];
    char key[1024];
    for (size_t f = 0; f < so->nfields; f++) {
        if (!t->index[f])
            continue;
        if (!emu_index_key(json_object_get(rec, so->fields[f].name), key, sizeof(key)))
            continue;
        json_t *list = json_object_get(t->index[f], key);
        if (add) {
            if (!list) {
                list = json_array();
                json_object_set_new(t->index[f], key, list);
            }
            json_array_append(list, rec);
        } else if (list) {
            for (size_t i = 0; i < json_array_size(list); i++)
                if (json_array_get(list, i) == rec) {
                    json_array_remove(list, i);
                    break;
                }
            if (json_array_size(list) == 0)
                json_object_del(t->index[f], key);
        }
    }
}

static bool emu_is_deleted(const json_t *rec)
{
    return json_is_true(json_object_get(rec, "IsDeleted"));
}

static void emu_txn_add(emu_txn_t *txn, int op, const emu_sobject_t *so, json_t *rec,
                        json_t *before)
{
    if (!txn) {
        json_decref(before);
        return;
    }
    if (txn->n == txn->cap) {
        size_t cap = txn->cap ? txn->cap * 2 : 16;
        emu_txn_entry_t *e = realloc(txn->entries, cap * sizeof(*e));
        if (!e) {
            json_decref(before);
            return;
        }
        txn->entries = e;
        txn->cap = cap;
    }
    txn->entries[txn->n++] = (emu_txn_entry_t){op, so, json_incref(rec), before};
}

int emu_store_insert(emu_store_t *store, const emu_sobject_t *so, json_t *rec, emu_txn_t *txn)
{
    emu_table_t *t = &store->tables[so->index];
    const char *id = json_string_value(json_object_get(rec, "Id"));
    if (!id)
        return -1;
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        json_t **rows = realloc(t->rows, cap * sizeof(*rows));
        if (!rows)
            return -1;
        t->rows = rows;
        t->cap = cap;
    }
    t->rows[t->nrows++] = json_incref(rec);
    json_object_set(store->by_id, id, rec);
    if (emu_is_deleted(rec))
        t->ndeleted++;
    else
        emu_store_index(store, so, rec, true);
    emu_txn_add(txn, 1, so, rec, NULL);
    return 0;
}

void emu_store_update(emu_store_t *store, const emu_sobject_t *so, json_t *rec,
                      const json_t *changes, emu_txn_t *txn)
{
    emu_table_t *t = &store->tables[so->index];
    bool was_deleted = emu_is_deleted(rec);
    emu_txn_add(txn, 2, so, rec, txn ? json_copy(rec) : NULL);
    if (!was_deleted)
        emu_store_index(store, so, rec, false);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)changes, key, v) json_object_set(rec, key, v);
    bool deleted = emu_is_deleted(rec);
    if (!deleted)
        emu_store_index(store, so, rec, true);
    if (deleted != was_deleted)
        t->ndeleted += deleted ? 1 : (size_t)-1;
}

size_t emu_store_find(emu_store_t *store, const emu_sobject_t *so, const emu_field_t *f,
                      const char *value, json_t **out, size_t max)
{
    emu_table_t *t = &store->tables[so->index];
    size_t fi = (size_t)(f - so->fields);
    char key[1024];
    json_t *v = json_string(value);
    bool ok = emu_index_key(v, key, sizeof(key));
    json_decref(v);
    if (!ok)
        return 0;
    if (t->index[fi]) {
        json_t *list = json_object_get(t->index[fi], key);
        size_t n = json_array_size(list);
        for (size_t i = 0; i < n && i < max; i++)
            out[i] = json_array_get(list, i);
        return n;
    }
    /* Not indexed (an idLookup field without externalId): a scan, O(rows). */
    size_t n = 0;
    char have[1024];
    for (size_t i = 0; i < t->nrows; i++) {
        json_t *rec = t->rows[i];
        if (emu_is_deleted(rec) ||
            !emu_index_key(json_object_get(rec, f->name), have, sizeof(have)) ||
            strcmp(have, key) != 0)
            continue;
        if (n < max)
            out[n] = rec;
        n++;
    }
    return n;
}

json_t *const *emu_store_rows(emu_store_t *store, const emu_sobject_t *so, size_t *count)
{
    *count = store->tables[so->index].nrows;
    return store->tables[so->index].rows;
}

size_t emu_store_count(emu_store_t *store, const emu_sobject_t *so, size_t *deleted)
{
    if (deleted)
        *deleted = store->tables[so->index].ndeleted;
    return store->tables[so->index].nrows;
}

emu_txn_t *emu_txn_create(void)
{
    return calloc(1, sizeof(emu_txn_t));
}

void emu_txn_rollback(emu_txn_t *txn, emu_store_t *store)
{
    if (!txn)
        return;
    emu_txn_settle(txn, false); /* what waited for a commit is dropped */
    for (size_t i = txn->n; i-- > 0;) {
        emu_txn_entry_t *e = &txn->entries[i];
        emu_table_t *t = &store->tables[e->so->index];
        if (!emu_is_deleted(e->rec))
            emu_store_index(store, e->so, e->rec, false);
        else
            t->ndeleted--;
        if (e->op == 1) {
            for (size_t r = t->nrows; r-- > 0;)
                if (t->rows[r] == e->rec) {
                    memmove(&t->rows[r], &t->rows[r + 1], (t->nrows - r - 1) * sizeof(json_t *));
                    t->nrows--;
                    json_decref(e->rec);
                    break;
                }
            json_object_del(store->by_id, json_string_value(json_object_get(e->rec, "Id")));
        } else {
            json_object_clear(e->rec);
            json_object_update(e->rec, e->before);
            if (emu_is_deleted(e->rec))
                t->ndeleted++;
            else
                emu_store_index(store, e->so, e->rec, true);
        }
    }
    for (size_t i = 0; i < txn->n; i++) {
        json_decref(txn->entries[i].rec);
        json_decref(txn->entries[i].before);
    }
    txn->n = 0;
}

void emu_txn_destroy(emu_txn_t *txn)
{
    if (!txn)
        return;
    emu_txn_settle(txn, true); /* destroyed without a rollback: committed */
    for (size_t i = 0; i < txn->n; i++) {
        json_decref(txn->entries[i].rec);
        json_decref(txn->entries[i].before);
    }
    free(txn->entries);
    free(txn);
}
