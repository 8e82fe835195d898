/*
 * sfb_json.c - a growable byte buffer and a JSON text writer on top of it
 * (see sfb.h). Writing a message straight into one buffer costs a fraction
 * of building a jansson tree and dumping it: no allocation per member, no
 * hash table, one copy of each string.
 */
#include "sfb.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sfb_buf_init(sfb_buf_t *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->failed = false;
}

void sfb_buf_free(sfb_buf_t *b)
{
    free(b->data);
    sfb_buf_init(b);
}

void sfb_buf_reset(sfb_buf_t *b)
{
    b->len = 0;
    b->failed = false;
    if (b->data)
        b->data[0] = '\0';
}

/* Room for `more` bytes and a NUL. Sets `failed` when memory runs out. */
static bool buf_reserve(sfb_buf_t *b, size_t more)
{
    if (b->failed)
        return false;
    if (more > SIZE_MAX / 2 - b->len) {
        b->failed = true;
        return false;
    }
    size_t need = b->len + more + 1;
    if (need <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *data = realloc(b->data, cap);
    if (!data) {
        b->failed = true;
        return false;
    }
    b->data = data;
    b->cap = cap;
    return true;
}

void sfb_buf_append(sfb_buf_t *b, const char *s, size_t n)
{
    if (!buf_reserve(b, n))
        return;
    if (n)
        memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void sfb_buf_puts(sfb_buf_t *b, const char *s)
{
    sfb_buf_append(b, s, strlen(s));
}

void sfb_buf_int(sfb_buf_t *b, int64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof(tmp), "%" PRId64, v);
    sfb_buf_append(b, tmp, (size_t)n);
}

char *sfb_buf_steal(sfb_buf_t *b)
{
    if (b->failed) {
        sfb_buf_free(b);
        return NULL;
    }
    if (!buf_reserve(b, 0)) /* an empty buffer has no storage yet */
        return NULL;
    b->data[b->len] = '\0';
    char *out = b->data;
    /* What is stolen is usually kept (a result until Kafka acknowledges it,
     * a record until its batch is done): give back the doubling slack. */
    if (b->cap > b->len + 1) {
        char *fit = realloc(out, b->len + 1);
        if (fit)
            out = fit;
    }
    sfb_buf_init(b);
    return out;
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t left)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (left < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

int sfb_buf_json_string(sfb_buf_t *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF"; /* as jansson writes them */
    const unsigned char *p = (const unsigned char *)s;
    /* Most strings need no escaping: one reservation for the common case. */
    if (!buf_reserve(b, len + 2))
        return -1;
    b->data[b->len++] = '"';
    size_t i = 0;
    while (i < len) {
        /* Copy the longest run that needs neither escaping nor checking. */
        size_t run = i;
        while (run < len && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\')
            run++;
        if (run > i) {
            sfb_buf_append(b, s + i, run - i);
            i = run;
            continue;
        }
        unsigned char c = p[i];
        if (c >= 0x80) {
            size_t n = utf8_seq(p + i, len - i);
            if (n == 0) {
                b->failed = true;
                return -1;
            }
            sfb_buf_append(b, s + i, n);
            i += n;
            continue;
        }
        char esc[7] = {'\\', 0, 0, 0, 0, 0, 0};
        size_t esc_len = 2;
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 0xF];
            esc_len = 6;
            break;
        }
        sfb_buf_append(b, esc, esc_len);
        i++;
    }
    sfb_buf_append(b, "\"", 1);
    return b->failed ? -1 : 0;
}

int sfb_buf_json_cstring(sfb_buf_t *b, const char *s)
{
    return sfb_buf_json_string(b, s, strlen(s));
}
