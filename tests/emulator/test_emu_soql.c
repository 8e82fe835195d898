/*
 * test_emu_soql.c - the SOQL module against a small inline org
 * (emu_soql_testdata.h): tables of query -> expected rows in order, or ->
 * errorCode and a fragment of the message; projection shapes; hostile input;
 * a throughput figure over 100,000 records.
 *
 * Rows are named by label: a1..a7 Accounts (a6 deleted), c1..c5 Contacts,
 * u1..u2 Users, taken from the id in each row's attributes.url.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "emu_soql.h"
#include "emu_soql_testdata.h"

typedef struct soql_case {
    const char *soql;
    const char *rows;    /* expected labels in order, "" for none; NULL when an error is expected */
    const char *errcode; /* expected errorCode */
    const char *errfrag; /* expected fragment of the message */
    bool all;            /* queryAll */
} soql_case_t;

static td_org_t org;

static int setup(void **state)
{
    (void)state;
    return td_org_init(&org);
}

static int teardown(void **state)
{
    (void)state;
    td_org_destroy(&org);
    return 0;
}

static const emu_soql_schema_t schema = {.sobject = td_sobject, .ctx = &org};

/* "a3" from ".../sobjects/Account/001000000000003AAA" */
static void label(const json_t *row, char *out, size_t size)
{
    const char *url = json_string_value(json_object_get(json_object_get(row, "attributes"), "url"));
    const char *id = url ? strrchr(url, '/') : NULL;
    if (!id || strlen(id + 1) != 18) {
        snprintf(out, size, "?");
        return;
    }
    id++;
    char letter = !strncmp(id, "001", 3) ? 'a' : !strncmp(id, "003", 3) ? 'c' : 'u';
    snprintf(out, size, "%c%d", letter, atoi(id + 3));
}

/* Runs a query; returns the labels of the rows ("a1 a2") or "ERR <code>: <msg>". */
static char *run(const char *soql, bool all, size_t *total)
{
    char code[64], msg[1024];
    static char out[4096];
    emu_soql_t *q = emu_soql_prepare(soql, &schema, code, sizeof(code), msg, sizeof(msg));
    if (!q) {
        snprintf(out, sizeof(out), "ERR %s: %s", code, msg);
        return out;
    }
    td_src_t s = {.org = &org, .records = json_object_get(org.data, emu_soql_from(q))};
    emu_soql_source_t src = {.next = td_next, .by_id = td_by_id, .ctx = &s};
    json_t *rows =
        emu_soql_execute(q, &src, all, "62.0", total, code, sizeof(code), msg, sizeof(msg));
    emu_soql_destroy(q);
    if (!rows) {
        snprintf(out, sizeof(out), "ERR %s: %s", code, msg);
        return out;
    }
    size_t i, o = 0;
    json_t *row;
    out[0] = '\0';
    json_array_foreach(rows, i, row)
    {
        char l[16];
        label(row, l, sizeof(l));
        o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s", i ? " " : "", l);
        if (o >= sizeof(out))
            break;
    }
    json_decref(rows);
    return out;
}

static void run_table(const soql_case_t *cases, size_t n)
{
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        const soql_case_t *c = &cases[i];
        char code[64], msg[1024];
        if (c->rows) {
            size_t total = 0;
            const char *got = run(c->soql, c->all, &total);
            if (strcmp(got, c->rows) != 0) {
                fprintf(stderr, "FAIL %s\n  expected: [%s]\n  got:      [%s]\n", c->soql, c->rows,
                        got);
                failed++;
            }
            continue;
        }
        emu_soql_t *q = emu_soql_prepare(c->soql, &schema, code, sizeof(code), msg, sizeof(msg));
        if (q) {
            fprintf(stderr, "FAIL %s\n  expected %s, query was accepted\n", c->soql, c->errcode);
            emu_soql_destroy(q);
            failed++;
            continue;
        }
        json_t *js = json_string(msg); /* the message must be valid UTF-8 for the REST body */
        if (strcmp(code, c->errcode) != 0 || !strstr(msg, c->errfrag) || !js) {
            fprintf(stderr, "FAIL %s\n  expected %s containing [%s]\n  got %s: [%s]\n", c->soql,
                    c->errcode, c->errfrag, code, msg);
            failed++;
        }
        json_decref(js);
    }
    assert_int_equal(failed, 0);
}

#define ROWS(q, r)                                                                                 \
    {                                                                                              \
        q, r, NULL, NULL, false                                                                    \
    }
#define ROWS_ALL(q, r)                                                                             \
    {                                                                                              \
        q, r, NULL, NULL, true                                                                     \
    }
#define ERR(q, code, frag)                                                                         \
    {                                                                                              \
        q, NULL, code, frag, false                                                                 \
    }
#define ACC  "SELECT Id FROM Account WHERE "
#define CON  "SELECT Id FROM Contact WHERE "
#define ALL6 "a1 a2 a3 a4 a5 a7"

