/*
 * emu_id.c - id generation and the 15/18-char case checksum.
 */
#include "emu_id.h"

#include <string.h>

static const char emu_id_base62[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
static const char emu_id_suffix_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

static bool emu_id_is_base62(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

void emu_id_suffix(const char *id15, char out[3])
{
    for (int chunk = 0; chunk < 3; chunk++) {
        int bits = 0;
        for (int i = 0; i < 5; i++) {
            char c = id15[chunk * 5 + i];
            if (c >= 'A' && c <= 'Z')
                bits |= 1 << i;
        }
        out[chunk] = emu_id_suffix_chars[bits];
    }
}

void emu_id_make(const char *key_prefix, uint64_t n, char out[19])
{
    /* Real ids carry a pod/instance marker after the prefix; "5g" stands in
     * for one so ids look like the ones orgs hand out (001Dn000001a2B3CAB). */
    memcpy(out, key_prefix, 3);
    out[3] = '5';
    out[4] = 'g';
    for (int i = 14; i >= 5; i--) {
        out[i] = emu_id_base62[n % 62];
        n /= 62;
    }
    emu_id_suffix(out, out + 15);
    out[18] = '\0';
}

static int emu_id_suffix_value(char c)
{
    const char *p = strchr(emu_id_suffix_chars, c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    return (c != '\0' && p) ? (int)(p - emu_id_suffix_chars) : -1;
}

int emu_id_normalize(const char *in, char out[19])
{
    if (!in)
        return -1;
    size_t len = strlen(in);
    if (len != 15 && len != 18)
        return -1;
    for (size_t i = 0; i < len; i++)
        if (!emu_id_is_base62(in[i]))
            return -1;
    memcpy(out, in, 15);
    if (len == 18) {
        /* Restore the case of each letter from the suffix bits. */
        for (int chunk = 0; chunk < 3; chunk++) {
            int bits = emu_id_suffix_value(in[15 + chunk]);
            if (bits < 0)
                return -1;
            for (int i = 0; i < 5; i++) {
                char *c = &out[chunk * 5 + i];
                bool upper = (bits >> i) & 1;
                if (*c >= 'a' && *c <= 'z' && upper)
                    *c = (char)(*c - 'a' + 'A');
                else if (*c >= 'A' && *c <= 'Z' && !upper)
                    *c = (char)(*c - 'A' + 'a');
                else if (upper && !(*c >= 'A' && *c <= 'Z'))
                    return -1; /* bit says "upper case" on a digit */
            }
        }
    }
    emu_id_suffix(out, out + 15);
    out[18] = '\0';
    return 0;
}

bool emu_id_has_prefix(const char *id, const char *key_prefix)
{
    return id && key_prefix && strncmp(id, key_prefix, 3) == 0;
}
