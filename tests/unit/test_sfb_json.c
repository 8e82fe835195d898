/* test_sfb_json.c - the buffer and JSON text writer of sfb.h, checked against jansson. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "sfb.h"

/* What jansson writes for the same string, or NULL if it refuses it. */
static char *jansson_text(const char *s, size_t len)
{
    json_t *v = json_stringn(s, len);
    if (!v)
        return NULL;
    char *out = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    json_decref(v);
    return out;
}

/* The writer agrees with jansson: same acceptance, same text, and the text
 * parses back to the same bytes. */
static void check_same_as_jansson(const char *s, size_t len)
{
    sfb_buf_t b;
    sfb_buf_init(&b);
    int rc = sfb_buf_json_string(&b, s, len);
    char *want = jansson_text(s, len);
    if (!want) {
        assert_int_equal(rc, -1);
        assert_true(b.failed);
        assert_null(sfb_buf_steal(&b));
        return;
    }
    assert_int_equal(rc, 0);
    char *got = sfb_buf_steal(&b);
    assert_non_null(got);
    assert_string_equal(got, want);
    json_t *back = json_loads(got, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    assert_non_null(back);
    assert_int_equal(json_string_length(back), len);
    assert_memory_equal(json_string_value(back), s, len);
    json_decref(back);
    free(got);
    free(want);
}

static void test_string_cases(void **state)
{
    (void)state;
    static const char *cases[] = {
        "",
        "plain",
        "quote \" backslash \\ slash /",
        "\b\f\n\r\t\x01\x1f\x7f",
        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", /* 2-, 3- and 4-byte forms */
        "\xe2\x80\xa8\xe2\x80\xa9",                  /* U+2028/2029 are valid JSON text */
        "\xc3",                                      /* truncated */
        "\xc0\xaf",                                  /* overlong '/' */
        "\xe0\x80\xaf",                              /* overlong, 3 bytes */
        "\xed\xa0\x80",                              /* a surrogate */
        "\xf4\x90\x80\x80",                          /* above U+10FFFF */
        "\xff",                                      /* never valid */
        "ok then \x80",                              /* a lone continuation byte */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_same_as_jansson(cases[i], strlen(cases[i]));
    check_same_as_jansson("a\0b", 3); /* an embedded NUL is \u0000 */
}

/* Random bytes, mostly ASCII with some high bytes, agree with jansson. */
static void test_random_strings(void **state)
{
    (void)state;
    srand(7);
    char s[64];
    for (int round = 0; round < 20000; round++) {
        size_t len = (size_t)(rand() % (int)sizeof(s));
        for (size_t i = 0; i < len; i++) {
            int r = rand() % 10;
            s[i] = r < 6   ? (char)(0x20 + rand() % 0x60)
                   : r < 8 ? (char)(rand() % 0x20)
                           : (char)(0x80 + rand() % 0x80);
        }
        check_same_as_jansson(s, len);
    }
}

/* A large string grows the buffer many times and stays exact. */
static void test_large_and_reuse(void **state)
{
    (void)state;
    size_t len = 3 * 1024 * 1024;
    char *s = malloc(len);
    assert_non_null(s);
    for (size_t i = 0; i < len; i++)
        s[i] = (char)(i % 3 == 0 ? '"' : 'a' + (char)(i % 26));
    check_same_as_jansson(s, len);

    sfb_buf_t b;
    sfb_buf_init(&b);
    sfb_buf_puts(&b, "{");
    sfb_buf_json_cstring(&b, "n");
    sfb_buf_puts(&b, ":");
    sfb_buf_int(&b, INT64_MIN);
    sfb_buf_puts(&b, "}");
    assert_string_equal(b.data, "{\"n\":-9223372036854775808}");
    size_t cap = b.cap;
    sfb_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, cap); /* storage kept for the next message */
    sfb_buf_json_string(&b, "\xff", 1);
    assert_true(b.failed);
    sfb_buf_puts(&b, "ignored after a failure");
    assert_null(sfb_buf_steal(&b));
    sfb_buf_free(&b);

    /* An empty buffer steals as "". */
    sfb_buf_init(&b);
    char *empty = sfb_buf_steal(&b);
    assert_non_null(empty);
    assert_string_equal(empty, "");
    free(empty);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_string_cases),
        cmocka_unit_test(test_random_strings),
        cmocka_unit_test(test_large_and_reuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