static const soql_case_t filter_cases[] = {
    ROWS("SELECT Id FROM Account", ALL6),
    ROWS("select id from account", ALL6),
    ROWS("SeLeCt Name, ID fRoM ACCOUNT", ALL6),
    ROWS("SELECT Id\nFROM\tAccount\r\n", ALL6),
    ROWS_ALL("SELECT Id FROM Account", "a1 a2 a3 a4 a5 a6 a7"),
    ROWS_ALL(ACC "Industry = 'Tech'", "a1 a3 a6"),
    /* = and != on strings: case-insensitive; != includes null */
    ROWS(ACC "Name = 'acme'", "a1"),
    ROWS(ACC "Name = 'ACME'", "a1"),
    ROWS(ACC "name='Acme'", "a1"),
    ROWS(ACC "Name = 'Acm'", ""),
    ROWS(ACC "Name != 'Acme'", "a2 a3 a4 a5 a7"),
    ROWS(ACC "Name <> 'Acme'", "a2 a3 a4 a5 a7"),
    ROWS(ACC "Industry = 'tech'", "a1 a3"),
    ROWS(ACC "Industry != 'Tech'", "a2 a4 a5 a7"),
    ROWS(ACC "Industry = null", "a4"),
    ROWS(ACC "Industry = NULL", "a4"),
    ROWS(ACC "Industry != null", "a1 a2 a3 a5 a7"),
    ROWS(ACC "Industry < 'Retail'", "a2 a7"),
    ROWS(ACC "Industry >= 'retail'", "a1 a3 a5"),
    /* numbers */
    ROWS(ACC "NumberOfEmployees > 50", "a2 a7"),
    ROWS(ACC "NumberOfEmployees >= 50", "a1 a2 a7"),
    ROWS(ACC "NumberOfEmployees < 50", "a3 a5"),
    ROWS(ACC "NumberOfEmployees <= 10", "a3 a5"),
    ROWS(ACC "NumberOfEmployees = null", "a4"),
    ROWS(ACC "NumberOfEmployees != 50", "a2 a3 a4 a5 a7"),
    ROWS(ACC "AnnualRevenue = 500000.5", "a2"),
    ROWS(ACC "AnnualRevenue > -1", "a1 a2 a4 a5 a7"),
    ROWS(ACC "AnnualRevenue >= +750000.00", "a1 a4 a7"),
    ROWS(ACC "AnnualRevenue = 0", "a5"),
    /* booleans */
    ROWS(ACC "Active__c = true", "a1 a3 a5"),
    ROWS(ACC "Active__c = FALSE", "a2 a4 a7"),
    ROWS(ACC "Active__c != true", "a2 a4 a7"),
    ROWS(ACC "Active__c IN (true)", "a1 a3 a5"),
    /* dates */
    ROWS(ACC "Since__c = 2020-01-15", "a1 a7"),
    ROWS(ACC "Since__c > 2020-01-15", "a2 a5"),
    ROWS(ACC "Since__c < 2020-01-15", "a4"),
    ROWS(ACC "Since__c <= 2020-01-15", "a1 a4 a7"),
    ROWS(ACC "Since__c = null", "a3"),
    ROWS(ACC "Since__c = 2024-02-29", "a5"),
    ROWS(ACC "Since__c IN (2019-03-01, 2024-02-29)", "a4 a5"),
    /* datetimes: instants compared across offsets */
    ROWS(ACC "CreatedDate = 2024-01-31T10:00:00Z", "a1 a5"),
    ROWS(ACC "CreatedDate = 2024-01-31T10:00:00.000Z", "a1 a5"),
    ROWS(ACC "CreatedDate = 2024-01-31T05:00:00-05:00", "a1 a5"),
    ROWS(ACC "CreatedDate = 2024-01-31T10:00:00+0000", "a1 a5"),
    ROWS(ACC "CreatedDate < 2024-01-31T10:00:00Z", "a3 a4"),
    ROWS(ACC "CreatedDate > 2024-01-31T09:59:59.998Z", "a1 a2 a4 a5 a7"),
    ROWS(ACC "CreatedDate >= 2024-02-01T00:00:00+00:00", "a2 a7"),
    /* LIKE: % and _, case-insensitive, \% and \_ literal */
    ROWS(ACC "Name LIKE 'a%'", "a1"),
    ROWS(ACC "Name LIKE '%CORP'", "a4"),
    ROWS(ACC "Name LIKE '%'", ALL6),
    ROWS(ACC "Name LIKE '_lobex'", "a2"),
    ROWS(ACC "Name LIKE 'Acm_'", "a1"),
    ROWS(ACC "Name LIKE 'Acm'", ""),
    ROWS(ACC "Name LIKE 'acme'", "a1"),
    ROWS(ACC "Name LIKE '%e%'", "a1 a2 a3 a4 a5 a7"),
    ROWS(ACC "Name LIKE '%i%e%'", "a3 a5"),
    ROWS(ACC "Name LIKE '%\\_100\\%'", "a5"),
    ROWS(ACC "Name LIKE '%\\_%'", "a5"),
    ROWS(ACC "Name LIKE '%\\%'", "a5"),
    ROWS(ACC "Name LIKE 'O\\'%'", "a5"),
    /* escapes in strings */
    ROWS(ACC "Name = 'O\\'Brien & Sons_100%'", "a5"),
    ROWS(ACC "Name = 'O\\'Brien & Sons\\_100\\%'", "a5"),
    ROWS(ACC "Name = 'Acme\\n'", ""),
    /* IN / NOT IN */
    ROWS(ACC "Name IN ('acme', 'Zeta', 'nope')", "a1 a7"),
    ROWS(ACC "Name NOT IN ('acme', 'Zeta')", "a2 a3 a4 a5"),
    ROWS(ACC "Industry IN ('Tech', null)", "a1 a3 a4"),
    ROWS(ACC "Industry NOT IN ('Tech')", "a2 a4 a5 a7"),
    ROWS(ACC "Industry NOT IN ('Tech', null)", "a2 a5 a7"),
    ROWS(ACC "NumberOfEmployees IN (10, 200)", "a2 a3"),
    ROWS(ACC "Id IN ('001000000000002AAA', '001000000000007')", "a2 a7"),
    ROWS(ACC "Id = '001000000000003'", "a3"),
    ROWS(ACC "ParentId = '001000000000001AAA'", "a2 a3"),
    /* multipicklists */
    ROWS(ACC "Interests__c INCLUDES ('red')", "a1 a3 a7"),
    ROWS(ACC "Interests__c INCLUDES ('red;green')", "a1 a3"),
    ROWS(ACC "Interests__c INCLUDES ('green;red')", "a1 a3"),
    ROWS(ACC "Interests__c INCLUDES ('blue', 'green')", "a1 a2 a3 a5 a7"),
    ROWS(ACC "Interests__c EXCLUDES ('red')", "a2 a4 a5"),
    ROWS(ACC "Interests__c EXCLUDES ('red', 'blue')", "a4 a5"),
    ROWS(ACC "Interests__c = 'green;red'", "a1"),
    ROWS(ACC "Interests__c = 'blue'", "a2"),
    ROWS(ACC "Interests__c != 'blue'", "a1 a3 a4 a5 a7"),
    ROWS(ACC "Interests__c = null", "a4"),
    /* AND / OR / NOT and parentheses */
    ROWS(ACC "(Industry = 'Tech' AND NumberOfEmployees > 20) OR Name = 'Zeta'", "a1 a7"),
    ROWS(ACC "Industry = 'Tech' AND (NumberOfEmployees > 20 OR Name = 'initech')", "a1 a3"),
    ROWS(ACC "Industry = 'Tech' AND NumberOfEmployees > 20", "a1"),
    ROWS(ACC "Name = 'Acme' OR Name = 'Globex' OR Name = 'Zeta'", "a1 a2 a7"),
    ROWS(ACC "Industry = 'Tech' AND Active__c = true AND NumberOfEmployees < 20", "a3"),
    ROWS(ACC "NOT Industry = 'Tech' AND Active__c = true", "a5"),
    ROWS(ACC "NOT (Industry = 'Tech' AND Active__c = true)", "a2 a4 a5 a7"),
    ROWS(ACC "NOT (Industry = 'Tech' OR Active__c = true)", "a2 a4 a7"),
    ROWS(ACC "NOT NOT Name = 'Acme'", "a1"),
    ROWS(ACC "NOT Industry = null", "a1 a2 a3 a5 a7"),
    ROWS(ACC "((Name = 'Acme'))", "a1"),
    ROWS(ACC "(Name = 'Acme' OR (Name = 'Zeta' AND Active__c = false)) AND NOT Active__c = false",
         "a1"),
    ROWS(ACC "(Name='Acme')OR(Name='Zeta')", "a1 a7"),
    ERR(ACC "Industry = 'Tech' AND NumberOfEmployees > 20 OR Name = 'Zeta'", "MALFORMED_QUERY",
        "unexpected token: 'OR'"),
    ERR(ACC "Name = 'a' OR Name = 'b' AND Name = 'c'", "MALFORMED_QUERY",
        "unexpected token: 'AND'"),
    /* parent fields */
    ROWS(ACC "Parent.Name = 'Acme'", "a2 a3"),
    ROWS(ACC "parent.name = 'ACME'", "a2 a3"),
    ROWS(ACC "Owner.Name = 'bob'", "a2 a5"),
    ROWS(ACC "Parent.Name = null", "a1 a4 a5"),
    ROWS(ACC "Parent.Name LIKE 'G%' OR Owner.Username = 'bob@x.com'", "a2 a5 a7"),
    ROWS(ACC "Account.Name = 'Acme'", "a1"),
    ROWS(CON "Account.Name = 'Acme'", "c1"),
    ROWS(CON "Account.Name != null", "c1 c2 c4"),
    ROWS(CON "Account.Name = null", "c3 c5"),
    ROWS(CON "Account.Industry IN ('Tech')", "c1 c4"),
    ROWS(CON "Email = null", "c2 c3 c4 c5"),
    /* date literals relative to today (UTC) */
    ROWS(CON "Birthdate = TODAY", "c1"),
    ROWS(CON "Birthdate = today", "c1"),
    ROWS(CON "Birthdate = YESTERDAY", "c2"),
    ROWS(CON "Birthdate = TOMORROW", "c3"),
    ROWS(CON "Birthdate != TODAY", "c2 c3 c4 c5"),
    ROWS(CON "Birthdate < TODAY", "c2 c4"),
    ROWS(CON "Birthdate <= TODAY", "c1 c2 c4"),
    ROWS(CON "Birthdate > TODAY", "c3"),
    ROWS(CON "Birthdate >= TODAY", "c1 c3"),
    ROWS(CON "Birthdate = LAST_N_DAYS:1", "c1 c2"),
    ROWS(CON "Birthdate = LAST_N_DAYS:10", "c1 c2 c4"),
    ROWS(CON "Birthdate = LAST_N_DAYS:9", "c1 c2"),
    ROWS(CON "Birthdate = NEXT_N_DAYS:1", "c3"),
    ROWS(CON "Birthdate < LAST_N_DAYS:5", "c4"),
    ROWS(CON "Birthdate IN (TODAY, TOMORROW)", "c1 c3"),
    ROWS(CON "LastSeen__c = TODAY", "c1"),
    ROWS(CON "LastSeen__c = YESTERDAY", "c2"),
    ROWS(CON "LastSeen__c > TODAY", "c5"),
    ROWS(CON "LastSeen__c = LAST_N_DAYS:30", "c1 c2 c4"),
};

