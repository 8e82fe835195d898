/*
 * emu_limits.c - API call accounting as Salesforce reports it: every call to
 * a versioned REST resource counts one (a composite counts one whatever it
 * holds; /services/data/ and OAuth endpoints do not count), the running
 * figure goes into Sforce-Limit-Info and DailyApiRequests, and once the
 * allocation is spent calls get 403 REQUEST_LIMIT_EXCEEDED.
 *
 * Only DailyApiRequests moves; the other /limits entries are the fixed
 * allocations of a Developer Edition org, reported with Remaining = Max.
 */
#include "emu_int.h"

#include <stdio.h>
#include <string.h>

void emu_limits_init(emu_t *emu)
{
    emu->api_limit = emu->opt.api_limit > 0 ? emu->opt.api_limit : 15000;
    emu->api_used = 0;
    emu->calls_total = 0;
}

bool emu_limits_take(emu_t *emu, const char *resource)
{
    bool ok;
    pthread_mutex_lock(&emu->lock);
    ok = emu->api_used < emu->api_limit;
    if (ok) {
        emu->api_used++;
        emu->calls_total++;
        json_t *n = json_object_get(emu->calls_by_resource, resource);
        if (n)
            json_integer_set(n, json_integer_value(n) + 1);
        else
            json_object_set_new(emu->calls_by_resource, resource, json_integer(1));
    }
    pthread_mutex_unlock(&emu->lock);
    return ok;
}

void emu_limits_header(emu_t *emu, char *out, size_t out_size)
{
    pthread_mutex_lock(&emu->lock);
    snprintf(out, out_size, "api-usage=%ld/%ld", emu->api_used, emu->api_limit);
    pthread_mutex_unlock(&emu->lock);
}

void emu_limits_body(emu_t *emu, emu_resp_t *resp)
{
    static const struct {
        const char *name;
        long max;
    } fixed[] = {
        {"ConcurrentAsyncGetReportInstances", 200},
        {"ConcurrentSyncReportRuns", 20},
        {"DailyAsyncApexExecutions", 250000},
        {"DailyBulkApiBatches", 15000},
        {"DailyBulkApiRequests", 15000},
        {"DailyBulkV2QueryFileStorageMB", 976562},
        {"DailyBulkV2QueryJobs", 10000},
        {"DailyDurableGenericStreamingApiEvents", 10000},
        {"DailyDurableStreamingApiEvents", 10000},
        {"DailyGenericStreamingApiEvents", 10000},
        {"DailyStandardVolumePlatformEvents", 10000},
        {"DailyStreamingApiEvents", 10000},
        {"DailyWorkflowEmails", 390},
        {"DataStorageMB", 5},
        {"DurableStreamingApiConcurrentClients", 20},
        {"FileStorageMB", 20},
        {"HourlyAsyncReportRuns", 1200},
        {"HourlyDashboardRefreshes", 200},
        {"HourlyDashboardResults", 5000},
        {"HourlyDashboardStatuses", 999999999},
        {"HourlyODataCallout", 10000},
        {"HourlyPublishedPlatformEvents", 50000},
        {"HourlySyncReportRuns", 500},
        {"HourlyTimeBasedWorkflow", 50},
        {"MassEmail", 10},
        {"SingleEmail", 15},
        {"StreamingApiConcurrentClients", 20},
    };
    json_t *body = json_object();
    pthread_mutex_lock(&emu->lock);
    json_object_set_new(
        body, "DailyApiRequests",
        json_pack(
            "{s:I,s:I}", "Max", (json_int_t)emu->api_limit, "Remaining",
            (json_int_t)(emu->api_limit > emu->api_used ? emu->api_limit - emu->api_used : 0)));
    pthread_mutex_unlock(&emu->lock);
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        json_object_set_new(body, fixed[i].name,
                            json_pack("{s:I,s:I}", "Max", (json_int_t)fixed[i].max, "Remaining",
                                      (json_int_t)fixed[i].max));
    emu_resp_json(resp, 200, body);
}

json_t *emu_limits_counters(emu_t *emu)
{
    pthread_mutex_lock(&emu->lock);
    json_t *out = json_pack("{s:I,s:O,s:I,s:I}", "total", (json_int_t)emu->calls_total,
                            "by_resource", emu->calls_by_resource, "daily_api_used",
                            (json_int_t)emu->api_used, "daily_api_max", (json_int_t)emu->api_limit);
    /* a copy: the live object keeps changing under the lock */
    json_object_set_new(out, "by_resource", json_deep_copy(emu->calls_by_resource));
    pthread_mutex_unlock(&emu->lock);
    return out;
}

void emu_limits_reset(emu_t *emu)
{
    pthread_mutex_lock(&emu->lock);
    emu->api_used = 0;
    emu->calls_total = 0;
    json_object_clear(emu->calls_by_resource);
    pthread_mutex_unlock(&emu->lock);
}
