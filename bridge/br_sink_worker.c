/*
 * br_sink_worker.c - an org's worker threads: each takes a batch, makes the
 * sObject Collections call, retries what may be retried, and hands the batch
 * back with one result per command.
 *
 * Retry policy lives here, not in the connector (CONVENTIONS.md "Errors"):
 * capped exponential backoff with full jitter, within the sink's budget
 * (max_attempts and retry_budget_ms). REQUEST_LIMIT_EXCEEDED, an org whose
 * login failed for good, and API usage above max_api_usage_pct pause the
 * whole org (its partitions stop fetching) with a growing pause, and do not
 * spend the batch's attempts: an allocation that comes back later still
 * applies every command.
 */
#include "br_sink_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/rand.h>

#include "sfb.h"

#define BACKOFF_BASE_MS 100
#define BACKOFF_CAP_MS  10000
#define PAUSE_BASE_MS   1000
#define PAUSE_CAP_MS    60000
/* How long a batch may wait for a paused org before its commands get an
 * error result: long enough for a daily allocation to be raised by an admin,
 * short enough that nothing waits forever without a trace. */
#define PAUSE_BUDGET_MS (6 * 3600 * 1000LL)

const char *sink_dedupe_field(const br_config_t *config, const char *sobject)
{
    for (size_t i = 0; i < config->sink.dedupe_count; i++) {
        if (strcasecmp(config->sink.dedupe[i].sobject, sobject) == 0)
            return config->sink.dedupe[i].field;
    }
    return NULL;
}

static uint32_t random_u32(void)
{
    uint32_t v = 0;
    if (RAND_bytes((unsigned char *)&v, sizeof(v)) != 1)
        v = (uint32_t)rand();
    return v;
}

/* Full jitter: a uniform wait in [0, min(cap, base * 2^attempt)]. */
static int64_t backoff_ms(int attempt, int64_t base, int64_t cap)
{
    int64_t ceiling = base;
    for (int i = 1; i < attempt && ceiling < cap; i++)
        ceiling *= 2;
    if (ceiling > cap)
        ceiling = cap;
    return (int64_t)(random_u32() % (uint32_t)(ceiling + 1));
}

/* Sleeps up to ms unless the sink stops hard. Returns false on a hard stop. */
static bool org_sleep(sink_org_t *org, int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&org->mu);
    while (!org->sink->hard_stop) {
        if (pthread_cond_timedwait(&org->cv, &org->mu, &ts) == ETIMEDOUT)
            break;
    }
    bool ok = !org->sink->hard_stop;
    pthread_mutex_unlock(&org->mu);
    return ok;
}

bool sink_org_paused(sink_org_t *org, int64_t now_ms)
{
    return atomic_load(&org->paused_until_ms) > now_ms;
}

static void org_pause(sink_org_t *org, const char *why)
{
    pthread_mutex_lock(&org->mu);
    int64_t now = sink_now_ms();
    if (org->paused_until_ms <= now) {
        int64_t ms = PAUSE_BASE_MS;
        for (int i = 0; i < org->pause_level && ms < PAUSE_CAP_MS; i++)
            ms *= 2;
        if (ms > PAUSE_CAP_MS)
            ms = PAUSE_CAP_MS;
        org->pause_level++;
        org->paused_until_ms = now + ms;
        pthread_mutex_unlock(&org->mu);
        SFB_WARN(org->conf->name, "pausing the org's partitions for %lld ms: %s", (long long)ms,
                 why);
        return;
    }
    pthread_mutex_unlock(&org->mu);
}

static void org_unpause(sink_org_t *org)
{
    pthread_mutex_lock(&org->mu);
    org->pause_level = 0;
    pthread_mutex_unlock(&org->mu);
}

/* Waits while the org is paused. Returns false on a hard stop. */
static bool wait_unpaused(sink_org_t *org)
{
    for (;;) {
        pthread_mutex_lock(&org->mu);
        int64_t left = org->paused_until_ms - sink_now_ms();
        pthread_mutex_unlock(&org->mu);
        if (left <= 0)
            return true;
        if (!org_sleep(org, left))
            return false;
    }
}