static const soql_case_t order_cases[] = {
    ROWS("SELECT Id FROM Account ORDER BY Name", "a1 a2 a3 a5 a4 a7"),
    ROWS("SELECT Id FROM Account ORDER BY Name ASC", "a1 a2 a3 a5 a4 a7"),
    ROWS("SELECT Id FROM Account ORDER BY Name DESC", "a7 a4 a5 a3 a2 a1"),
    ROWS("SELECT Id FROM Account order by industry", "a4 a2 a7 a5 a1 a3"),
    ROWS("SELECT Id FROM Account ORDER BY Industry NULLS FIRST", "a4 a2 a7 a5 a1 a3"),
    ROWS("SELECT Id FROM Account ORDER BY Industry NULLS LAST", "a2 a7 a5 a1 a3 a4"),
    ROWS("SELECT Id FROM Account ORDER BY Industry DESC", "a4 a1 a3 a5 a2 a7"),
    ROWS("SELECT Id FROM Account ORDER BY Industry DESC NULLS LAST", "a1 a3 a5 a2 a7 a4"),
    ROWS("SELECT Id FROM Account ORDER BY Industry ASC, Name DESC", "a4 a7 a2 a5 a3 a1"),
    ROWS("SELECT Id FROM Account ORDER BY Since__c DESC NULLS LAST, Name", "a5 a2 a1 a7 a4 a3"),
    ROWS("SELECT Id FROM Account ORDER BY CreatedDate", "a3 a4 a1 a5 a2 a7"),
    ROWS("SELECT Id FROM Account ORDER BY CreatedDate DESC, Name DESC", "a7 a2 a5 a1 a4 a3"),
    ROWS("SELECT Id FROM Account ORDER BY AnnualRevenue DESC", "a3 a4 a1 a7 a2 a5"),
    ROWS("SELECT Id FROM Account ORDER BY NumberOfEmployees NULLS LAST", "a5 a3 a1 a7 a2 a4"),
    ROWS("SELECT Id FROM Account ORDER BY Parent.Name NULLS LAST, Name", "a2 a3 a7 a1 a5 a4"),
    ROWS("SELECT Id FROM Account ORDER BY Active__c, Name", "a2 a4 a7 a1 a3 a5"),
    ROWS("SELECT Id FROM Account ORDER BY Id DESC", "a7 a5 a4 a3 a2 a1"),
    ROWS("SELECT Id FROM Account WHERE Active__c = true ORDER BY Name DESC", "a5 a3 a1"),
    ROWS_ALL("SELECT Id FROM Account ORDER BY Name", "a1 a6 a2 a3 a5 a4 a7"),
    /* LIMIT / OFFSET */
    ROWS("SELECT Id FROM Account ORDER BY Name LIMIT 2", "a1 a2"),
    ROWS("SELECT Id FROM Account ORDER BY Name LIMIT 2 OFFSET 3", "a5 a4"),
    ROWS("SELECT Id FROM Account ORDER BY Name OFFSET 4", "a4 a7"),
    ROWS("SELECT Id FROM Account LIMIT 0", ""),
    ROWS("SELECT Id FROM Account LIMIT 3", "a1 a2 a3"),
    ROWS("SELECT Id FROM Account LIMIT 100", ALL6),
    ROWS("SELECT Id FROM Account OFFSET 5", "a7"),
    ROWS("SELECT Id FROM Account OFFSET 10", ""),
    ROWS("SELECT Id FROM Account WHERE Industry != null LIMIT 2 OFFSET 1", "a2 a3"),
    ROWS("SELECT Id FROM Account OFFSET 2000", ""),
};

