/*
 * emu_oauth_jwt.c - compact JWS parsing and RS256 verification for the
 * JWT-bearer grant. Only what Salesforce accepts is accepted: three
 * base64url parts, JSON object header and claims, alg RS256. "alg":"none"
 * and HMAC algorithms are refused before any key is touched, so a token
 * cannot choose how it is checked.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "emu_oauth_int.h"

static json_t *decode_part(const char *s, size_t len)
{
    size_t n = 0;
    unsigned char *raw = emu_b64_decode(s, len, true, &n);
    json_t *j = NULL;
    if (!raw)
        return NULL;
    j = json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES, NULL);
    free(raw);
    if (j && !json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

void emu_jwt_clear(emu_jwt_t *jwt)
{
    if (!jwt)
        return;
    json_decref(jwt->header);
    json_decref(jwt->claims);
    free(jwt->sig);
    memset(jwt, 0, sizeof(*jwt));
}

int emu_jwt_parse(const char *text, size_t len, emu_jwt_t *jwt, char *err, size_t err_size)
{
    memset(jwt, 0, sizeof(*jwt));
    if (!text || len == 0 || len > EMU_JWT_MAX) {
        snprintf(err, err_size, "assertion missing or too long");
        goto fail;
    }
    const char *dot1 = memchr(text, '.', len);
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - text)) : NULL;
    if (!dot1 || !dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - text))) {
        snprintf(err, err_size, "assertion is not three dot-separated parts");
        goto fail;
    }
    jwt->header = decode_part(text, (size_t)(dot1 - text));
    if (!jwt->header) {
        snprintf(err, err_size, "header is not base64url JSON object");
        goto fail;
    }
    jwt->claims = decode_part(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    if (!jwt->claims) {
        snprintf(err, err_size, "claims are not a base64url JSON object");
        goto fail;
    }
    size_t slen = len - (size_t)(dot2 + 1 - text);
    jwt->sig = emu_b64_decode(dot2 + 1, slen, true, &jwt->sig_len);
    if (!jwt->sig) {
        snprintf(err, err_size, "signature is not base64url");
        goto fail;
    }
    jwt->signed_part = text;
    jwt->signed_len = (size_t)(dot2 - text);
    return 0;
fail:
    emu_jwt_clear(jwt);
    return -1;
}

int emu_jwt_verify_rs256(const emu_jwt_t *jwt, EVP_PKEY *pkey, char *err, size_t err_size)
{
    int rc = -1;
    EVP_MD_CTX *md = NULL;
    const char *alg = json_string_value(json_object_get(jwt->header, "alg"));
    if (!alg || strcmp(alg, "RS256") != 0) {
        snprintf(err, err_size, "alg %s is not RS256", alg ? "other" : "missing");
        goto done;
    }
    if (!pkey || EVP_PKEY_base_id(pkey) != EVP_PKEY_RSA) {
        snprintf(err, err_size, "the app has no RSA certificate");
        goto done;
    }
    if (jwt->sig_len == 0) {
        snprintf(err, err_size, "empty signature");
        goto done;
    }
    md = EVP_MD_CTX_new();
    if (!md || EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) != 1) {
        snprintf(err, err_size, "cannot initialise RSA verification");
        goto done;
    }
    /* Default padding for an RSA key is PKCS#1 v1.5, which is what RS256 means. */
    if (EVP_DigestVerify(md, jwt->sig, jwt->sig_len, (const unsigned char *)jwt->signed_part,
                         jwt->signed_len) != 1) {
        snprintf(err, err_size, "signature does not verify");
        goto done;
    }
    rc = 0;
done:
    ERR_clear_error(); /* failures leave entries on this thread's OpenSSL error queue */
    EVP_MD_CTX_free(md);
    return rc;
}

int emu_jwt_claim_time(const json_t *claims, const char *name, int64_t *out)
{
    const json_t *v = json_object_get(claims, name);
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return 0;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!(d > -9.2e18 && d < 9.2e18))
            return -1;
        *out = (int64_t)d;
        return 0;
    }
    const char *s = json_string_value(v);
    if (!s || !(*s >= '0' && *s <= '9'))
        return -1; /* strtoll would also take spaces and signs */
    /* Decimal seconds, optionally with a fraction (simple-salesforce sends "1584974785"). */
    char *end = NULL;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (errno || end == s)
        return -1;
    if (*end == '.') {
        end++;
        while (*end >= '0' && *end <= '9')
            end++;
    }
    if (*end != '\0')
        return -1;
    *out = (int64_t)n;
    return 0;
}
