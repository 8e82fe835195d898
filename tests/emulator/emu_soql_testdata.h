/*
 * emu_soql_testdata.h - a small org for the SOQL tests and fuzzer: an inline
 * schema in data/schema.json's format, a few records per object (jansson,
 * REST JSON forms) and the schema/source callbacks emu_soql needs. Header-only
 * (static functions) because it is shared by test_emu_soql.c and
 * fuzz_emu_soql.c, which are separate programs.
 */
#ifndef EMU_SOQL_TESTDATA_H
#define EMU_SOQL_TESTDATA_H

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "emu_soql.h"

#define TD_F(n, t)                                                                                 \
    "{\"name\":\"" n "\",\"type\":\"" t "\",\"referenceTo\":[],\"relationshipName\":null}"
#define TD_REF(n, to, rel)                                                                         \
    "{\"name\":\"" n "\",\"type\":\"reference\",\"referenceTo\":[\"" to                            \
    "\"],\"relationshipName\":\"" rel "\"}"

static const char td_schema_json[] =
    "{\"sobjects\":["
    "{\"name\":\"Account\",\"keyPrefix\":\"001\",\"queryable\":true,\"fields\":"
    "[" TD_F("Id", "id") "," TD_F("Name", "string") "," TD_F(
        "Industry",
        "pickli"
        "st") "," TD_F("AnnualRevenue",
                       "currency") "," TD_F("NumberOfEmployees",
                                            "int") "," TD_F("Active__c",
                                                            "boolean") "," TD_F("Since__c", "da"
                                                                                            "t"
                                                                                            "e") "," TD_F("CreatedDate", "datetime") "," TD_F("Interests__c", "multipicklist") "," TD_REF("OwnerId", "User", "Owner") "," TD_REF("ParentId", "Account", "Parent") "," TD_F("IsDeleted", "boolean") "]},"
                                                                                                                                                                                                                                                                                                   "{\"name\":\"Contact\",\"keyPrefix\":\"003\",\"queryable\":true,\"fields\":[" TD_F("Id",
                                                                                                                                                                                                                                                                                                                                                                                      "id") "," TD_F("LastName",
                                                                                                                                                                                                                                                                                                                                                                                                     "string") "," TD_F("Email", "email") "," TD_REF("AccountId", "Account", "Account") "," TD_F("Birthdate", "date") "," TD_F("LastSeen__c",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                               "datetime") "," TD_F("IsDeleted", "boolean") "]},"
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                            "{\"name\":\"User\",\"keyPrefix\":\"005\",\"queryable\":true,\"fields\":[" TD_F("Id", "id") "," TD_F("Name", "string") "," TD_F("Username",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                            "string") "]}"
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                      "]}";

/* Ids: key prefix, 12 digits, "AAA" (the checksum does not matter to SOQL). */
#define TD_ID(prefix, n) prefix "0000000000" #n "AAA"

typedef struct td_org {
    json_t *schema; /* {"sobjects":[...]} */
    json_t *data;   /* {"Account":[records], ...} in creation order */
} td_org_t;

static inline const json_t *td_sobject(void *ctx, const char *name)
{
    td_org_t *org = ctx;
    size_t i;
    json_t *so;
    json_array_foreach(json_object_get(org->schema, "sobjects"), i, so)
    {
        if (strcasecmp(json_string_value(json_object_get(so, "name")), name) == 0)
            return so;
    }
    return NULL;
}

typedef struct td_src {
    td_org_t *org;
    json_t *records; /* borrowed array of the FROM object */
    size_t i;
} td_src_t;

static inline const json_t *td_next(void *ctx)
{
    td_src_t *s = ctx;
    return s->i < json_array_size(s->records) ? json_array_get(s->records, s->i++) : NULL;
}

static inline const json_t *td_by_id(void *ctx, const char *id)
{
    td_src_t *s = ctx;
    const char *key;
    json_t *arr, *rec;
    size_t i;
    json_object_foreach(s->org->data, key, arr)
    {
        json_array_foreach(arr, i, rec)
        {
            const char *rid = json_string_value(json_object_get(rec, "Id"));
            if (rid && !strcmp(rid, id))
                return rec;
        }
    }
    return NULL;
}