static const soql_case_t error_cases[] = {
    /* binding */
    ERR("SELECT Id FROM Nope", "INVALID_TYPE", "sObject type 'Nope' is not supported."),
    ERR("SELECT Id FROM WHERE Name = 'a'", "MALFORMED_QUERY", "unexpected token: 'Name'"),
    ERR("SELECT Id FROM Order ORDER BY Id", "INVALID_TYPE", "sObject type 'Order'"),
    ERR(ACC "Foo__c = 1", "INVALID_FIELD", "No such column 'Foo__c' on entity 'Account'"),
    ERR("SELECT Bogus.Name FROM Account", "INVALID_FIELD",
        "Didn't understand relationship 'Bogus' in field path."),
    ERR("SELECT Parent.Bogus FROM Account", "INVALID_FIELD",
        "No such column 'Bogus' on entity 'Account'"),
    ERR("SELECT Owner.Bogus FROM Account", "INVALID_FIELD",
        "No such column 'Bogus' on entity 'User'"),
    ERR("SELECT Owner FROM Account", "INVALID_FIELD", "No such column 'Owner'"),
    ERR("SELECT Parent.Owner.Name FROM Account", "MALFORMED_QUERY", "two relationships"),
    ERR("SELECT Name. FROM Account", "MALFORMED_QUERY", "empty part"),
    ERR("SELECT .Name FROM Account", "MALFORMED_QUERY", "no viable alternative at character '.'"),
    ERR("SELECT Id, Name, id FROM Account", "MALFORMED_QUERY", "duplicate field selected: id"),
    ERR("SELECT Owner.Name, owner.name FROM Account", "MALFORMED_QUERY",
        "duplicate field selected"),
    ERR(ACC "Since__c = '2020-01-15'", "INVALID_FIELD",
        "value of filter criterion for field 'Since__c' must be of type date and should not be "
        "enclosed in quotes"),
    ERR(ACC "CreatedDate = 2024-01-31", "INVALID_FIELD", "must be of type dateTime"),
    ERR(ACC "Since__c = 2024-01-31T10:00:00Z", "INVALID_FIELD", "must be of type date"),
    ERR(ACC "Name = 5", "INVALID_FIELD",
        "field 'Name' must be of type string and should be enclosed in quotes"),
    ERR(ACC "Name = true", "INVALID_FIELD", "must be of type string"),
    ERR(ACC "Name IN ('a', 5)", "INVALID_FIELD", "must be of type string"),
    ERR(ACC "NumberOfEmployees = '5'", "INVALID_FIELD",
        "must be of type integer and should not be enclosed in quotes"),
    ERR(ACC "AnnualRevenue = 2024-01-01", "INVALID_FIELD", "must be of type double"),
    ERR(ACC "Active__c = 'true'", "INVALID_FIELD", "must be of type boolean"),
    ERR(ACC "Active__c = 1", "INVALID_FIELD", "must be of type boolean"),
    ERR(ACC "Active__c > true", "INVALID_QUERY_FILTER_OPERATOR", "boolean"),
    ERR(ACC "Since__c = TODAYS", "MALFORMED_QUERY", "unexpected token: 'TODAYS'"),
    ERR(ACC "Name = TODAY", "INVALID_FIELD", "must be of type string"),
    ERR(ACC "Id = 'abc'", "INVALID_QUERY_FILTER_OPERATOR", "invalid ID field: abc"),
    ERR(ACC "Id = 5", "INVALID_QUERY_FILTER_OPERATOR", "invalid ID field: 5"),
    ERR(ACC "OwnerId IN ('005000000000001AAA', '005-bad')", "INVALID_QUERY_FILTER_OPERATOR",
        "invalid ID field: 005-bad"),
    ERR(ACC "Id LIKE '001%'", "INVALID_QUERY_FILTER_OPERATOR", "invalid operator on id field"),
    ERR(ACC "Name INCLUDES ('a')", "INVALID_QUERY_FILTER_OPERATOR", "multipicklist"),
    ERR(ACC "Interests__c LIKE 'a%'", "INVALID_QUERY_FILTER_OPERATOR", "string"),
    ERR(ACC "Interests__c IN ('a')", "INVALID_QUERY_FILTER_OPERATOR", "multipicklist"),
    ERR(ACC "Interests__c > 'a'", "INVALID_QUERY_FILTER_OPERATOR", "multipicklist"),
    ERR(ACC "NumberOfEmployees LIKE '1%'", "INVALID_QUERY_FILTER_OPERATOR", "string"),
    ERR(ACC "Name LIKE 5", "INVALID_FIELD", "must be of type string"),
    ERR(ACC "Industry LIKE null", "INVALID_FIELD", "must be of type string"),
    ERR(ACC "Name < null", "INVALID_QUERY_FILTER_OPERATOR", "null"),
    ERR(ACC "Since__c = 2024-02-30", "MALFORMED_QUERY", "invalid date literal"),
    ERR(ACC "Since__c = 2023-02-29", "MALFORMED_QUERY", "invalid date literal"),
    ERR(ACC "Since__c = 2024-1-31", "MALFORMED_QUERY", "invalid date literal: '2024-1-31'"),
    ERR(ACC "CreatedDate = 2024-01-31T25:00:00Z", "MALFORMED_QUERY", "invalid dateTime literal"),
    ERR(ACC "CreatedDate = 2024-01-31T10:00:00", "MALFORMED_QUERY", "invalid dateTime literal"),
    ERR(ACC "CreatedDate = 2024-01-31T10:00:00+5", "MALFORMED_QUERY", "invalid dateTime literal"),
    ERR("SELECT Id FROM Account ORDER BY Interests__c", "INVALID_FIELD",
        "can not be sorted in a query call"),
    ERR("SELECT Id FROM Account ORDER BY Nope", "INVALID_FIELD", "No such column 'Nope'"),
    ERR("SELECT Id FROM Account OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE",
        "Maximum SOQL offset allowed is 2000"),
    /* syntax */
    ERR("", "MALFORMED_QUERY", "unexpected token: <EOF>"),
    ERR("   \n  ", "MALFORMED_QUERY", "unexpected token: <EOF>"),
    ERR("SELECT", "MALFORMED_QUERY", "unexpected token: <EOF>"),
    ERR("SELECT Id", "MALFORMED_QUERY", "unexpected token: <EOF>"),
    ERR("SELECT Id FROM", "MALFORMED_QUERY", "unexpected token: <EOF>"),
    ERR("FROM Account", "MALFORMED_QUERY", "unexpected token: 'FROM'"),
    ERR("SELECT FROM Account", "MALFORMED_QUERY", "unexpected token: 'FROM'"),
    ERR("SELECT Id, FROM Account", "MALFORMED_QUERY", "Column:12\nunexpected token: 'FROM'"),
    ERR("SELECT Id Name FROM Account", "MALFORMED_QUERY", "unexpected token: 'Name'"),
    ERR("SELECT Id FROM Account WHERE", "MALFORMED_QUERY", "unexpected token: <EOF>"),
    ERR("SELECT Id FROM Account WHERE Name", "MALFORMED_QUERY", "unexpected token: <EOF>"),
    ERR("SELECT Id FROM Account WHERE Name =", "MALFORMED_QUERY", "unexpected token: <EOF>"),
    ERR("SELECT Id FROM Account WHERE Name = 'abc", "MALFORMED_QUERY",
        "mismatched character '<EOF>' expecting '''"),
    ERR("SELECT Id FROM Account WHERE Name = 'abc\\'", "MALFORMED_QUERY",
        "mismatched character '<EOF>'"),
    ERR("SELECT Id FROM Account WHERE Name = 'a\\qb'", "MALFORMED_QUERY",
        "Illegal character sequence '\\q' in string literal."),
    ERR("SELECT Id FROM Account WHERE Name = 'a\\", "MALFORMED_QUERY", "Invalid string literal"),
    ERR("SELECT Id FROM Account WHERE Name = \"x\"", "MALFORMED_QUERY",
        "no viable alternative at character '\"'"),
    ERR("SELECT Id FROM Account trailing", "MALFORMED_QUERY", "unexpected token: 'trailing'"),
    ERR("SELECT Id FROM Account a", "MALFORMED_QUERY", "unexpected token: 'a'"),
    ERR("SELECT Id FROM Account LIMIT 5 garbage", "MALFORMED_QUERY", "unexpected token: 'garbage'"),
    ERR("SELECT Id FROM Account LIMIT -1", "MALFORMED_QUERY", "unexpected token: '-1'"),
    ERR("SELECT Id FROM Account LIMIT 1.5", "MALFORMED_QUERY", "unexpected token: '1.5'"),
    ERR("SELECT Id FROM Account LIMIT", "MALFORMED_QUERY", "unexpected token: <EOF>"),
    ERR("SELECT Id FROM Account LIMIT 99999999999", "MALFORMED_QUERY", "number too large"),
    ERR("SELECT Id FROM Account OFFSET 1 LIMIT 1", "MALFORMED_QUERY", "unexpected token: 'LIMIT'"),
    ERR("SELECT Id FROM Account WHERE (Name = 'a'", "MALFORMED_QUERY", "unexpected token: <EOF>"),
    ERR("SELECT Id FROM Account WHERE Name = 'a')", "MALFORMED_QUERY", "unexpected token: ')'"),
    ERR("SELECT Id FROM Account WHERE ()", "MALFORMED_QUERY", "unexpected token: ')'"),
    ERR("SELECT Id FROM Account WHERE Name IN ()", "MALFORMED_QUERY", "unexpected token: ')'"),
    ERR("SELECT Id FROM Account WHERE Name IN ('a',)", "MALFORMED_QUERY", "unexpected token: ')'"),
    ERR("SELECT Id FROM Account WHERE Name IN 'a'", "MALFORMED_QUERY", "unexpected token: ''a''"),
    ERR("SELECT Id FROM Account WHERE Name NOT LIKE 'a'", "MALFORMED_QUERY",
        "unexpected token: 'LIKE'"),
    ERR("SELECT Id FROM Account WHERE Name == 'a'", "MALFORMED_QUERY", "unexpected token: '='"),
    ERR("SELECT Id FROM Account WHERE Name ! 'a'", "MALFORMED_QUERY",
        "no viable alternative at character '!'"),
    ERR("SELECT Id FROM Account WHERE Name = :name", "MALFORMED_QUERY",
        "Bind variables only allowed in Apex code"),
    ERR("SELECT Id FROM Account WHERE NumberOfEmployees = 5abc", "MALFORMED_QUERY",
        "unexpected token: 'a'"),
    ERR("SELECT Id FROM Account WHERE Since__c = THIS_MONTH", "MALFORMED_QUERY",
        "unexpected token: 'THIS_MONTH'"),
    ERR("SELECT Id FROM Account WHERE Since__c = LAST_N_DAYS", "MALFORMED_QUERY",
        "unexpected token: <EOF>"),
    ERR("SELECT Id FROM Account WHERE Since__c = LAST_N_DAYS:x", "MALFORMED_QUERY",
        "unexpected token: 'x'"),
    ERR("SELECT Id FROM Account WHERE Since__c = LAST_N_DAYS:-1", "MALFORMED_QUERY",
        "unexpected token: '-1'"),
    ERR("SELECT Id FROM Account ORDER BY", "MALFORMED_QUERY", "unexpected token: <EOF>"),
    ERR("SELECT Id FROM Account ORDER Name", "MALFORMED_QUERY", "unexpected token: 'Name'"),
    ERR("SELECT Id FROM Account ORDER BY Name NULLS", "MALFORMED_QUERY", "unexpected token: <EOF>"),
    ERR("SELECT Id FROM Account ORDER BY Name NULLS MIDDLE", "MALFORMED_QUERY",
        "unexpected token: 'MIDDLE'"),
    ERR("SELECT Id FROM Account ORDER BY Name ASC DESC", "MALFORMED_QUERY",
        "unexpected token: 'DESC'"),
    ERR("SELECT Id FROM Account.Name", "MALFORMED_QUERY", "unexpected token: 'Account.Name'"),
    ERR("SELECT Id FROM Account WHERE Name = 'x'; DROP", "MALFORMED_QUERY",
        "no viable alternative at character ';'"),
    ERR("SELECT Id FROM Account WHERE Name = 'x' LIMIT 1 LIMIT 2", "MALFORMED_QUERY",
        "unexpected token: 'LIMIT'"),
    ERR("SELECT Id FROM Account WHERE NOT", "MALFORMED_QUERY", "unexpected token: <EOF>"),
    ERR("SELECT Id FROM Account WHERE Name = 'a' AND", "MALFORMED_QUERY",
        "unexpected token: <EOF>"),
    ERR("SELECT Id FROM Account WHERE AND Name = 'a'", "MALFORMED_QUERY",
        "unexpected token: 'AND'"),
    /* valid SOQL that sfemu does not emulate: refused at its spot */
    ERR("SELECT Id, (SELECT Id FROM Contacts) FROM Account", "MALFORMED_QUERY",
        "Column:12\nunexpected token: '(' (subqueries are not supported by sfemu)"),
    ERR("SELECT Industry, COUNT(Id) FROM Account GROUP BY Industry", "MALFORMED_QUERY",
        "only COUNT() is supported by sfemu"),
    ERR("SELECT Id FROM Account GROUP BY Name", "MALFORMED_QUERY",
        "unexpected token: 'GROUP' (GROUP is not supported by sfemu)"),
    ERR("SELECT SUM(AnnualRevenue) FROM Account", "MALFORMED_QUERY",
        "function SUM() is not supported by sfemu"),
    ERR("SELECT FIELDS(ALL) FROM Account LIMIT 200", "MALFORMED_QUERY",
        "function FIELDS() is not supported"),
    ERR("SELECT Id FROM Account WITH SECURITY_ENFORCED", "MALFORMED_QUERY",
        "WITH is not supported by sfemu"),
    ERR("SELECT Id FROM Account FOR UPDATE", "MALFORMED_QUERY", "FOR is not supported by sfemu"),
    ERR("SELECT Id FROM Account USING SCOPE Mine", "MALFORMED_QUERY",
        "USING is not supported by sfemu"),
    ERR("SELECT TYPEOF Owner WHEN User THEN Name END FROM Account", "MALFORMED_QUERY",
        "TYPEOF is not supported by sfemu"),
    ERR("SELECT Id FROM Account WHERE Id IN (SELECT ParentId FROM Account)", "MALFORMED_QUERY",
        "semi-join subqueries are not supported by sfemu"),
    ERR("SELECT Id FROM Account WHERE CALENDAR_YEAR(CreatedDate) = 2024", "MALFORMED_QUERY",
        "function CALENDAR_YEAR() is not supported"),
    ERR("SELECT Id FROM Account HAVING COUNT(Id) > 1", "MALFORMED_QUERY",
        "HAVING is not supported"),
    ERR("SELECT COUNT(), Id FROM Account", "MALFORMED_QUERY",
        "COUNT() must be the only element in the SELECT list"),
    ERR("SELECT Id, COUNT() FROM Account", "MALFORMED_QUERY",
        "COUNT() must be the only element in the SELECT list"),
    ERR("SELECT COUNT( FROM Account", "MALFORMED_QUERY", "only COUNT() is supported"),
    ERR("SELECT toLabel(Industry) FROM Account", "MALFORMED_QUERY", "is not supported"),
    /* bytes that are not SOQL: shown as '?' so the message stays printable ASCII */
    ERR("SELECT Id FROM Account WHERE Name = \x01", "MALFORMED_QUERY",
        "no viable alternative at character '?'"),
    ERR("SELECT\x80\xff Id FROM Account", "MALFORMED_QUERY", "SELECT?? Id FROM Account\n      ^"),
    ERR("\xef\xbb\xbfSELECT Id FROM Account", "MALFORMED_QUERY", "Row:1:Column:1\n"),
};

