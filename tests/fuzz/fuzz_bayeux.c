/*
 * fuzz_bayeux.c - libFuzzer target for the Streaming API's Bayeux parser
 * (sf_bayeux_parse): whatever the server sends, the parser returns a batch
 * or an error, never crashes, and every message it keeps is fully valid.
 * Seed corpus: tests/fuzz/corpus/bayeux (the reference's cometd_* and
 * event_* bodies).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sf_bayeux_batch_t *batch = NULL;
    sf_error_t *err = NULL;
    if (sf_bayeux_parse((const char *)data, size, 1 << 20, 64, &batch, &err) != 0) {
        if (!err || !err->message)
            __builtin_trap();
        sf_error_destroy(err);
        return 0;
    }
    for (size_t i = 0; i < batch->msg_cnt; i++) {
        const sf_bayeux_msg_t *m = &batch->msgs[i];
        if (!m->channel || m->channel[0] != '/')
            __builtin_trap();
        if (m->kind == SF_BAYEUX_EVENT && (m->replay_id < 0 || !json_is_object(m->data)))
            __builtin_trap();
        if (m->kind != SF_BAYEUX_EVENT && !m->successful && !m->error)
            __builtin_trap();
        (void)sf_bayeux_error_is_invalid_replay(m->error);
    }
    if (batch->msg_cnt + batch->rejected > 64)
        __builtin_trap();
    sf_bayeux_batch_destroy(batch);
    return 0;
}
