/* test_kf_tracker.c - the offset tracker: what a sink partition may commit
 * when results are acknowledged out of order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "kf.h"

static void test_empty_and_args(void **unused)
{
    kf_tracker_t *tracker = NULL;
    uint64_t ticket;
    assert_int_equal(kf_tracker_create(0, &tracker), KF_ERR_ARG);
    assert_int_equal(kf_tracker_create(4, &tracker), KF_OK);
    assert_int_equal(kf_tracker_committable(tracker), KF_OFFSET_NONE);
    assert_false(kf_tracker_commit_due(tracker));
    assert_int_equal(kf_tracker_admit(tracker, -1, &ticket), KF_ERR_ARG);
    assert_int_equal(kf_tracker_ack(tracker, 0), KF_ERR_STATE); /* never issued */
    assert_int_equal(kf_tracker_admit(tracker, 10, &ticket), KF_OK);
    assert_int_equal(kf_tracker_committable(tracker), 10);
    /* Out of order and repeated offsets are refused. */
    assert_int_equal(kf_tracker_admit(tracker, 10, &ticket), KF_ERR_ARG);
    assert_int_equal(kf_tracker_admit(tracker, 9, &ticket), KF_ERR_ARG);
    assert_int_equal(kf_tracker_skip(tracker, 10), KF_ERR_ARG);
    kf_tracker_destroy(tracker);
    kf_tracker_destroy(NULL);
}

static void test_out_of_order(void **unused)
{
    kf_tracker_t *tracker = NULL;
    uint64_t t[5];
    assert_int_equal(kf_tracker_create(8, &tracker), KF_OK);
    for (int i = 0; i < 5; i++)
        assert_int_equal(kf_tracker_admit(tracker, 100 + i, &t[i]), KF_OK);
    assert_int_equal(kf_tracker_committable(tracker), 100);
    assert_int_equal(kf_tracker_ack(tracker, t[2]), KF_OK);
    assert_int_equal(kf_tracker_ack(tracker, t[1]), KF_OK);
    assert_int_equal(kf_tracker_committable(tracker), 100);        /* 100 still pending */
    assert_int_equal(kf_tracker_ack(tracker, t[1]), KF_ERR_STATE); /* double ack */
    assert_int_equal(kf_tracker_ack(tracker, t[0]), KF_OK);
    assert_int_equal(kf_tracker_committable(tracker), 103); /* 100..102 done */
    assert_int_equal(kf_tracker_in_flight(tracker), 2);
    assert_int_equal(kf_tracker_ack(tracker, t[0]), KF_ERR_STATE); /* released */
    assert_int_equal(kf_tracker_ack(tracker, t[4]), KF_OK);
    assert_int_equal(kf_tracker_committable(tracker), 103);
    assert_int_equal(kf_tracker_ack(tracker, t[3]), KF_OK);
    assert_int_equal(kf_tracker_committable(tracker), 105);
    assert_int_equal(kf_tracker_in_flight(tracker), 0);
    kf_tracker_destroy(tracker);
}

/* Gaps: offsets never admitted (compaction holes) and skipped messages
 * (filtered) must not hold back the commit, nor let it jump a pending one. */
static void test_gaps_and_skips(void **unused)
{
    kf_tracker_t *tracker = NULL;
    uint64_t a, b;
    assert_int_equal(kf_tracker_create(4, &tracker), KF_OK);
    assert_int_equal(kf_tracker_skip(tracker, 3), KF_OK);
    assert_int_equal(kf_tracker_committable(tracker), 4);
    assert_int_equal(kf_tracker_admit(tracker, 5, &a), KF_OK);
    assert_int_equal(kf_tracker_skip(tracker, 6), KF_OK);
    assert_int_equal(kf_tracker_admit(tracker, 9, &b), KF_OK); /* 7, 8 are holes */
    assert_int_equal(kf_tracker_skip(tracker, 10), KF_OK);
    assert_int_equal(kf_tracker_committable(tracker), 5);
    assert_int_equal(kf_tracker_ack(tracker, b), KF_OK);
    assert_int_equal(kf_tracker_committable(tracker), 5);
    assert_int_equal(kf_tracker_ack(tracker, a), KF_OK);
    assert_int_equal(kf_tracker_committable(tracker), 11); /* past the skipped 10 */
    assert_int_equal(kf_tracker_skip(tracker, 20), KF_OK);
    assert_int_equal(kf_tracker_committable(tracker), 21);
    kf_tracker_destroy(tracker);
}