static void test_filters(void **state)
{
    (void)state;
    run_table(filter_cases, sizeof(filter_cases) / sizeof(filter_cases[0]));
}

static void test_order_limit(void **state)
{
    (void)state;
    run_table(order_cases, sizeof(order_cases) / sizeof(order_cases[0]));
}

static void test_errors(void **state)
{
    (void)state;
    run_table(error_cases, sizeof(error_cases) / sizeof(error_cases[0]));
}

/* Salesforce's message layout, byte for byte, including a query on several rows. */
static void test_error_message_shape(void **state)
{
    (void)state;
    char code[64], msg[1024];
    emu_soql_t *q =
        emu_soql_prepare("SELECT Foo FROM Account", &schema, code, sizeof(code), msg, sizeof(msg));
    assert_null(q);
    assert_string_equal(code, "INVALID_FIELD");
    assert_string_equal(msg, "\nSELECT Foo FROM Account\n       ^\nERROR at Row:1:Column:8\n"
                             "No such column 'Foo' on entity 'Account'. If you are attempting "
                             "to use a custom field, be sure to append the '__c' after the "
                             "custom field name. Please reference your WSDL or the describe "
                             "call for the appropriate names.");
    q = emu_soql_prepare("SELECT Id,Invalid__x FROM Account LIMIT 1", &schema, code, sizeof(code),
                         msg, sizeof(msg));
    assert_null(q);
    assert_true(!strncmp(msg,
                         "\nSELECT Id,Invalid__x FROM Account LIMIT 1\n          ^\nERROR at "
                         "Row:1:Column:11\nNo such column 'Invalid__x' on entity 'Account'.",
                         120));
    q = emu_soql_prepare("SELECT Id\nFROM Account\nWHERE  Foo = 1", &schema, code, sizeof(code),
                         msg, sizeof(msg));
    assert_null(q);
    assert_true(!strncmp(msg, "\nWHERE  Foo = 1\n       ^\nERROR at Row:3:Column:8\nNo such", 52));
    /* a small buffer truncates, never overflows */
    char small[16];
    q = emu_soql_prepare("SELECT Foo FROM Account", &schema, code, 4, small, sizeof(small));
    assert_null(q);
    assert_int_equal(strlen(small), 15);
    assert_string_equal(code, "INV");
}