/* True when the last known usage is at or above the org's threshold. */
static bool usage_too_high(sink_org_t *org, char *why, size_t why_size)
{
    sf_usage_t u;
    sf_org_usage(org->sf, &u);
    if (u.max <= 0 || org->conf->max_api_usage_pct <= 0)
        return false;
    if (u.used * 100 < (long)org->conf->max_api_usage_pct * u.max)
        return false;
    snprintf(why, why_size, "API usage %ld/%ld is at or above max_api_usage_pct %d", u.used, u.max,
             org->conf->max_api_usage_pct);
    return true;
}

/* After a pause for high usage, asks /limits for fresh figures (the only way
 * to see that the allocation was raised or a new day began). */
static void refresh_usage(sink_org_t *org)
{
    json_t *limits = NULL;
    sf_error_t *err = NULL;
    if (sf_limits(org->sf, &limits, &err) == 0)
        json_decref(limits);
    sf_error_destroy(err);
}

static void set_error_from(sink_item_t *item, const sf_error_t *err)
{
    if (err->item_cnt > 0) {
        const sf_error_item_t *e = &err->items[0];
        sink_item_set_error(item, e->code, e->message, e->fields, e->field_cnt);
        return;
    }
    const char *code = err->code;
    char fallback[64];
    if (!code) {
        snprintf(fallback, sizeof(fallback), "SFBRIDGE_%s", sf_error_kind_name(err->kind));
        for (char *p = fallback; *p; p++)
            *p = (*p >= 'a' && *p <= 'z') ? (char)(*p - 32) : (*p == ' ' ? '_' : *p);
        code = fallback;
    }
    sink_item_set_error(item, code, err->message, NULL, 0);
}

/* The dedupe field that turns this batch's inserts into upserts, or NULL. */
static const char *batch_dedupe(const sink_org_t *org, const br_batch_t *batch)
{
    /* An insert batch's key is its plain sobject name (br_sink.c). */
    return batch->op == BR_OP_INSERT ? sink_dedupe_field(org->sink->config, batch->sobject) : NULL;
}

/* Writes the records array of an insert/update/upsert/publish call, in
 * pending order: each command's record text with the members the call needs
 * (attributes.type; the id of an update; the external id of an upsert, or
 * command_id in the dedupe field of an insert). */
static void write_records(sfb_buf_t *b, sink_org_t *org, const br_batch_t *batch,
                          sink_item_t **pending, size_t cnt)
{
    const char *dedupe = batch_dedupe(org, batch);
    sfb_buf_append(b, "[", 1);
    for (size_t i = 0; i < cnt; i++) {
        const sink_item_t *item = pending[i];
        sfb_buf_puts(b, i ? ",{\"attributes\":{\"type\":" : "{\"attributes\":{\"type\":");
        sfb_buf_json_cstring(b, item->sobject);
        sfb_buf_append(b, "}", 1);
        if (pending[i]->record && pending[i]->record[0]) {
            sfb_buf_append(b, ",", 1);
            sfb_buf_puts(b, pending[i]->record);
        }
        const char *key = NULL, *value = NULL;
        if (batch->op == BR_OP_UPDATE) {
            key = "id";
            value = item->record_id;
        } else if (batch->op == BR_OP_UPSERT) {
            key = item->ext_field;
            value = item->ext_value;
        } else if (dedupe) {
            key = dedupe;
            value = pending[i]->command_id;
        }
        if (key) {
            sfb_buf_append(b, ",", 1);
            sfb_buf_json_cstring(b, key);
            sfb_buf_append(b, ":", 1);
            sfb_buf_json_cstring(b, value ? value : "");
        }
        sfb_buf_append(b, "}", 1);
    }
    sfb_buf_append(b, "]", 1);
}

