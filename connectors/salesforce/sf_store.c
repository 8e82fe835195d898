/*
 * sf_store.c - the token store: refresh tokens per org name in one file,
 * encrypted with AES-256-GCM (OpenSSL EVP).
 *
 * Layout: "SFTS" | version 0x01 | 12-byte random nonce | ciphertext | 16-byte tag.
 * The 5 header bytes are authenticated as AAD, so a changed version byte is
 * caught too. A fresh nonce is drawn on every write. Writers take an flock on
 * the file, write a 0600 temporary file and rename it over the old one.
 *
 * Limit: the plaintext is read whole (bounded by SF_STORE_MAX); a store with
 * thousands of orgs would want a different format.
 */
#include "sf_int.h"

#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define SF_STORE_MAGIC   "SFTS"
#define SF_STORE_VERSION 1
#define SF_STORE_HDR     5
#define SF_STORE_NONCE   12
#define SF_STORE_TAG     16
#define SF_STORE_MAX     (1u << 20)

__attribute__((format(printf, 2, 3))) static sf_error_t *store_err(const char *path,
                                                                   const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return sf_error_new(SF_ERR_STORE, 0, NULL, "token store %s: %s", path, msg);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int sf_store_key_parse(const char *text, uint8_t key[SF_STORE_KEY_LEN], char *errstr,
                       size_t errstr_size)
{
    char buf[128];
    size_t n = 0;
    /* Copy without whitespace (a key file usually ends with a newline). */
    for (const char *p = text ? text : ""; *p; p++) {
        if (isspace((unsigned char)*p))
            continue;
        if (n + 1 >= sizeof(buf))
            goto bad;
        buf[n++] = *p;
    }
    buf[n] = '\0';
    if (n == 64) {
        for (size_t i = 0; i < 32; i++) {
            int hi = hexval(buf[2 * i]), lo = hexval(buf[2 * i + 1]);
            if (hi < 0 || lo < 0)
                goto bad;
            key[i] = (uint8_t)(hi << 4 | lo);
        }
        OPENSSL_cleanse(buf, sizeof(buf));
        return 0;
    }
    if (n == 44) {
        unsigned char out[48];
        int len = EVP_DecodeBlock(out, (const unsigned char *)buf, (int)n);
        /* 44 chars with one '=' decode to 33 bytes by EVP's count, of which 32 are data. */
        if (len == 33 && buf[43] == '=' && buf[42] != '=') {
            memcpy(key, out, SF_STORE_KEY_LEN);
            OPENSSL_cleanse(out, sizeof(out));
            OPENSSL_cleanse(buf, sizeof(buf));
            return 0;
        }
        OPENSSL_cleanse(out, sizeof(out));
    }
bad:
    OPENSSL_cleanse(buf, sizeof(buf));
    snprintf(errstr, errstr_size,
             "the token store key must be 32 bytes written as 64 hex digits "
             "or 44 base64 characters (e.g. `openssl rand -hex 32`)");
    return -1;
}

int sf_store_key_load_file(const char *path, uint8_t key[SF_STORE_KEY_LEN], char *errstr,
                           size_t errstr_size)
{
    char buf[130];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(errstr, errstr_size, "cannot open key file %s: %s", path, strerror(errno));
        return -1;
    }
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n < 0) {
        snprintf(errstr, errstr_size, "cannot read key file %s", path);
        return -1;
    }
    if (n == SF_STORE_KEY_LEN) {
        memcpy(key, buf, SF_STORE_KEY_LEN);
        OPENSSL_cleanse(buf, sizeof(buf));
        return 0;
    }
    buf[n] = '\0';
    int ret = sf_store_key_parse(buf, key, errstr, errstr_size);
    OPENSSL_cleanse(buf, sizeof(buf));
    return ret;
}

