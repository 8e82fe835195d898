/*
 * emu_oauth_form.c - parsing of application/x-www-form-urlencoded bodies and
 * query strings, URL/HTML escaping and base64 for the OAuth endpoints. Every
 * input here comes from an HTTP client, so each function bounds its work by
 * the input length and never trusts a NUL terminator inside a body.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_oauth_int.h"

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *emu_url_decode(const char *s, size_t len, bool plus_is_space)
{
    char *out = malloc(len + 1);
    size_t o = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= len) {
                free(out);
                return NULL;
            }
            int hi = hexval((unsigned char)s[i + 1]);
            int lo = hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0) {
                free(out);
                return NULL;
            }
            c = (unsigned char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (c == '\0') {
            /* Values become C strings; an embedded NUL would truncate a secret comparison. */
            free(out);
            return NULL;
        }
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return out;
}

void emu_form_clear(emu_form_t *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++) {
        free(f->name[i]);
        free(f->value[i]);
    }
    f->n = 0;
}

const char *emu_form_get(const emu_form_t *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->name[i], name) == 0)
            return f->value[i];
    return NULL;
}

int emu_form_parse(const char *text, size_t len, emu_form_t *f, char *err, size_t err_size)
{
    memset(f, 0, sizeof(*f));
    if (!text)
        return 0;
    if (len > EMU_OAUTH_MAX_FORM) {
        snprintf(err, err_size, "request body too large");
        goto fail;
    }
    size_t pos = 0;
    while (pos < len) {
        const char *pair = text + pos;
        const char *amp = memchr(pair, '&', len - pos);
        size_t plen = amp ? (size_t)(amp - pair) : len - pos;
        pos += plen + 1;
        if (plen == 0)
            continue;
        const char *eq = memchr(pair, '=', plen);
        size_t nlen = eq ? (size_t)(eq - pair) : plen;
        if (f->n == EMU_FORM_MAX_PARAMS) {
            snprintf(err, err_size, "too many parameters");
            goto fail;
        }
        char *name = emu_url_decode(pair, nlen, true);
        char *value = eq ? emu_url_decode(eq + 1, plen - nlen - 1, true) : strdup("");
        if (!name || !value) {
            free(name);
            free(value);
            snprintf(err, err_size, "malformed form encoding");
            goto fail;
        }
        if (emu_form_get(f, name)) {
            snprintf(err, err_size, "duplicate parameter");
            free(name);
            free(value);
            goto fail;
        }
        f->name[f->n] = name;
        f->value[f->n] = value;
        f->n++;
    }
    return 0;
fail:
    emu_form_clear(f);
    return -1;
}

char *emu_url_encode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t len = strlen(s);
    char *out = malloc(len * 3 + 1);
    size_t o = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
    return out;
}

char *emu_html_escape(const char *s)
{
    size_t len = strlen(s);
    char *out = malloc(len * 6 + 1); /* "&quot;" is the longest expansion */
    size_t o = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        const char *rep = NULL;
        switch (s[i]) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        default:
            out[o++] = s[i];
            continue;
        }
        size_t rl = strlen(rep);
        memcpy(out + o, rep, rl);
        o += rl;
    }
    out[o] = '\0';
    return out;
}

static char *b64_encode(const unsigned char *in, size_t len, const char *alphabet, bool pad)
{
    char *out = malloc((len + 2) / 3 * 4 + 1);
    size_t o = 0, i = 0;
    if (!out)
        return NULL;
    for (; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = alphabet[v >> 6 & 63];
        out[o++] = alphabet[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        if (i + 1 < len)
            out[o++] = alphabet[v >> 6 & 63];
        else if (pad)
            out[o++] = '=';
        if (pad)
            out[o++] = '=';
    }
    out[o] = '\0';
    return out;
}

char *emu_b64_encode(const unsigned char *in, size_t len)
{
    return b64_encode(in, len, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
                      true);
}

char *emu_b64url_encode(const unsigned char *in, size_t len)
{
    return b64_encode(in, len, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                      false);
}

static int b64_val(unsigned char c, bool url)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (url ? '-' : '+'))
        return 62;
    if (c == (url ? '_' : '/'))
        return 63;
    return -1;
}

unsigned char *emu_b64_decode(const char *in, size_t len, bool url, size_t *out_len)
{
    /* Up to two '=' of padding, only at the end and only to complete a quantum. */
    size_t pad = 0;
    while (len > 0 && in[len - 1] == '=' && pad < 2) {
        len--;
        pad++;
    }
    if (pad && (len + pad) % 4 != 0)
        return NULL;
    if (len % 4 == 1)
        return NULL; /* 6 bits cannot encode a byte */
    unsigned char *out = malloc(len / 4 * 3 + 3);
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        int v = b64_val((unsigned char)in[i], url);
        if (v < 0) {
            free(out);
            return NULL;
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits & 0xff);
        }
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}