/* Method and path of the sObject Collections call of a save batch. */
static const char *collection_target(sink_org_t *org, const br_batch_t *batch,
                                     const sink_item_t *first, char *path, size_t path_size)
{
    const char *ver = sf_org_api_version(org->sf);
    const char *dedupe = batch_dedupe(org, batch);
    if (batch->op == BR_OP_UPSERT || dedupe) {
        snprintf(path, path_size, "/services/data/v%s/composite/sobjects/%s/%s", ver,
                 first->sobject, batch->op == BR_OP_UPSERT ? first->ext_field : dedupe);
        return "PATCH";
    }
    snprintf(path, path_size, "/services/data/v%s/composite/sobjects", ver);
    return batch->op == BR_OP_UPDATE ? "PATCH" : "POST";
}

/* Writes {"allOrNone":false,"records":[...]}. */
static void write_collection_body(sfb_buf_t *b, sink_org_t *org, const br_batch_t *batch,
                                  sink_item_t **pending, size_t cnt)
{
    sfb_buf_puts(b, "{\"allOrNone\":false,\"records\":");
    write_records(b, org, batch, pending, cnt);
    sfb_buf_append(b, "}", 1);
}

/*
 * Makes the sObject Collections call of `pending` items. On a call-level
 * failure returns -1 with *errp; otherwise 0 with one SaveResult per pending
 * item in *results. -2: a different number of results; -3: out of memory.
 */
static int call_collections(sink_org_t *org, const br_batch_t *batch, sink_item_t **pending,
                            size_t cnt, sf_save_result_t **results, size_t *result_cnt,
                            sf_error_t **errp)
{
    int rc = -1;
    if (batch->op == BR_OP_DELETE) {
        const char **ids = calloc(cnt, sizeof(*ids));
        if (!ids)
            return -3;
        for (size_t i = 0; i < cnt; i++)
            ids[i] = pending[i]->record_id;
        rc = sf_collection_delete(org->sf, ids, cnt, false, results, result_cnt, errp);
        free(ids);
    } else {
        sfb_buf_t body;
        sfb_buf_init(&body);
        write_collection_body(&body, org, batch, pending, cnt);
        if (body.failed) {
            sfb_buf_free(&body);
            return -3;
        }
        char path[512];
        const char *method = collection_target(org, batch, pending[0], path, sizeof(path));
        rc = sf_collection_save_text(org->sf, method, path, body.data, body.len, cnt, results,
                                     result_cnt, errp);
        sfb_buf_free(&body);
    }
    if (rc == 0 && *result_cnt != cnt) {
        /* Salesforce answers one SaveResult per record; anything else means we
         * cannot tell which command succeeded. Retried like a failed call. */
        sf_save_results_destroy(*results, *result_cnt);
        *results = NULL;
        *result_cnt = 0;
        *errp = NULL;
        return -2;
    }
    return rc;
}

/* Applies per-record outcomes; keeps the retriable failures in pending and
 * returns how many. */
static size_t apply_save_results(sink_org_t *org, const br_batch_t *batch, sink_item_t **pending,
                                 size_t pending_cnt, const sf_save_result_t *results)
{
    bool reports_created = batch->op == BR_OP_UPSERT || batch_dedupe(org, batch);
    size_t keep = 0;
    for (size_t i = 0; i < pending_cnt; i++) {
        sink_item_t *item = pending[i];
        const sf_save_result_t *r = &results[i];
        if (r->success) {
            item->ok = true;
            snprintf(item->id, sizeof(item->id), "%s", r->id ? r->id : "");
            if (reports_created) {
                item->created = r->created;
                item->created_known = true;
            } else if (batch->op == BR_OP_INSERT || batch->op == BR_OP_PUBLISH) {
                item->created = true;
                item->created_known = true;
            }
            continue;
        }
        if (r->id)
            snprintf(item->id, sizeof(item->id), "%s", r->id);
        if (r->error) {
            set_error_from(item, r->error);
            if (sf_error_retry_class(r->error) == SF_RETRY) {
                pending[keep++] = item;
                continue;
            }
        } else {
            sink_item_set_error(item, "SFBRIDGE_BAD_RESPONSE",
                                "Salesforce reported a failure without an error", NULL, 0);
        }
    }
    return keep;
}

