/*
 * fuzz_emu_soql.c - libFuzzer target for the SOQL module: every input is a
 * query text, prepared against the small test org and, when accepted,
 * executed over its records (both /query and /queryAll). Checks what must
 * hold for any input: an error always has a code and a printable message (it
 * goes into a JSON body), an accepted query always runs, COUNT() returns no
 * rows, LIMIT is honoured.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "emu_soql.h"
#include "emu_soql_testdata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static td_org_t org;
static bool org_ready;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!org_ready) {
        if (td_org_init(&org) != 0)
            abort();
        org_ready = true;
    }
    /* One byte past the limit is enough to exercise the length check. */
    if (size > EMU_SOQL_MAX_TEXT + 1)
        size = EMU_SOQL_MAX_TEXT + 1;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    const emu_soql_schema_t schema = {.sobject = td_sobject, .ctx = &org};
    char code[64], msg[1024];
    emu_soql_t *q = emu_soql_prepare(text, &schema, code, sizeof(code), msg, sizeof(msg));
    if (!q) {
        json_t *js = json_string(msg);
        if (!code[0] || !msg[0] || !js)
            abort();
        json_decref(js);
        free(text);
        return 0;
    }
    for (int all = 0; all < 2; all++) {
        td_src_t s = {.org = &org, .records = json_object_get(org.data, emu_soql_from(q))};
        emu_soql_source_t src = {.next = td_next, .by_id = td_by_id, .ctx = &s};
        size_t total = 0;
        json_t *rows =
            emu_soql_execute(q, &src, all, "62.0", &total, code, sizeof(code), msg, sizeof(msg));
        if (!rows)
            abort();
        if (emu_soql_is_count(q) ? json_array_size(rows) != 0 : json_array_size(rows) != total)
            abort();
        if (total > json_array_size(s.records))
            abort();
        json_decref(rows);
    }
    emu_soql_destroy(q);
    free(text);
    return 0;
}
