/* test_sf_crypto.c - what needs no server: PKCE (RFC 7636 vector), the JWT
 * bearer assertion (verified with the public key), the token store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sf.h"

static void test_pkce_rfc7636(void **state)
{
    (void)state;
    char challenge[SF_PKCE_LEN + 1];
    /* RFC 7636 appendix B */
    assert_int_equal(sf_pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", challenge),
                     0);
    assert_string_equal(challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");

    char v1[SF_PKCE_LEN + 1], v2[SF_PKCE_LEN + 1], c1[SF_PKCE_LEN + 1], c2[SF_PKCE_LEN + 1];
    assert_int_equal(sf_pkce_generate(v1, c1), 0);
    assert_int_equal(sf_pkce_generate(v2, c2), 0);
    assert_int_equal(strlen(v1), 43);
    assert_int_equal(strlen(c1), 43);
    assert_string_not_equal(v1, v2);
    assert_null(strpbrk(v1, "+/="));
    assert_int_equal(sf_pkce_challenge(v1, challenge), 0);
    assert_string_equal(challenge, c1);
}

static size_t b64url_decode(const char *in, size_t len, unsigned char *out)
{
    char buf[4096] = "";
    size_t n = 0;
    for (size_t i = 0; i < len && n < sizeof(buf) - 4; i++)
        buf[n++] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
    while (n % 4)
        buf[n++] = '=';
    int r = EVP_DecodeBlock(out, (unsigned char *)buf, (int)n);
    assert_true(r >= 0);
    size_t pad = (size_t)(n - len);
    return (size_t)r - (pad > 2 ? 0 : pad);
}

static char *pem_of(EVP_PKEY *pkey, bool pub)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data = NULL, *out;
    if (pub)
        assert_int_equal(PEM_write_bio_PUBKEY(bio, pkey), 1);
    else
        assert_int_equal(PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL), 1);
    long n = BIO_get_mem_data(bio, &data);
    out = strndup(data, (size_t)n);
    BIO_free(bio);
    return out;
}

static void test_jwt_verifies(void **state)
{
    (void)state;
    EVP_PKEY *pkey = EVP_RSA_gen(2048);
    assert_non_null(pkey);
    char *priv = pem_of(pkey, false);
    char errstr[256] = "";
    long exp = (long)time(NULL) + 180;
    char *jwt = sf_jwt_assertion(priv, "3MVG9client", "user@example.com",
                                 "https://login.salesforce.com", exp, errstr, sizeof(errstr));
    assert_non_null(jwt);

    char *dot1 = strchr(jwt, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    assert_non_null(dot2);
    unsigned char hdr[256], claims[1024], sig[512];
    size_t hl = b64url_decode(jwt, (size_t)(dot1 - jwt), hdr);
    hdr[hl] = 0;
    assert_string_equal((char *)hdr, "{\"alg\":\"RS256\"}");
    size_t cl = b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), claims);
    claims[cl] = 0;
    json_t *c = json_loads((char *)claims, 0, NULL);
    assert_non_null(c);
    assert_string_equal(json_string_value(json_object_get(c, "iss")), "3MVG9client");
    assert_string_equal(json_string_value(json_object_get(c, "sub")), "user@example.com");
    assert_string_equal(json_string_value(json_object_get(c, "aud")),
                        "https://login.salesforce.com");
    assert_int_equal(json_integer_value(json_object_get(c, "exp")), exp);
    json_decref(c);

    /* Verify with the public key only, as Salesforce does with the app's certificate. */
    char *pub = pem_of(pkey, true);
    BIO *bio = BIO_new_mem_buf(pub, -1);
    EVP_PKEY *pubkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    assert_non_null(pubkey);
    size_t sl = b64url_decode(dot2 + 1, strlen(dot2 + 1), sig);
    assert_int_equal(sl, 256);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pubkey), 1);
    assert_int_equal(EVP_DigestVerify(md, sig, sl, (unsigned char *)jwt, (size_t)(dot2 - jwt)), 1);
    /* and a changed claim does not verify */
    jwt[(dot1 - jwt) + 3] ^= 1;
    EVP_MD_CTX_reset(md);
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pubkey), 1);
    assert_int_not_equal(EVP_DigestVerify(md, sig, sl, (unsigned char *)jwt, (size_t)(dot2 - jwt)),
                         1);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pubkey);
    BIO_free(bio);
    free(pub);
    free(jwt);

    /* not a key -> a clear error, no crash */
    jwt = sf_jwt_assertion("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n", "a",
                           "b", "c", exp, errstr, sizeof(errstr));
    assert_null(jwt);
    assert_non_null(strstr(errstr, "private key"));
    free(priv);
    EVP_PKEY_free(pkey);
}

static void test_store_key_parse(void **state)
{
    (void)state;
    uint8_t key[SF_STORE_KEY_LEN];
    char err[256];
    assert_int_equal(
        sf_store_key_parse("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
                           key, err, sizeof(err)),
        0);
    assert_int_equal(key[0], 0);
    assert_int_equal(key[31], 0x1f);
    /* base64 of the same 32 bytes */
    uint8_t key2[SF_STORE_KEY_LEN];
    assert_int_equal(
        sf_store_key_parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", key2, err, sizeof(err)),
        0);
    assert_memory_equal(key, key2, SF_STORE_KEY_LEN);
    assert_int_equal(sf_store_key_parse("abcd", key, err, sizeof(err)), -1);
    assert_int_equal(
        sf_store_key_parse("zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", key,
                           err, sizeof(err)),
        -1);
    assert_non_null(strstr(err, "64 hex"));
}