static void test_bound_and_wraparound(void **unused)
{
    kf_tracker_t *tracker = NULL;
    uint64_t t[3], extra;
    assert_int_equal(kf_tracker_create(3, &tracker), KF_OK);
    int64_t offset = 0;
    /* Many laps around a ring of 3. */
    for (int lap = 0; lap < 100; lap++) {
        for (int i = 0; i < 3; i++)
            assert_int_equal(kf_tracker_admit(tracker, offset++, &t[i]), KF_OK);
        assert_int_equal(kf_tracker_admit(tracker, offset, &extra), KF_ERR_QUEUE_FULL);
        assert_int_equal(kf_tracker_ack(tracker, t[2]), KF_OK);
        assert_int_equal(kf_tracker_admit(tracker, offset, &extra), KF_ERR_QUEUE_FULL);
        assert_int_equal(kf_tracker_ack(tracker, t[0]), KF_OK);
        assert_int_equal(kf_tracker_committable(tracker), offset - 2);
        assert_int_equal(kf_tracker_ack(tracker, t[1]), KF_OK);
        assert_int_equal(kf_tracker_committable(tracker), offset);
    }
    kf_tracker_destroy(tracker);
}

/* The ring grows while tickets are out and its head is not at slot 0: every
 * ticket handed out before the growth still acknowledges its own offset. */
static void test_growth_keeps_tickets(void **unused)
{
    (void)unused;
    enum { CAP = 1000, LEAD = 300 };
    kf_tracker_t *tracker = NULL;
    static uint64_t tickets[CAP];
    uint64_t ticket;
    assert_int_equal(kf_tracker_create(CAP, &tracker), KF_OK);
    /* Move the head off slot 0 first, so a growth that copied slot for
     * slot instead of ticket for ticket would misplace entries. */
    for (int i = 0; i < LEAD; i++) {
        assert_int_equal(kf_tracker_admit(tracker, i, &ticket), KF_OK);
        assert_int_equal(kf_tracker_ack(tracker, ticket), KF_OK);
    }
    for (int i = 0; i < CAP; i++)
        assert_int_equal(kf_tracker_admit(tracker, LEAD + 2 * i, &tickets[i]), KF_OK);
    assert_int_equal(kf_tracker_admit(tracker, LEAD + 2 * CAP, &ticket), KF_ERR_QUEUE_FULL);
    assert_int_equal(kf_tracker_in_flight(tracker), CAP);
    /* Acknowledge from the newest down: the committable offset stays at the
     * oldest until it goes, then jumps past everything. */
    for (int i = CAP - 1; i > 0; i--) {
        assert_int_equal(kf_tracker_ack(tracker, tickets[i]), KF_OK);
        assert_int_equal(kf_tracker_committable(tracker), LEAD);
    }
    assert_int_equal(kf_tracker_ack(tracker, tickets[CAP - 1]), KF_ERR_STATE);
    assert_int_equal(kf_tracker_ack(tracker, tickets[0]), KF_OK);
    assert_int_equal(kf_tracker_committable(tracker), LEAD + 2 * (CAP - 1) + 1);
    assert_int_equal(kf_tracker_in_flight(tracker), 0);
    /* Acknowledged in order, one at a time, each step moves the offset. */
    for (int i = 0; i < CAP; i++)
        assert_int_equal(kf_tracker_admit(tracker, 10000 + i, &tickets[i]), KF_OK);
    for (int i = 0; i < CAP; i++) {
        assert_int_equal(kf_tracker_committable(tracker), 10000 + i);
        assert_int_equal(kf_tracker_ack(tracker, tickets[i]), KF_OK);
    }
    kf_tracker_destroy(tracker);
}

static void test_reset_makes_tickets_stale(void **unused)
{
    kf_tracker_t *tracker = NULL;
    uint64_t old1, old2, fresh;
    assert_int_equal(kf_tracker_create(2, &tracker), KF_OK);
    assert_int_equal(kf_tracker_admit(tracker, 50, &old1), KF_OK);
    assert_int_equal(kf_tracker_admit(tracker, 51, &old2), KF_OK);
    kf_tracker_committed(tracker, 50);
    kf_tracker_reset(tracker); /* revoked, later assigned again */
    assert_int_equal(kf_tracker_committable(tracker), KF_OFFSET_NONE);
    assert_int_equal(kf_tracker_in_flight(tracker), 0);
    /* Re-assigned from the committed offset: lower than what was seen. */
    assert_int_equal(kf_tracker_admit(tracker, 50, &fresh), KF_OK);
    /* A late result of the old generation must not ack the new command. */
    assert_int_equal(kf_tracker_ack(tracker, old1), KF_ERR_STATE);
    assert_int_equal(kf_tracker_ack(tracker, old2), KF_ERR_STATE);
    assert_int_equal(kf_tracker_committable(tracker), 50);
    assert_int_equal(kf_tracker_ack(tracker, fresh), KF_OK);
    assert_int_equal(kf_tracker_committable(tracker), 51);
    kf_tracker_destroy(tracker);
}