static inline void td_day(int64_t days_from_today, char out[11])
{
    time_t t = time(NULL) + days_from_today * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

static inline void td_datetime(int64_t secs_from_now, char out[32])
{
    time_t t = time(NULL) + secs_from_now;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%S.000+0000", &tm);
}

/* The org every SOQL test queries. Contacts carry dates relative to today (UTC). */
static inline int td_org_init(td_org_t *org)
{
    json_error_t jerr;
    char today[11], yesterday[11], tomorrow[11], ten_ago[11], now[32], day_ago[32],
        ten_ago_noon[32], tomorrow_midnight[32];
    org->schema = json_loads(td_schema_json, 0, &jerr);
    if (!org->schema) {
        fprintf(stderr, "schema: %s at %d\n", jerr.text, jerr.position);
        return -1;
    }
    td_day(0, today);
    td_day(-1, yesterday);
    td_day(1, tomorrow);
    td_day(-10, ten_ago);
    td_datetime(0, now);
    td_datetime(-86400, day_ago);
    snprintf(ten_ago_noon, sizeof(ten_ago_noon), "%sT12:00:00.000+0000", ten_ago);
    snprintf(tomorrow_midnight, sizeof(tomorrow_midnight), "%sT00:00:00.000Z", tomorrow);
    org->data = json_pack(
        "{s:[{s:s,s:s,s:s},{s:s,s:s,s:s}],"
        "s:[{s:s,s:s,s:s,s:f,s:i,s:b,s:s,s:s,s:s,s:s,s:n,s:b},"
        "{s:s,s:s,s:s,s:f,s:i,s:b,s:s,s:s,s:s,s:s,s:s,s:b},"
        "{s:s,s:s,s:s,s:n,s:i,s:b,s:n,s:s,s:s,s:s,s:s,s:b},"
        "{s:s,s:s,s:n,s:i,s:n,s:b,s:s,s:s,s:n,s:n,s:s,s:b},"
        "{s:s,s:s,s:s,s:i,s:i,s:b,s:s,s:s,s:s,s:s,s:n,s:b},"
        "{s:s,s:s,s:s,s:i,s:i,s:b,s:s,s:s,s:s,s:s,s:n,s:b},"
        "{s:s,s:s,s:s,s:i,s:i,s:b,s:s,s:s,s:s,s:s,s:s,s:b}],"
        "s:[{s:s,s:s,s:s,s:s,s:s,s:s,s:b},{s:s,s:s,s:n,s:s,s:s,s:s,s:b},"
        "{s:s,s:s,s:n,s:n,s:s,s:n,s:b},{s:s,s:s,s:n,s:s,s:s,s:s,s:b},"
        "{s:s,s:s,s:n,s:s,s:n,s:s,s:b}]}",
        "User", "Id", TD_ID("005", 01), "Name", "Alice", "Username", "alice@x.com", "Id",
        TD_ID("005", 02), "Name", "Bob", "Username", "bob@x.com",
        /* Accounts a1..a7; a6 is deleted */
        "Account", "Id", TD_ID("001", 01), "Name", "Acme", "Industry", "Tech", "AnnualRevenue",
        1000000.0, "NumberOfEmployees", 50, "Active__c", 1, "Since__c", "2020-01-15", "CreatedDate",
        "2024-01-31T10:00:00.000+0000", "Interests__c", "red;green", "OwnerId", TD_ID("005", 01),
        "ParentId", "IsDeleted", 0,
        /* a2 */
        "Id", TD_ID("001", 02), "Name", "Globex", "Industry", "Energy", "AnnualRevenue", 500000.5,
        "NumberOfEmployees", 200, "Active__c", 0, "Since__c", "2021-06-30", "CreatedDate",
        "2024-02-01T00:00:00.000+0000", "Interests__c", "blue", "OwnerId", TD_ID("005", 02),
        "ParentId", TD_ID("001", 01), "IsDeleted", 0,
        /* a3 */
        "Id", TD_ID("001", 03), "Name", "initech", "Industry", "Tech", "AnnualRevenue",
        "NumberOfEmployees", 10, "Active__c", 1, "Since__c", "CreatedDate",
        "2023-12-31T23:59:59.000+0000", "Interests__c", "red;blue;green", "OwnerId",
        TD_ID("005", 01), "ParentId", TD_ID("001", 01), "IsDeleted", 0,
        /* a4: dangling parent */
        "Id", TD_ID("001", 04), "Name", "Umbrella Corp", "Industry", "AnnualRevenue", 2000000,
        "NumberOfEmployees", "Active__c", 0, "Since__c", "2019-03-01", "CreatedDate",
        "2024-01-31T09:59:59.999+0000", "Interests__c", "OwnerId", "ParentId", TD_ID("001", 99),
        "IsDeleted", 0,
        /* a5: same instant as a1, other offset */
        "Id", TD_ID("001", 05), "Name", "O'Brien & Sons_100%", "Industry", "Retail",
        "AnnualRevenue", 0, "NumberOfEmployees", 0, "Active__c", 1, "Since__c", "2024-02-29",
        "CreatedDate", "2024-01-31T11:00:00.000+0100", "Interests__c", "green", "OwnerId",
        TD_ID("005", 02), "ParentId", "IsDeleted", 0,
        /* a6: deleted */
        "Id", TD_ID("001", 06), "Name", "Deleted Inc", "Industry", "Tech", "AnnualRevenue", 5,
        "NumberOfEmployees", 5, "Active__c", 1, "Since__c", "2020-01-01", "CreatedDate",
        "2024-01-01T00:00:00.000+0000", "Interests__c", "red", "OwnerId", TD_ID("005", 01),
        "ParentId", "IsDeleted", 1,
        /* a7 */
        "Id", TD_ID("001", 07), "Name", "Zeta", "Industry", "energy", "AnnualRevenue", 750000,
        "NumberOfEmployees", 75, "Active__c", 0, "Since__c", "2020-01-15", "CreatedDate",
        "2024-03-01T12:00:00.000Z", "Interests__c", "Blue;Red", "OwnerId", TD_ID("005", 01),
        "ParentId", TD_ID("001", 02), "IsDeleted", 0,
        /* Contacts c1..c5 */
        "Contact", "Id", TD_ID("003", 01), "LastName", "Smith", "Email", "s@x.com", "AccountId",
        TD_ID("001", 01), "Birthdate", today, "LastSeen__c", now, "IsDeleted", 0,
        /* c2 */
        "Id", TD_ID("003", 02), "LastName", "Jones", "Email", "AccountId", TD_ID("001", 02),
        "Birthdate", yesterday, "LastSeen__c", day_ago, "IsDeleted", 0,
        /* c3 */
        "Id", TD_ID("003", 03), "LastName", "Brown", "Email", "AccountId", "Birthdate", tomorrow,
        "LastSeen__c", "IsDeleted", 0,
        /* c4: parent is the deleted account */
        "Id", TD_ID("003", 04), "LastName", "Taylor", "Email", "AccountId", TD_ID("001", 06),
        "Birthdate", ten_ago, "LastSeen__c", ten_ago_noon, "IsDeleted", 0,
        /* c5: dangling parent */
        "Id", TD_ID("003", 05), "LastName", "Lee", "Email", "AccountId", TD_ID("001", 98),
        "Birthdate", "LastSeen__c", tomorrow_midnight, "IsDeleted", 0);
    if (!org->data) {
        fprintf(stderr, "records: json_pack failed\n");
        json_decref(org->schema);
        return -1;
    }
    return 0;
}

static inline void td_org_destroy(td_org_t *org)
{
    json_decref(org->schema);
    json_decref(org->data);
}

#endif