/* The items of a batch that need a call (query commands are answered here).
 * Returns a calloc'd array (free it), NULL when out of memory. */
static sink_item_t **collect_pending(br_batch_t *batch, size_t *pending_cnt)
{
    sink_item_t **pending = calloc(batch->count ? batch->count : 1, sizeof(*pending));
    *pending_cnt = 0;
    if (!pending) {
        for (size_t i = 0; i < batch->count; i++)
            sink_item_set_error(batch->items[i].opaque, "SFBRIDGE_INTERNAL", "out of memory", NULL,
                                0);
        return NULL;
    }
    for (size_t i = 0; i < batch->count; i++) {
        sink_item_t *item = batch->items[i].opaque;
        if (item->op == BR_OP_QUERY) {
            item->attempts = 1;
            sink_item_set_error(item, "SFBRIDGE_UNSUPPORTED_OP",
                                "op query is not supported by the sink of this build", NULL, 0);
            continue;
        }
        pending[(*pending_cnt)++] = item;
    }
    return pending;
}

/*
 * Calls and retries until every pending item has its outcome or the budget
 * is spent. `attempt` is the number of attempts already made (a composite
 * call counts as the first).
 */
static void retry_loop(sink_org_t *org, const br_batch_t *batch, sink_item_t **pending,
                       size_t pending_cnt, int attempt)
{
    const br_config_sink_t *sc = &org->sink->config->sink;
    int64_t start = sink_now_ms();
    int64_t pause_start = 0;

    while (pending_cnt > 0) {
        if (!wait_unpaused(org))
            break;
        char why[160];
        if (usage_too_high(org, why, sizeof(why))) {
            org_pause(org, why);
            if (!wait_unpaused(org))
                break;
            refresh_usage(org);
            if (usage_too_high(org, why, sizeof(why))) {
                if (!pause_start)
                    pause_start = sink_now_ms();
                if (sink_now_ms() - pause_start < PAUSE_BUDGET_MS)
                    continue;
                for (size_t i = 0; i < pending_cnt; i++)
                    sink_item_set_error(pending[i], "SFBRIDGE_API_USAGE_LIMIT", why, NULL, 0);
                pending_cnt = 0;
                break;
            }
        }
        attempt++;
        for (size_t i = 0; i < pending_cnt; i++)
            pending[i]->attempts = attempt;

        sf_save_result_t *results = NULL;
        size_t result_cnt = 0;
        sf_error_t *err = NULL;
        int rc = call_collections(org, batch, pending, pending_cnt, &results, &result_cnt, &err);
        bool pause = false;
        if (rc == -3) {
            for (size_t i = 0; i < pending_cnt; i++)
                sink_item_set_error(pending[i], "SFBRIDGE_INTERNAL", "out of memory", NULL, 0);
            pending_cnt = 0;
        } else if (rc == -2) {
            for (size_t i = 0; i < pending_cnt; i++)
                sink_item_set_error(pending[i], "SFBRIDGE_BAD_RESPONSE",
                                    "Salesforce answered a different number of results than "
                                    "records sent",
                                    NULL, 0);
        } else if (rc != 0) {
            sf_retry_class_t rclass = sf_error_retry_class(err);
            for (size_t i = 0; i < pending_cnt; i++)
                set_error_from(pending[i], err);
            if (rclass == SF_RETRY_FINAL) {
                pending_cnt = 0;
            } else if (rclass == SF_RETRY_PAUSE_ORG) {
                char msg[256];
                sf_org_state_t st = sf_org_state(org->sf, msg, sizeof(msg));
                org_pause(org, st == SF_ORG_FAILED ? msg : err->message);
                pause = true;
            }
            SFB_DEBUG(org->conf->name, "batch of %zu %s %s: attempt %d failed (%s): %s",
                      pending_cnt, br_op_name((br_op_t)batch->op), batch->sobject, attempt,
                      sf_retry_class_name(rclass), err->message);
        } else {
            pending_cnt = apply_save_results(org, batch, pending, pending_cnt, results);
            org_unpause(org);
        }
        sf_save_results_destroy(results, result_cnt);
        sf_error_destroy(err);

        if (pending_cnt == 0)
            break;
        if (pause) {
            if (!pause_start)
                pause_start = sink_now_ms();
            if (sink_now_ms() - pause_start < PAUSE_BUDGET_MS) {
                attempt--; /* waiting for the org is not an attempt of the batch */
                continue;
            }
            break;
        }
        int64_t elapsed = sink_now_ms() - start;
        if (attempt >= sc->max_attempts || elapsed >= sc->retry_budget_ms)
            break; /* the last error stays as each command's result */
        int64_t wait = backoff_ms(attempt, BACKOFF_BASE_MS, BACKOFF_CAP_MS);
        if (elapsed + wait > sc->retry_budget_ms)
            wait = sc->retry_budget_ms - elapsed;
        if (!org_sleep(org, wait))
            break;
    }
}