static void store_path(char *buf, size_t size)
{
    snprintf(buf, size, "%s/sf_store_test_%ld.bin", SFB_BINARY_DIR, (long)getpid());
    unlink(buf);
}

static void test_store_round_trip(void **state)
{
    (void)state;
    uint8_t key[SF_STORE_KEY_LEN], other[SF_STORE_KEY_LEN];
    char path[512];
    char *tok = NULL;
    sf_error_t *err = NULL;
    struct stat st;
    memset(key, 7, sizeof(key));
    memset(other, 8, sizeof(other));
    store_path(path, sizeof(path));

    /* missing file: a clear error */
    assert_int_equal(sf_store_get(path, key, "acme", &tok, &err), -1);
    assert_int_equal(err->kind, SF_ERR_STORE);
    assert_non_null(strstr(err->message, "does not exist"));
    sf_error_destroy(err);
    err = NULL;

    assert_int_equal(sf_store_put(path, key, "acme", "5Aep861-refresh-acme", &err), 0);
    assert_int_equal(sf_store_put(path, key, "globex", "5Aep861-refresh-globex", &err), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    /* the plaintext token is not in the file */
    FILE *f = fopen(path, "rb");
    char raw[4096];
    size_t n = fread(raw, 1, sizeof(raw), f);
    fclose(f);
    for (size_t i = 0; i + 7 <= n; i++)
        assert_int_not_equal(memcmp(raw + i, "5Aep861", 7), 0);

    assert_int_equal(sf_store_get(path, key, "acme", &tok, &err), 0);
    assert_string_equal(tok, "5Aep861-refresh-acme");
    sf_secret_free(tok);
    assert_int_equal(sf_store_get(path, key, "globex", &tok, &err), 0);
    assert_string_equal(tok, "5Aep861-refresh-globex");
    sf_secret_free(tok);
    assert_int_equal(sf_store_get(path, key, "initech", &tok, &err), 0);
    assert_null(tok);

    /* delete one entry; the other stays */
    assert_int_equal(sf_store_put(path, key, "acme", NULL, &err), 0);
    assert_int_equal(sf_store_get(path, key, "acme", &tok, &err), 0);
    assert_null(tok);
    assert_int_equal(sf_store_get(path, key, "globex", &tok, &err), 0);
    assert_non_null(tok);
    sf_secret_free(tok);
    assert_null(err);

    /* wrong key: clear error, nothing returned */
    assert_int_equal(sf_store_get(path, other, "globex", &tok, &err), -1);
    assert_null(tok);
    assert_int_equal(err->kind, SF_ERR_STORE);
    assert_non_null(strstr(err->message, "wrong key"));
    assert_int_equal(sf_error_retry_class(err), SF_RETRY_FINAL);
    sf_error_destroy(err);
    err = NULL;
    /* and a put under the wrong key does not overwrite the store */
    assert_int_equal(sf_store_put(path, other, "x", "y", &err), -1);
    sf_error_destroy(err);
    err = NULL;
    unlink(path);
}

static void test_store_tampered_truncated(void **state)
{
    (void)state;
    uint8_t key[SF_STORE_KEY_LEN];
    char path[512];
    char *tok = NULL;
    sf_error_t *err = NULL;
    unsigned char raw[4096];
    memset(key, 3, sizeof(key));
    store_path(path, sizeof(path));
    assert_int_equal(sf_store_put(path, key, "acme", "refresh-token-value", &err), 0);
    FILE *f = fopen(path, "rb");
    size_t n = fread(raw, 1, sizeof(raw), f);
    fclose(f);

    /* flip each byte in turn (header, nonce, ciphertext, tag): always refused */
    for (size_t i = 0; i < n; i++) {
        unsigned char copy[4096];
        memcpy(copy, raw, n);
        copy[i] ^= 0x01;
        f = fopen(path, "wb");
        fwrite(copy, 1, n, f);
        fclose(f);
        assert_int_equal(sf_store_get(path, key, "acme", &tok, &err), -1);
        assert_null(tok);
        assert_int_equal(err->kind, SF_ERR_STORE);
        sf_error_destroy(err);
        err = NULL;
    }
    /* every truncation is refused */
    for (size_t len = 0; len < n; len += (len < 40 ? 1 : 7)) {
        f = fopen(path, "wb");
        fwrite(raw, 1, len, f);
        fclose(f);
        assert_int_equal(sf_store_get(path, key, "acme", &tok, &err), -1);
        assert_null(tok);
        assert_int_equal(err->kind, SF_ERR_STORE);
        sf_error_destroy(err);
        err = NULL;
    }
    /* and the intact bytes still read */
    f = fopen(path, "wb");
    fwrite(raw, 1, n, f);
    fclose(f);
    assert_int_equal(sf_store_get(path, key, "acme", &tok, &err), 0);
    assert_string_equal(tok, "refresh-token-value");
    sf_secret_free(tok);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pkce_rfc7636),
        cmocka_unit_test(test_jwt_verifies),
        cmocka_unit_test(test_store_key_parse),
        cmocka_unit_test(test_store_round_trip),
        cmocka_unit_test(test_store_tampered_truncated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
