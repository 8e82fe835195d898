/* test_batch.c - the sink's batching and in-flight rules (bridge/br_batch.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "br_batch.h"

enum { OP_INSERT = 1, OP_UPDATE = 2, OP_DELETE = 3 };

static void test_same_op_groups_until_full(void **state)
{
    (void)state;
    br_batcher_t *b = br_batcher_create(3, 1000, 1);
    for (int i = 0; i < 7; i++)
        assert_int_equal(br_batcher_add(b, OP_INSERT, "Account", NULL, i, NULL, 0), 0);
    br_batch_t *x = br_batcher_next(b);
    assert_non_null(x);
    assert_int_equal(x->count, 3);
    assert_int_equal(x->items[0].offset, 0);
    assert_int_equal(x->items[2].offset, 2);
    assert_null(br_batcher_next(b)); /* max_in_flight = 1 */
    br_batcher_done(b, x);
    x = br_batcher_next(b);
    assert_non_null(x);
    assert_int_equal(x->items[0].offset, 3);
    br_batcher_done(b, x);
    /* The last item lingers. */
    assert_null(br_batcher_next(b));
    assert_int_equal(br_batcher_open_items(b), 1);
    br_batcher_destroy(b);
}

static void test_change_of_op_or_sobject_closes(void **state)
{
    (void)state;
    br_batcher_t *b = br_batcher_create(200, 1000, 4);
    br_batcher_add(b, OP_INSERT, "Account", NULL, 0, NULL, 0);
    br_batcher_add(b, OP_INSERT, "Account", NULL, 1, NULL, 0);
    br_batcher_add(b, OP_INSERT, "Contact", NULL, 2, NULL, 0);
    br_batcher_add(b, OP_UPDATE, "Contact", "003000000000001AAA", 3, NULL, 0);
    br_batch_t *x = br_batcher_next(b);
    assert_non_null(x);
    assert_string_equal(x->sobject, "Account");
    assert_int_equal(x->count, 2);
    /* Contact inserts differ in sobject from the in-flight batch: barrier. */
    assert_null(br_batcher_next(b));
    br_batcher_done(b, x);
    x = br_batcher_next(b);
    assert_non_null(x);
    assert_string_equal(x->sobject, "Contact");
    assert_int_equal(x->op, OP_INSERT);
    assert_int_equal(x->count, 1);
    br_batcher_done(b, x);
    assert_null(br_batcher_next(b)); /* the update is still open */
    br_batcher_tick(b, 999, false);
    assert_null(br_batcher_next(b));
    br_batcher_tick(b, 1000, false);
    x = br_batcher_next(b);
    assert_non_null(x);
    assert_int_equal(x->op, OP_UPDATE);
    br_batcher_done(b, x);
    assert_int_equal(br_batcher_in_flight(b), 0);
    br_batcher_destroy(b);
}

static void test_pipelining_needs_disjoint_keys(void **state)
{
    (void)state;
    br_batcher_t *b = br_batcher_create(2, 0, 4);
    br_batcher_add(b, OP_UPDATE, "Account", "A", 0, NULL, 0);
    br_batcher_add(b, OP_UPDATE, "Account", "B", 1, NULL, 0);
    br_batcher_add(b, OP_UPDATE, "Account", "C", 2, NULL, 0);
    br_batcher_add(b, OP_UPDATE, "Account", "D", 3, NULL, 0);
    br_batcher_add(b, OP_UPDATE, "Account", "A", 4, NULL, 0);
    br_batcher_add(b, OP_UPDATE, "Account", "E", 5, NULL, 0);
    br_batch_t *x1 = br_batcher_next(b);
    br_batch_t *x2 = br_batcher_next(b);
    assert_non_null(x1);
    assert_non_null(x2);             /* {C,D} is disjoint from {A,B} */
    assert_null(br_batcher_next(b)); /* {A,E} overlaps {A,B} */
    br_batcher_done(b, x2);
    assert_null(br_batcher_next(b));
    br_batcher_done(b, x1);
    br_batch_t *x3 = br_batcher_next(b);
    assert_non_null(x3);
    assert_int_equal(x3->items[0].offset, 4);
    br_batcher_done(b, x3);
    br_batcher_destroy(b);
}

static void test_in_flight_limit_and_room(void **state)
{
    (void)state;
    br_batcher_t *b = br_batcher_create(1, 0, 2);
    for (int i = 0; i < 3; i++)
        br_batcher_add(b, OP_INSERT, "Lead", NULL, i, NULL, 0);
    assert_true(br_batcher_has_room(b));
    br_batcher_add(b, OP_INSERT, "Lead", NULL, 3, NULL, 0);
    assert_false(br_batcher_has_room(b)); /* 4 held == max_in_flight + 2 */
    br_batch_t *x1 = br_batcher_next(b), *x2 = br_batcher_next(b);
    assert_non_null(x1);
    assert_non_null(x2);
    assert_null(br_batcher_next(b));
    assert_int_equal(br_batcher_in_flight(b), 2);
    assert_int_equal(br_batcher_waiting(b), 2);
    br_batcher_done(b, x1);
    assert_true(br_batcher_has_room(b));
    br_batcher_done(b, x2);
    br_batcher_destroy(b);
}

/* At the bound, a partly filled open batch still takes commands (it would
 * otherwise linger out half empty), but a change of op that would open yet
 * another batch is refused after it. */