static void execute_batch(sink_org_t *org, sink_job_t *job)
{
    size_t pending_cnt = 0;
    sink_item_t **pending = collect_pending(job->batch, &pending_cnt);
    if (pending && pending_cnt > 0)
        retry_loop(org, job->batch, pending, pending_cnt, 0);
    free(pending);
}

/* Writes the composite subrequest of one batch's pending items. */
static void write_subrequest(sfb_buf_t *b, sink_org_t *org, const br_batch_t *batch,
                             sink_item_t **pending, size_t cnt, size_t ref)
{
    if (batch->op == BR_OP_DELETE) {
        /* ids are 15 or 18 alphanumerics (the parser checks): no escaping. */
        sfb_buf_puts(b, "{\"method\":\"DELETE\",\"url\":\"/services/data/v");
        sfb_buf_puts(b, sf_org_api_version(org->sf));
        sfb_buf_puts(b, "/composite/sobjects?allOrNone=false&ids=");
        for (size_t i = 0; i < cnt; i++) {
            if (i)
                sfb_buf_append(b, ",", 1);
            sfb_buf_puts(b, pending[i]->record_id);
        }
        sfb_buf_puts(b, "\",\"referenceId\":\"b");
        sfb_buf_int(b, (int64_t)ref);
        sfb_buf_puts(b, "\"}");
        return;
    }
    char path[512];
    const char *method = collection_target(org, batch, pending[0], path, sizeof(path));
    sfb_buf_puts(b, "{\"method\":");
    sfb_buf_json_cstring(b, method);
    sfb_buf_puts(b, ",\"url\":");
    sfb_buf_json_cstring(b, path);
    sfb_buf_puts(b, ",\"referenceId\":\"b");
    sfb_buf_int(b, (int64_t)ref);
    sfb_buf_puts(b, "\",\"body\":");
    write_collection_body(b, org, batch, pending, cnt);
    sfb_buf_append(b, "}", 1);
}

/*
 * Several batches of one org in one /composite call: one API call instead of
 * up to five (sink.use_composite). Subrequests run in order, which the batcher
 * already allows (only non-conflicting batches are in flight together). What
 * the composite call does not settle goes through each batch's own retry loop,
 * counting the composite call as its first attempt.
 */
