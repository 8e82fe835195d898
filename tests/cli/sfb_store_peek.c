/*
 * sfb_store_peek.c - test tool: prints the refresh token stored for one org.
 *
 *   SFBRIDGE_TOKEN_KEY=... sfb_store_peek STORE ORG
 *
 * The CLI tests need the token `sfbridge login` stored, to prove that the
 * store file and every line sfbridge printed lack it. Exit 0 and the token on
 * stdout; 3 when the org has no entry; 1 on any error (message on stderr).
 */
#include "sf.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    uint8_t key[SF_STORE_KEY_LEN];
    char errstr[256];
    char *token = NULL;
    sf_error_t *err = NULL;
    const char *key_text = getenv("SFBRIDGE_TOKEN_KEY");
    int ret = 1;

    if (argc != 3 || !key_text) {
        fprintf(stderr, "usage: SFBRIDGE_TOKEN_KEY=KEY sfb_store_peek STORE ORG\n");
        return 2;
    }
    if (sf_store_key_parse(key_text, key, errstr, sizeof(errstr)) != 0) {
        fprintf(stderr, "sfb_store_peek: %s\n", errstr);
        return 1;
    }
    if (sf_store_get(argv[1], key, argv[2], &token, &err) != 0) {
        fprintf(stderr, "sfb_store_peek: %s\n", err ? err->message : "cannot read the store");
        goto done;
    }
    if (!token) {
        ret = 3;
        goto done;
    }
    printf("%s\n", token);
    ret = 0;
done:
    sf_secret_free(token);
    sf_error_destroy(err);
    return ret;
}
