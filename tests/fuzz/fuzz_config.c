/*
 * fuzz_config.c - libFuzzer target for the config loader: any bytes through
 * br_config_load_buffer() (libconfig's config_read_string, then the key table,
 * references and cross-key rules) and, when they load, through the printer
 * and the lookups. Nothing may crash, leak or read out of bounds.
 *
 *   CC=clang cmake -S . -B build-fuzz -G Ninja -DFUZZ=ON && ninja -C build-fuzz fuzz_config
 *   build-fuzz/tests/fuzz/fuzz_config -max_total_time=180 tests/fuzz/corpus/config
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "br_config.h"

/*
 * libconfig 1.5's grammar has no %destructor for string tokens: a syntax error
 * right after a string or name token leaks that token (allocated in strbuf_append
 * or libconfig_yylex).
 * That is libconfig's leak on its error path, not ours; suppress exactly it so
 * LeakSanitizer keeps watching everything else.
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:strbuf_append\nleak:libconfig_yylex\n";
}

/* The seed corpus references these, so the fuzzer starts from configs that load. */
static void init_env(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    setenv("T_CLIENT_SECRET", "fuzz-client-secret", 1);
    setenv("T_REFRESH_TOKEN", "fuzz-refresh-token", 1);
    setenv("T_PEM_TEXT", "-----BEGIN PRIVATE KEY-----\nMIIEfuzz\n-----END PRIVATE KEY-----\n", 1);
    setenv("KAFKA_PASSWORD", "fuzz-kafka-password", 1);
    setenv("SF_ACME_PRIVATE_KEY",
           "-----BEGIN PRIVATE KEY-----\nMIIEfuzz\n-----END PRIVATE KEY-----\n", 1);
    setenv("SF_GLOBEX_CLIENT_SECRET", "fuzz-globex", 1);
    setenv("SF_INITECH_CLIENT_SECRET", "fuzz-initech", 1);
    setenv("SF_INITECH_PASSWORD", "fuzz-initech-password", 1);
    setenv("SFBRIDGE_TOKEN_KEY", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
           1);
    if (!getenv("HOME"))
        setenv("HOME", "/tmp", 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;
    char errstr[1024];

    init_env();
    if (!sink)
        sink = fopen("/dev/null", "w");
    br_config_t *config =
        br_config_load_buffer("fuzz.conf", (const char *)data, size, errstr, sizeof(errstr));
    if (config) {
        if (sink)
            br_config_print(config, sink);
        for (size_t i = 0; i < config->orgs_count; i++)
            if (br_config_org_find(config, config->orgs[i].name) != &config->orgs[i])
                abort(); /* names are unique, so lookup must find this very org */
        for (size_t i = 0; i < config->sink.partitions_count; i++)
            if (!br_config_org_of_partition(config, config->sink.partitions[i].partition))
                abort();
    }
    br_config_destroy(config);
    return 0;
}