static void test_room_for_open_batch_at_bound(void **state)
{
    (void)state;
    br_batcher_t *b = br_batcher_create(2, 1000, 1);
    br_batcher_add(b, OP_INSERT, "Lead", NULL, 0, NULL, 0);
    br_batcher_add(b, OP_INSERT, "Lead", NULL, 1, NULL, 0); /* full: closed */
    br_batcher_add(b, OP_INSERT, "Lead", NULL, 2, NULL, 0); /* open, 1 of 2; held 2 */
    assert_int_equal(br_batcher_open_items(b), 1);
    br_batch_t *x1 = br_batcher_next(b);
    assert_non_null(x1);
    br_batcher_add(b, OP_INSERT, "Lead", NULL, 3, NULL, 0);  /* fills it: held 2 */
    br_batcher_add(b, OP_INSERT, "Lead", NULL, 4, NULL, 0);  /* held 3 == max_in_flight + 2 */
    assert_true(br_batcher_has_room(b));                     /* the open one has room */
    br_batcher_add(b, OP_UPDATE, "Lead", "001", 5, NULL, 0); /* closes it, opens a 4th */
    assert_false(br_batcher_has_room(b));                    /* max_in_flight + 3 */
    br_batcher_done(b, x1);
    assert_true(br_batcher_has_room(b));
    br_batcher_destroy(b);
}

static void count_drop(void *opaque, void *ctx)
{
    (void)opaque;
    (*(int *)ctx)++;
}

static void test_discard_keeps_in_flight(void **state)
{
    (void)state;
    br_batcher_t *b = br_batcher_create(2, 0, 1);
    for (int i = 0; i < 5; i++)
        br_batcher_add(b, OP_DELETE, "Case", NULL, i, NULL, 0);
    br_batch_t *x = br_batcher_next(b);
    int dropped = 0;
    br_batcher_discard_pending(b, count_drop, &dropped);
    assert_int_equal(dropped, 3);
    assert_int_equal(br_batcher_in_flight(b), 1);
    assert_int_equal(br_batcher_waiting(b), 0);
    assert_int_equal(br_batcher_open_items(b), 0);
    br_batcher_done(b, x);
    /* Usable afterwards. */
    br_batcher_add(b, OP_DELETE, "Case", NULL, 9, NULL, 0);
    br_batcher_tick(b, 0, true);
    x = br_batcher_next(b);
    assert_non_null(x);
    assert_int_equal(x->items[0].offset, 9);
    br_batcher_done(b, x);
    br_batcher_destroy(b);
}

static void test_bad_parameters(void **state)
{
    (void)state;
    assert_null(br_batcher_create(0, 0, 1));
    assert_null(br_batcher_create(201, 0, 1));
    assert_null(br_batcher_create(10, -1, 1));
    assert_null(br_batcher_create(10, 0, 0));
    br_batcher_destroy(NULL);
}

/* Random workload: every item comes out exactly once, in offset order per
 * batch, batches start in seq order, and in-flight batches never share keys. */
static void test_random_workload_invariants(void **state)
{
    (void)state;
    srand(42);
    for (int round = 0; round < 50; round++) {
        br_batcher_t *b =
            br_batcher_create((size_t)(1 + rand() % 20), rand() % 5, (size_t)(1 + rand() % 4));
        int64_t offset = 0, now = 0;
        br_batch_t *flying[8];
        size_t nflying = 0;
        int64_t seen[4000];
        size_t nseen = 0;
        while (offset < 2000 || br_batcher_open_items(b) || br_batcher_waiting(b) || nflying) {
            if (offset < 2000 && br_batcher_has_room(b)) {
                char key[16];
                snprintf(key, sizeof(key), "k%d", rand() % 30);
                int op = 1 + rand() % 2;
                assert_int_equal(br_batcher_add(b, op, rand() % 3 ? "Account" : "Contact",
                                                rand() % 4 ? key : NULL, offset++, NULL, now),
                                 0);
            }
            now++;
            br_batcher_tick(b, now, offset >= 2000);
            br_batch_t *x;
            while ((x = br_batcher_next(b))) {
                assert_true(nflying < 8);
                for (size_t f = 0; f < nflying; f++) {
                    /* Pipelined only with the same op and sobject and disjoint keys, and
                     * only behind earlier batches. */
                    assert_int_equal(flying[f]->op, x->op);
                    assert_string_equal(flying[f]->sobject, x->sobject);
                    assert_true(flying[f]->seq < x->seq);
                    for (size_t i = 0; i < x->count; i++)
                        for (size_t j = 0; j < flying[f]->count; j++)
                            if (x->keys[i] && flying[f]->keys[j])
                                assert_string_not_equal(x->keys[i], flying[f]->keys[j]);
                }
                flying[nflying++] = x;
            }
            if (nflying && rand() % 2) {
                size_t i = (size_t)rand() % nflying;
                for (size_t k = 0; k < flying[i]->count; k++)
                    seen[nseen++] = flying[i]->items[k].offset;
                br_batcher_done(b, flying[i]);
                flying[i] = flying[--nflying];
            }
        }
        assert_int_equal(nseen, 2000);
        /* Each offset exactly once. */
        static char hit[2000];
        memset(hit, 0, sizeof(hit));
        for (size_t i = 0; i < nseen; i++) {
            assert_false(hit[seen[i]]);
            hit[seen[i]] = 1;
        }
        br_batcher_destroy(b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_op_groups_until_full),
        cmocka_unit_test(test_change_of_op_or_sobject_closes),
        cmocka_unit_test(test_pipelining_needs_disjoint_keys),
        cmocka_unit_test(test_in_flight_limit_and_room),
        cmocka_unit_test(test_room_for_open_batch_at_bound),
        cmocka_unit_test(test_discard_keeps_in_flight),
        cmocka_unit_test(test_bad_parameters),
        cmocka_unit_test(test_random_workload_invariants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
