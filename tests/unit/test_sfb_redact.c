/* test_sfb_redact.c - the redaction helper every secret-bearing log line goes through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "sfb.h"

static void test_redact_cases(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        const char *want;
    } cases[] = {
        {"grant_type=password&username=u@x.com&password=hunter2tok&client_id=abc",
         "grant_type=password&username=u@x.com&password=[redacted]&client_id=abc"},
        {"client_secret=S3CR3T", "client_secret=[redacted]"},
        {"{\"access_token\":\"00D!abc\",\"instance_url\":\"https://x\"}",
         "{\"access_token\":\"[redacted]\",\"instance_url\":\"https://x\"}"},
        {"{\"refresh_token\" : \"5Aep\\\"861\"}", "{\"refresh_token\" : \"[redacted]\"}"},
        {"Authorization: Bearer 00Dxx!AQ0AQ.more", "Authorization: Bearer [redacted]"},
        {"https://h/cb?code=aPrx&state=xyz", "https://h/cb?code=[redacted]&state=xyz"},
        {"nothing secret here, passwordless=1", "nothing secret here, passwordless=1"},
        {"mypassword=x", "mypassword=x"},
        {"", ""},
    };
    char out[256];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sfb_redact_text(cases[i].in, out, sizeof(out));
        assert_string_equal(out, cases[i].want);
    }
}

static void test_redact_truncates_safely(void **state)
{
    (void)state;
    char out[8];
    sfb_redact_text("password=abcdefghijklmnop", out, sizeof(out));
    assert_int_equal(strlen(out), 7);
    assert_null(strstr(out, "abc"));
    sfb_redact_text(NULL, out, sizeof(out));
    assert_string_equal(out, "");
}

static void test_redact_secret(void **state)
{
    (void)state;
    assert_string_equal(sfb_redact_secret("x"), SFB_REDACTED);
    assert_string_equal(sfb_redact_secret(""), "");
    assert_string_equal(sfb_redact_secret(NULL), "");
}

static void test_log_levels(void **state)
{
    (void)state;
    sfb_log_level_t l;
    sfb_log_format_t f;
    assert_int_equal(sfb_log_level_parse("DEBUG", &l), 0);
    assert_int_equal(l, SFB_LOG_DEBUG);
    assert_int_equal(sfb_log_level_parse("verbose", &l), -1);
    assert_int_equal(sfb_log_format_parse("json", &f), 0);
    assert_int_equal(f, SFB_LOG_FORMAT_JSON);
    assert_int_equal(sfb_log_format_parse("xml", &f), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_redact_cases),
        cmocka_unit_test(test_redact_truncates_safely),
        cmocka_unit_test(test_redact_secret),
        cmocka_unit_test(test_log_levels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