static void execute_composite(sink_org_t *org, sink_job_t **jobs, size_t n)
{
    sink_item_t **pending[COMPOSITE_MAX_BATCHES] = {0};
    size_t pending_cnt[COMPOSITE_MAX_BATCHES] = {0};
    int sub_of[COMPOSITE_MAX_BATCHES];
    size_t nsubs = 0;
    json_t *out = NULL;
    sf_error_t *err = NULL;
    sfb_buf_t body;
    sfb_buf_init(&body);
    sfb_buf_puts(&body, "{\"allOrNone\":false,\"compositeRequest\":[");

    for (size_t j = 0; j < n; j++) {
        sub_of[j] = -1;
        pending[j] = collect_pending(jobs[j]->batch, &pending_cnt[j]);
        if (!pending[j] || pending_cnt[j] == 0)
            continue;
        if (nsubs)
            sfb_buf_append(&body, ",", 1);
        write_subrequest(&body, org, jobs[j]->batch, pending[j], pending_cnt[j], j);
        sub_of[j] = (int)nsubs++;
    }
    sfb_buf_puts(&body, "]}");
    if (body.failed) { /* out of memory: each batch goes through its own retry loop */
        nsubs = 0;
        for (size_t j = 0; j < n; j++)
            sub_of[j] = -1;
    }
    bool called = false;
    if (nsubs > 0 && wait_unpaused(org)) {
        for (size_t j = 0; j < n; j++)
            for (size_t i = 0; sub_of[j] >= 0 && i < pending_cnt[j]; i++)
                pending[j][i]->attempts = 1;
        called = sf_composite_text(org->sf, body.data, body.len, nsubs, &out, &err) == 0;
        if (!called && err) {
            for (size_t j = 0; j < n; j++)
                for (size_t i = 0; sub_of[j] >= 0 && i < pending_cnt[j]; i++)
                    set_error_from(pending[j][i], err);
            if (sf_error_retry_class(err) == SF_RETRY_PAUSE_ORG)
                org_pause(org, err->message);
        }
    }
    for (size_t j = 0; j < n; j++) {
        if (!pending[j] || pending_cnt[j] == 0)
            goto next;
        int attempts_done = sub_of[j] >= 0 && (called || err) ? 1 : 0;
        if (called && sub_of[j] >= 0) {
            json_t *resp = json_array_get(out, (size_t)sub_of[j]);
            long status = (long)json_integer_value(json_object_get(resp, "httpStatusCode"));
            json_t *sub_body = json_object_get(resp, "body");
            sf_save_result_t *results = NULL;
            size_t result_cnt = 0;
            sf_error_t *perr = NULL;
            if (status == 200 &&
                sf_save_results_parse(sub_body, &results, &result_cnt, &perr) == 0 &&
                result_cnt == pending_cnt[j]) {
                pending_cnt[j] =
                    apply_save_results(org, jobs[j]->batch, pending[j], pending_cnt[j], results);
            } else if (status >= 300) {
                char *text = sub_body ? json_dumps(sub_body, JSON_COMPACT) : NULL;
                sf_error_t *sub_err =
                    sf_error_from_response(status, text ? text : "", text ? strlen(text) : 0);
                for (size_t i = 0; sub_err && i < pending_cnt[j]; i++)
                    set_error_from(pending[j][i], sub_err);
                if (sub_err && sf_error_retry_class(sub_err) == SF_RETRY_FINAL)
                    pending_cnt[j] = 0;
                sf_error_destroy(sub_err);
                free(text);
            }
            sf_save_results_destroy(results, result_cnt);
            sf_error_destroy(perr);
        }
        if (pending_cnt[j] > 0)
            retry_loop(org, jobs[j]->batch, pending[j], pending_cnt[j], attempts_done);
    next:
        free(pending[j]);
    }
    sfb_buf_free(&body);
    json_decref(out);
    sf_error_destroy(err);
}