static void test_commit_due(void **unused)
{
    kf_tracker_t *tracker = NULL;
    uint64_t t;
    assert_int_equal(kf_tracker_create(2, &tracker), KF_OK);
    assert_int_equal(kf_tracker_admit(tracker, 0, &t), KF_OK);
    assert_true(kf_tracker_commit_due(tracker)); /* 0: nothing committed yet */
    kf_tracker_committed(tracker, 0);
    assert_false(kf_tracker_commit_due(tracker));
    assert_int_equal(kf_tracker_ack(tracker, t), KF_OK);
    assert_true(kf_tracker_commit_due(tracker));
    kf_tracker_committed(tracker, kf_tracker_committable(tracker));
    assert_false(kf_tracker_commit_due(tracker));
    kf_tracker_destroy(tracker);
}

/*
 * Random orders against a reference model: offsets with random gaps and
 * skips, results acknowledged in a random order, checked after every step
 * against "the lowest admitted offset not acked, else one past the highest
 * offset seen", computed the slow way. admit_in_10 of every 10 steps admit:
 * 4 keeps the tracker short, 7 fills it up to its bound (and, past 256, makes
 * its ring grow while tickets are out).
 */
static void run_against_model(size_t cap, int admit_in_10, unsigned seed)
{
    enum { N = 4000 };
    srand(seed);
    size_t max_open = 0;
    for (int round = 0; round < 20; round++) {
        kf_tracker_t *tracker = NULL;
        assert_int_equal(kf_tracker_create(cap, &tracker), KF_OK);
        static int64_t offsets[N];
        static uint64_t tickets[N];
        static bool acked[N];
        size_t admitted = 0, first_open = 0;
        int64_t offset = rand() % 1000, last_seen = -1;
        while (admitted < N || first_open < admitted) {
            int action = rand() % 10;
            if (action < admit_in_10 && admitted < N) {
                offset += 1 + (rand() % 4 == 0 ? rand() % 5 : 0); /* holes */
                kf_err_t err = kf_tracker_admit(tracker, offset, &tickets[admitted]);
                size_t open = 0;
                for (size_t i = first_open; i < admitted; i++)
                    open += 1;
                if (open == cap) {
                    assert_int_equal(err, KF_ERR_QUEUE_FULL);
                    offset--; /* not consumed: try the same offset again later */
                    continue;
                }
                assert_int_equal(err, KF_OK);
                offsets[admitted] = offset;
                acked[admitted] = false;
                admitted++;
                last_seen = offset;
            } else if (action == admit_in_10 && admitted < N) {
                offset += 1;
                assert_int_equal(kf_tracker_skip(tracker, offset), KF_OK);
                last_seen = offset;
            } else if (first_open < admitted) {
                /* Ack a random not-yet-acked admitted command. */
                size_t span = admitted - first_open;
                size_t pick = first_open + (size_t)rand() % span;
                while (acked[pick])
                    pick = pick + 1 < admitted ? pick + 1 : first_open;
                assert_int_equal(kf_tracker_ack(tracker, tickets[pick]), KF_OK);
                acked[pick] = true;
                while (first_open < admitted && acked[first_open])
                    first_open++;
            }
            int64_t want = first_open < admitted ? offsets[first_open]
                           : last_seen >= 0      ? last_seen + 1
                                                 : KF_OFFSET_NONE;
            assert_int_equal(kf_tracker_committable(tracker), want);
            assert_int_equal(kf_tracker_in_flight(tracker), admitted - first_open);
            if (admitted - first_open > max_open)
                max_open = admitted - first_open;
        }
        kf_tracker_destroy(tracker);
    }
    /* The run did reach the bound (and so went through every growth step). */
    if (admit_in_10 > 5)
        assert_int_equal(max_open, cap);
}

static void test_random_against_model(void **unused)
{
    (void)unused;
    run_against_model(64, 4, 12345);
    run_against_model(64, 7, 777);
    /* Larger than the initial ring and not a power of two: 256, 512, 1000. */
    run_against_model(1000, 4, 4242);
    run_against_model(1000, 7, 99);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_and_args),
        cmocka_unit_test(test_out_of_order),
        cmocka_unit_test(test_gaps_and_skips),
        cmocka_unit_test(test_bound_and_wraparound),
        cmocka_unit_test(test_growth_keeps_tickets),
        cmocka_unit_test(test_reset_makes_tickets_stale),
        cmocka_unit_test(test_commit_due),
        cmocka_unit_test(test_random_against_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