/* Reads and decrypts the file. *root NULL (and 0) when the file does not exist. */
static int store_read(const char *path, const uint8_t *key, json_t **root, sf_error_t **errp)
{
    unsigned char *file = NULL, *plain = NULL;
    EVP_CIPHER_CTX *ctx = NULL;
    struct stat st;
    int fd = -1, ret = -1, outl = 0, finl = 0;
    size_t clen;
    *root = NULL;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        sf_set_err(errp, store_err(path, "cannot open: %s", strerror(errno)));
        return -1;
    }
    if (fstat(fd, &st) != 0 || st.st_size > SF_STORE_MAX) {
        sf_set_err(errp, store_err(path, "%s", "unreadable or larger than 1 MiB"));
        goto done;
    }
    if (st.st_size < SF_STORE_HDR + SF_STORE_NONCE + SF_STORE_TAG) {
        sf_set_err(errp, store_err(path, "%s", "truncated (shorter than its header)"));
        goto done;
    }
    file = malloc((size_t)st.st_size);
    if (!file || read(fd, file, (size_t)st.st_size) != st.st_size) {
        sf_set_err(errp, store_err(path, "%s", "cannot read"));
        goto done;
    }
    if (memcmp(file, SF_STORE_MAGIC, 4) != 0) {
        sf_set_err(errp, store_err(path, "%s", "not an sfbridge token store"));
        goto done;
    }
    if (file[4] != SF_STORE_VERSION) {
        char v[8];
        snprintf(v, sizeof(v), "%u", file[4]);
        sf_set_err(errp, store_err(path, "unsupported version %s", v));
        goto done;
    }
    clen = (size_t)st.st_size - SF_STORE_HDR - SF_STORE_NONCE - SF_STORE_TAG;
    plain = malloc(clen + 1);
    ctx = EVP_CIPHER_CTX_new();
    if (!plain || !ctx || EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SF_STORE_NONCE, NULL) != 1 ||
        EVP_DecryptInit_ex(ctx, NULL, NULL, key, file + SF_STORE_HDR) != 1 ||
        EVP_DecryptUpdate(ctx, NULL, &outl, file, SF_STORE_HDR) != 1 ||
        EVP_DecryptUpdate(ctx, plain, &outl, file + SF_STORE_HDR + SF_STORE_NONCE, (int)clen) !=
            1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SF_STORE_TAG,
                            file + (size_t)st.st_size - SF_STORE_TAG) != 1) {
        sf_set_err(errp, sf_error_new(SF_ERR_INTERNAL, 0, NULL, "token store: cipher failure"));
        goto done;
    }
    if (EVP_DecryptFinal_ex(ctx, plain + outl, &finl) != 1) {
        /* GCM cannot tell a wrong key from a changed byte: say both. */
        sf_set_err(errp, store_err(path, "%s",
                                   "cannot decrypt: wrong key, or the file was modified or "
                                   "truncated"));
        goto done;
    }
    plain[outl + finl] = '\0';
    *root = json_loadb((const char *)plain, (size_t)(outl + finl), JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(*root) || !json_is_object(json_object_get(*root, "orgs"))) {
        json_decref(*root);
        *root = NULL;
        sf_set_err(errp, store_err(path, "%s", "decrypted content is not a token store"));
        goto done;
    }
    ret = 0;
done:
    if (plain) {
        OPENSSL_cleanse(plain, clen + 1);
        free(plain);
    }
    free(file);
    EVP_CIPHER_CTX_free(ctx);
    if (fd >= 0)
        close(fd);
    return ret;
}