static void *worker_main(void *arg)
{
    sink_org_t *org = arg;
    for (;;) {
        pthread_mutex_lock(&org->mu);
        while (!org->queue_head && !org->stopping && !org->login_wanted) {
            org->idle_workers++;
            pthread_cond_wait(&org->cv, &org->mu);
            org->idle_workers--;
        }
        if (org->login_wanted && !org->stopping) {
            /* The org's first batch would wait for the token (and its
             * connection): get it while the batch fills. A failure is only
             * logged; that batch logs in again and reports it. */
            org->login_wanted = false;
            pthread_mutex_unlock(&org->mu);
            sf_error_t *err = NULL;
            if (sf_org_login(org->sf, &err) != 0)
                SFB_WARN(org->conf->name, "login failed: %s (retried by the first batch)",
                         err ? err->message : "unknown error");
            sf_error_destroy(err);
            continue;
        }
        if (!org->queue_head) { /* stopping and nothing left */
            pthread_mutex_unlock(&org->mu);
            break;
        }
        /* With use_composite, take a fair share of the queued batches (up
         * to five) and send them in one /composite call. The share leaves
         * one batch for each idle worker first: packing batches into one
         * call while a worker idles would trade concurrency for fewer
         * calls, and with the added latency of a real org that halves the
         * throughput of a partition. */
        sink_job_t *jobs[COMPOSITE_MAX_BATCHES] = {0};
        size_t njobs = 0;
        size_t max = 1;
        if (org->sink->config->sink.use_composite) {
            size_t takers = org->idle_workers + 1;
            max = (org->queue_len + takers - 1) / takers;
            if (max > COMPOSITE_MAX_BATCHES)
                max = COMPOSITE_MAX_BATCHES;
        }
        while (org->queue_head && njobs < max) {
            jobs[njobs] = org->queue_head;
            org->queue_head = org->queue_head->next;
            jobs[njobs++]->next = NULL;
            org->queue_len--;
        }
        if (!org->queue_head)
            org->queue_tail = NULL;
        pthread_mutex_unlock(&org->mu);

        if (org->sink->hard_stop) {
            for (size_t j = 0; j < njobs; j++)
                for (size_t i = 0; i < jobs[j]->batch->count; i++)
                    sink_item_set_error(jobs[j]->batch->items[i].opaque, "SFBRIDGE_SHUTDOWN",
                                        "sfbridge stopped before the command was applied", NULL, 0);
        } else if (njobs > 1) {
            execute_composite(org, jobs, njobs);
        } else {
            execute_batch(org, jobs[0]);
        }

        sink_t *sink = org->sink;
        pthread_mutex_lock(&sink->done_mu);
        for (size_t j = 0; j < njobs; j++) {
            if (sink->done_tail)
                sink->done_tail->next = jobs[j];
            else
                sink->done_head = jobs[j];
            sink->done_tail = jobs[j];
        }
        pthread_mutex_unlock(&sink->done_mu);
        /* The main thread writes the results: wake it from its poll. */
        kf_consumer_wake(sink->consumer);
    }
    return NULL;
}

int sink_org_start(sink_t *sink, sink_org_t *org, char *errstr, size_t errstr_size)
{
    org->sink = sink;
    pthread_mutex_init(&org->mu, NULL);
    pthread_cond_init(&org->cv, NULL);
    org->thread_cnt = (size_t)sink->config->sink.max_in_flight;
    org->threads = calloc(org->thread_cnt, sizeof(*org->threads));
    if (!org->threads) {
        snprintf(errstr, errstr_size, "org %s: out of memory", org->conf->name);
        return -1;
    }
    for (size_t i = 0; i < org->thread_cnt; i++) {
        if (pthread_create(&org->threads[i], NULL, worker_main, org) != 0) {
            snprintf(errstr, errstr_size, "org %s: cannot start a worker thread", org->conf->name);
            org->thread_cnt = i;
            return -1;
        }
    }
    return 0;
}

void sink_org_submit(sink_org_t *org, sink_job_t *job)
{
    job->next = NULL;
    pthread_mutex_lock(&org->mu);
    if (org->queue_tail)
        org->queue_tail->next = job;
    else
        org->queue_head = job;
    org->queue_tail = job;
    org->queue_len++;
    pthread_cond_signal(&org->cv);
    pthread_mutex_unlock(&org->mu);
}

void sink_org_prepare(sink_org_t *org)
{
    pthread_mutex_lock(&org->mu);
    org->login_wanted = true;
    pthread_cond_signal(&org->cv);
    pthread_mutex_unlock(&org->mu);
}

/* Workers finish what is queued (quickly if hard_stop) and exit. */
void sink_org_stop(sink_org_t *org)
{
    if (!org->threads)
        return;
    pthread_mutex_lock(&org->mu);
    org->stopping = true;
    pthread_cond_broadcast(&org->cv);
    pthread_mutex_unlock(&org->mu);
    for (size_t i = 0; i < org->thread_cnt; i++)
        pthread_join(org->threads[i], NULL);
    free(org->threads);
    org->threads = NULL;
    pthread_mutex_destroy(&org->mu);
    pthread_cond_destroy(&org->cv);
}