static char *dump(const json_t *j)
{
    return json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

static json_t *exec(const char *soql, const char *ver, size_t *total)
{
    char code[64], msg[1024];
    emu_soql_t *q = emu_soql_prepare(soql, &schema, code, sizeof(code), msg, sizeof(msg));
    if (!q)
        fprintf(stderr, "%s: %s %s\n", soql, code, msg);
    assert_non_null(q);
    td_src_t s = {.org = &org, .records = json_object_get(org.data, emu_soql_from(q))};
    emu_soql_source_t src = {.next = td_next, .by_id = td_by_id, .ctx = &s};
    json_t *rows =
        emu_soql_execute(q, &src, false, ver, total, code, sizeof(code), msg, sizeof(msg));
    emu_soql_destroy(q);
    assert_non_null(rows);
    return rows;
}

static void expect_json(const char *soql, const char *ver, const char *expected)
{
    size_t total = 99;
    json_t *rows = exec(soql, ver, &total);
    char *got = dump(rows);
    if (strcmp(got, expected) != 0)
        fprintf(stderr, "%s\n  expected %s\n  got      %s\n", soql, expected, got);
    assert_string_equal(got, expected);
    assert_int_equal(total, json_array_size(rows));
    free(got);
    json_decref(rows);
}

#define A2_URL "/services/data/v62.0/sobjects/Account/001000000000002AAA"

/* Fields in SELECT order, canonical names, nested parents with attributes, null parents. */
static void test_projection(void **state)
{
    (void)state;
    expect_json("select name, owner.name, ID, parent.name, Owner.Username, annualrevenue, "
                "Since__c, CreatedDate, Active__c, Interests__c, ParentId from ACCOUNT where "
                "NAME = 'globex'",
                "62.0",
                "[{\"attributes\":{\"type\":\"Account\",\"url\":\"" A2_URL "\"},"
                "\"Name\":\"Globex\","
                "\"Owner\":{\"attributes\":{\"type\":\"User\",\"url\":\"/services/data/v62.0/"
                "sobjects/User/005000000000002AAA\"},\"Name\":\"Bob\",\"Username\":\"bob@x.com\"},"
                "\"Id\":\"001000000000002AAA\","
                "\"Parent\":{\"attributes\":{\"type\":\"Account\",\"url\":\"/services/data/v62.0/"
                "sobjects/Account/001000000000001AAA\"},\"Name\":\"Acme\"},"
                "\"AnnualRevenue\":500000.5,\"Since__c\":\"2021-06-30\","
                "\"CreatedDate\":\"2024-02-01T00:00:00.000+0000\",\"Active__c\":false,"
                "\"Interests__c\":\"blue\",\"ParentId\":\"001000000000001AAA\"}]");
    /* empty reference and dangling reference: null; missing field value: null */
    expect_json("SELECT Parent.Name, Owner.Name, Industry FROM Account WHERE Name = 'Umbrella "
                "Corp'",
                "v58.0",
                "[{\"attributes\":{\"type\":\"Account\",\"url\":\"/services/data/v58.0/sobjects/"
                "Account/001000000000004AAA\"},\"Parent\":null,\"Owner\":null,\"Industry\":null}]");
    expect_json("SELECT Id FROM Account WHERE Name = 'nobody'", "62.0", "[]");
}

static void test_count(void **state)
{
    (void)state;
    struct {
        const char *soql;
        bool all;
        size_t expect;
    } cases[] = {
        {"SELECT COUNT() FROM Account", false, 6},
        {"select count() from account", false, 6},
        {"SELECT COUNT() FROM Account", true, 7},
        {"SELECT COUNT() FROM Account WHERE Industry = 'Tech'", false, 2},
        {"SELECT COUNT() FROM Account WHERE Industry = 'Tech'", true, 3},
        {"SELECT COUNT() FROM Account WHERE Name = 'nobody'", false, 0},
        {"SELECT COUNT() FROM Account LIMIT 3", false, 3},
        {"SELECT COUNT() FROM Contact WHERE Account.Name != null", false, 3},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char code[64], msg[1024];
        size_t total = 99;
        emu_soql_t *q =
            emu_soql_prepare(cases[i].soql, &schema, code, sizeof(code), msg, sizeof(msg));
        assert_non_null(q);
        assert_true(emu_soql_is_count(q));
        td_src_t s = {.org = &org, .records = json_object_get(org.data, emu_soql_from(q))};
        emu_soql_source_t src = {.next = td_next, .by_id = td_by_id, .ctx = &s};
        json_t *rows = emu_soql_execute(q, &src, cases[i].all, "62.0", &total, code, sizeof(code),
                                        msg, sizeof(msg));
        assert_non_null(rows);
        assert_int_equal(json_array_size(rows), 0);
        if (total != cases[i].expect)
            fprintf(stderr, "%s: %zu\n", cases[i].soql, total);
        assert_int_equal(total, cases[i].expect);
        json_decref(rows);
        emu_soql_destroy(q);
    }
}

static void test_accessors(void **state)
{
    (void)state;
    char code[64], msg[1024];
    emu_soql_t *q =
        emu_soql_prepare("select id from CONTACT", &schema, code, sizeof(code), msg, sizeof(msg));
    assert_non_null(q);
    assert_string_equal(emu_soql_from(q), "Contact");
    assert_false(emu_soql_is_count(q));
    emu_soql_destroy(q);
    emu_soql_destroy(NULL);
    assert_null(emu_soql_prepare(NULL, &schema, code, sizeof(code), msg, sizeof(msg)));
    assert_string_equal(code, "MALFORMED_QUERY");
}

/* Generated hostile input: each is refused with MALFORMED_QUERY, quickly and without a crash. */
static char *repeat(const char *head, const char *unit, size_t n, const char *tail)
{
    size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
    char *s = malloc(hl + ul * n + tl + 1);
    assert_non_null(s);
    memcpy(s, head, hl);
    for (size_t i = 0; i < n; i++)
        memcpy(s + hl + i * ul, unit, ul);
    memcpy(s + hl + ul * n, tail, tl + 1);
    return s;
}

static void expect_refused(char *soql, const char *code_expected, const char *frag)
{
    char code[64], msg[1024];
    emu_soql_t *q = emu_soql_prepare(soql, &schema, code, sizeof(code), msg, sizeof(msg));
    if (q || strcmp(code, code_expected) || !strstr(msg, frag))
        fprintf(stderr, "expected %s [%s], got %s [%s]\n", code_expected, frag, code, msg);
    assert_null(q);
    assert_string_equal(code, code_expected);
    assert_non_null(strstr(msg, frag));
    assert_true(strlen(msg) < 1000); /* the echo is a window, not the whole query */
    free(soql);
}

static void test_hostile(void **state)
{
    (void)state;
    expect_refused(repeat(ACC, "(", 99000, "Name = 'a'"), "MALFORMED_QUERY", "nested too deeply");
    expect_refused(repeat(ACC, "NOT ", 20000, "Name = 'a'"), "MALFORMED_QUERY",
                   "nested too deeply");
    expect_refused(repeat(ACC "Name = '", "x", EMU_SOQL_MAX_TEXT, "'"), "MALFORMED_QUERY",
                   "cannot be longer than 100,000 characters");
    expect_refused(repeat(ACC "NumberOfEmployees IN (1", ",1", 25000, ")"), "MALFORMED_QUERY",
                   "too many values in the list");
    expect_refused(repeat("SELECT Id", ",Id", 1500, " FROM Account"), "MALFORMED_QUERY",
                   "too many fields");
    expect_refused(repeat("SELECT Id FROM Account ORDER BY Id", ",Id", 40, ""), "MALFORMED_QUERY",
                   "too many ORDER BY fields");
    expect_refused(repeat(ACC "Name = '", "\\'", 40000, ""), "MALFORMED_QUERY",
                   "mismatched character '<EOF>'");
    expect_refused(repeat(ACC "Name LIKE '", "%", 99000, ""), "MALFORMED_QUERY",
                   "mismatched character");

    /* Large but within bounds: accepted and answered. 99 levels of parentheses, a long OR
       chain (no recursion), a long IN list, a pathological LIKE pattern. */
    char *s = repeat(ACC, "(", 98, "Name = 'Acme'");
    char *t = repeat(s, ")", 98, "");
    size_t total;
    assert_string_equal(run(t, false, &total), "a1");
    free(s);
    free(t);
    s = repeat(ACC "Name = 'x'", " OR Name = 'x'", 5000, " OR Name = 'Zeta'");
    assert_string_equal(run(s, false, &total), "a7");
    free(s);
    s = repeat(ACC "NumberOfEmployees IN (1", ",1", 19000, ", 75)");
    assert_string_equal(run(s, false, &total), "a7");
    free(s);
    s = repeat(ACC "Name LIKE '", "%a", 2000, "%'");
    assert_string_equal(run(s, false, &total), "");
    free(s);
}

/* rows/s scanned by a simple WHERE over 100,000 records, and with a sort. */
static void test_throughput(void **state)
{
    (void)state;
    td_org_t big = {.schema = org.schema, .data = json_object()};
    json_t *arr = json_array();
    const size_t n = 100000;
    for (size_t i = 0; i < n; i++) {
        char id[19], name[32];
        snprintf(id, sizeof(id), "001%012zuAAA", i);
        snprintf(name, sizeof(name), "acc%zu", i);
        json_array_append_new(arr, json_pack("{s:s,s:s,s:i,s:b,s:s}", "Id", id, "Name", name,
                                             "NumberOfEmployees", (int)(i % 100), "IsDeleted", 0,
                                             "Industry", i % 3 ? "Tech" : "Energy"));
    }
    json_object_set_new(big.data, "Account", arr);
    const emu_soql_schema_t sch = {.sobject = td_sobject, .ctx = &big};
    const char *queries[] = {
        "SELECT Id, Name FROM Account WHERE NumberOfEmployees > 90 AND Name LIKE 'acc%7'",
        "SELECT Id FROM Account WHERE Industry = 'energy'",
        "SELECT Id, Name FROM Account WHERE NumberOfEmployees < 10 ORDER BY Name DESC",
        "SELECT COUNT() FROM Account WHERE Industry != 'Tech'",
    };
    size_t expect[] = {1000, 33334, 10000, 33334};
    for (size_t k = 0; k < sizeof(queries) / sizeof(queries[0]); k++) {
        char code[64], msg[1024];
        size_t total = 0;
        emu_soql_t *q = emu_soql_prepare(queries[k], &sch, code, sizeof(code), msg, sizeof(msg));
        assert_non_null(q);
        td_src_t s = {.org = &big, .records = arr};
        emu_soql_source_t src = {.next = td_next, .by_id = td_by_id, .ctx = &s};
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        json_t *rows =
            emu_soql_execute(q, &src, false, "62.0", &total, code, sizeof(code), msg, sizeof(msg));
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        assert_non_null(rows);
        assert_int_equal(total, expect[k]);
        printf("soql throughput: %-80s %zu rows scanned, %zu matched, %.1f ms, %.0f rows/s\n",
               queries[k], n, total, secs * 1e3, (double)n / secs);
        json_decref(rows);
        emu_soql_destroy(q);
    }
    json_decref(big.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filters),    cmocka_unit_test(test_order_limit),
        cmocka_unit_test(test_errors),     cmocka_unit_test(test_error_message_shape),
        cmocka_unit_test(test_projection), cmocka_unit_test(test_count),
        cmocka_unit_test(test_accessors),  cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_throughput),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