static int store_write(const char *path, const uint8_t *key, const json_t *root, sf_error_t **errp)
{
    char *plain = json_dumps(root, JSON_COMPACT);
    unsigned char *out = NULL;
    EVP_CIPHER_CTX *ctx = NULL;
    char tmp[4096];
    int fd = -1, ret = -1, outl = 0, finl = 0;
    size_t plen, total;

    if (!plain) {
        sf_set_err(errp, sf_error_new(SF_ERR_INTERNAL, 0, NULL, "out of memory"));
        return -1;
    }
    plen = strlen(plain);
    total = SF_STORE_HDR + SF_STORE_NONCE + plen + SF_STORE_TAG;
    out = malloc(total);
    ctx = EVP_CIPHER_CTX_new();
    if (!out || !ctx)
        goto cipher_fail;
    memcpy(out, SF_STORE_MAGIC, 4);
    out[4] = SF_STORE_VERSION;
    if (RAND_bytes(out + SF_STORE_HDR, SF_STORE_NONCE) != 1 ||
        EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SF_STORE_NONCE, NULL) != 1 ||
        EVP_EncryptInit_ex(ctx, NULL, NULL, key, out + SF_STORE_HDR) != 1 ||
        EVP_EncryptUpdate(ctx, NULL, &outl, out, SF_STORE_HDR) != 1 ||
        EVP_EncryptUpdate(ctx, out + SF_STORE_HDR + SF_STORE_NONCE, &outl,
                          (const unsigned char *)plain, (int)plen) != 1 ||
        EVP_EncryptFinal_ex(ctx, out + SF_STORE_HDR + SF_STORE_NONCE + outl, &finl) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SF_STORE_TAG, out + total - SF_STORE_TAG) !=
            1)
        goto cipher_fail;

    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 || fchmod(fd, 0600) != 0 || write(fd, out, total) != (ssize_t)total ||
        fsync(fd) != 0) {
        sf_set_err(errp, store_err(path, "cannot write: %s", strerror(errno)));
        if (fd >= 0)
            unlink(tmp);
        goto done;
    }
    close(fd);
    fd = -1;
    if (rename(tmp, path) != 0) {
        sf_set_err(errp, store_err(path, "cannot replace: %s", strerror(errno)));
        unlink(tmp);
        goto done;
    }
    ret = 0;
    goto done;
cipher_fail:
    sf_set_err(errp, sf_error_new(SF_ERR_INTERNAL, 0, NULL, "token store: cipher failure"));
done:
    if (fd >= 0)
        close(fd);
    OPENSSL_cleanse(plain, plen);
    free(plain);
    free(out);
    EVP_CIPHER_CTX_free(ctx);
    return ret;
}

int sf_store_get(const char *path, const uint8_t key[SF_STORE_KEY_LEN], const char *org_name,
                 char **token, sf_error_t **errp)
{
    json_t *root = NULL;
    *token = NULL;
    if (store_read(path, key, &root, errp) != 0)
        return -1;
    if (!root) {
        sf_set_err(errp, store_err(path, "%s", "does not exist"));
        return -1;
    }
    const char *tok = json_string_value(
        json_object_get(json_object_get(json_object_get(root, "orgs"), org_name), "refresh_token"));
    if (tok)
        *token = strdup(tok);
    json_decref(root);
    return 0;
}

int sf_store_put(const char *path, const uint8_t key[SF_STORE_KEY_LEN], const char *org_name,
                 const char *token, sf_error_t **errp)
{
    json_t *root = NULL;
    char lockpath[4096];
    int lockfd, ret = -1;

    /* A separate lock file: the store itself is replaced by rename. */
    snprintf(lockpath, sizeof(lockpath), "%s.lock", path);
    lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lockfd < 0 || flock(lockfd, LOCK_EX) != 0) {
        sf_set_err(errp, store_err(path, "cannot lock: %s", strerror(errno)));
        goto done;
    }
    if (store_read(path, key, &root, errp) != 0)
        goto done;
    if (!root)
        root = json_pack("{s:{}}", "orgs");
    json_t *orgs = json_object_get(root, "orgs");
    if (!orgs)
        goto oom;
    if (token) {
        json_t *entry =
            json_pack("{s:s, s:I}", "refresh_token", token, "updated_ms", (json_int_t)sf_now_ms());
        if (!entry || json_object_set_new(orgs, org_name, entry) != 0)
            goto oom;
    } else {
        json_object_del(orgs, org_name);
    }
    ret = store_write(path, key, root, errp);
    goto done;
oom:
    sf_set_err(errp, sf_error_new(SF_ERR_INTERNAL, 0, NULL, "out of memory"));
done:
    json_decref(root);
    if (lockfd >= 0)
        close(lockfd);
    return ret;
}
