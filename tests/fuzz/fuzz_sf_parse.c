/*
 * fuzz_sf_parse.c - the Salesforce client's parsers of what a server sends:
 * error bodies (REST arrays, OAuth objects), token responses, query pages and
 * SaveResult arrays. The first byte picks the HTTP status fed to the error
 * parser so both 4xx and 5xx paths run. Corpus: tests/fuzz/corpus/sf_parse/.
 */
#include <stdint.h>
#include <stdlib.h>

#include "sf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const long statuses[] = {400, 401, 403, 404, 500, 503, 200, 300};
    long status = size ? statuses[data[0] % 8] : 400;
    const char *body = (const char *)data;
    sf_error_t *err = sf_error_from_response(status, body, size);
    if (err) {
        (void)sf_error_retry_class(err);
        sf_error_destroy(err);
    }

    char *at = NULL, *iu = NULL, *id = NULL, *rt = NULL;
    err = NULL;
    if (sf_token_response_parse(body, size, &at, &iu, &id, &rt, &err) == 0) {
        sf_secret_free(at);
        free(iu);
        free(id);
        sf_secret_free(rt);
    }
    sf_error_destroy(err);

    json_t *root = json_loadb(body, size, 0, NULL);
    if (root) {
        json_t *records;
        const char *next;
        bool done;
        long total;
        err = NULL;
        if (sf_query_page_parse(root, &records, &done, &next, &total, &err) == 0) {
            /* what the iterator hands out: each row must be an object */
            size_t objects = 0;
            for (size_t i = 0; i < json_array_size(records); i++)
                objects += json_is_object(json_array_get(records, i));
            (void)objects;
        }
        sf_error_destroy(err);
        sf_save_result_t *res = NULL;
        size_t cnt = 0;
        err = NULL;
        if (sf_save_results_parse(root, &res, &cnt, &err) == 0) {
            for (size_t i = 0; i < cnt; i++)
                (void)sf_error_retry_class(res[i].error);
            sf_save_results_destroy(res, cnt);
        }
        sf_error_destroy(err);
        json_decref(root);
    }
    return 0;
}
