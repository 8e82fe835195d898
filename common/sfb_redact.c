/* sfb_redact.c - keep secrets out of anything a human or a log collector sees. */
#include "sfb.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static const char *const secret_names[] = {
    "password",    "client_secret", "access_token", "refresh_token", "assertion",
    "code",        "code_verifier", "token",        "private_key",   "key",
    "secret",      "signature",     "id_token",     "sessionId",     "session_id",
    "passphrase",  "api_key",       "apikey",       "sasl.password", "ssl.key.password",
    "ssl.key.pem", "authorization",
};

bool sfb_is_secret_name(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(secret_names) / sizeof(secret_names[0]); i++) {
        if (strlen(secret_names[i]) == len && strncasecmp(secret_names[i], name, len) == 0)
            return true;
    }
    return false;
}

const char *sfb_redact_secret(const char *secret)
{
    return (secret && *secret) ? SFB_REDACTED : "";
}

static bool is_name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '-';
}

/*
 * One pass over the text. At each position we look for a parameter name
 * followed by '=' (form/query), or a quoted name followed by ':' and a quoted
 * value (JSON), or "Bearer "/"OAuth " (header values). When the name is a
 * secret, the value is replaced. Values end at '&', whitespace, '"' or ','.
 */
char *sfb_redact_text(const char *text, char *out, size_t out_size)
{
    size_t o = 0;
    if (!out || out_size == 0)
        return out;
    if (!text) {
        out[0] = '\0';
        return out;
    }
/* The argument is evaluated exactly once (callers pass *p++). */
#define EMIT(c)                                                                                    \
    do {                                                                                           \
        char c_ = (c);                                                                             \
        if (o + 1 < out_size)                                                                      \
            out[o++] = c_;                                                                         \
    } while (0)
#define EMIT_STR(s)                                                                                \
    do {                                                                                           \
        for (const char *q_ = (s); *q_; q_++)                                                      \
            EMIT(*q_);                                                                             \
    } while (0)

    const char *p = text;
    while (*p) {
        /* Authorization header values. */
        if ((strncasecmp(p, "Bearer ", 7) == 0 || strncasecmp(p, "OAuth ", 6) == 0) &&
            (p == text || !is_name_char(p[-1]))) {
            size_t kw = (p[0] == 'B' || p[0] == 'b') ? 7 : 6;
            for (size_t i = 0; i < kw; i++)
                EMIT(p[i]);
            p += kw;
            if (*p && !isspace((unsigned char)*p)) {
                EMIT_STR(SFB_REDACTED);
                while (*p && !isspace((unsigned char)*p) && *p != '"' && *p != ',')
                    p++;
            }
            continue;
        }
        /* JSON member: "name" : "value" */
        if (*p == '"') {
            const char *ns = p + 1, *ne = ns;
            while (*ne && *ne != '"' && is_name_char(*ne))
                ne++;
            if (*ne == '"' && ne > ns && sfb_is_secret_name(ns, (size_t)(ne - ns))) {
                const char *q = ne + 1;
                while (*q == ' ')
                    q++;
                if (*q == ':') {
                    q++;
                    while (*q == ' ')
                        q++;
                    if (*q == '"') {
                        /* Copy up to and including the opening quote of the value. */
                        while (p <= q)
                            EMIT(*p++);
                        EMIT_STR(SFB_REDACTED);
                        while (*p && *p != '"') {
                            if (*p == '\\' && p[1])
                                p++;
                            p++;
                        }
                        continue;
                    }
                }
            }
        }
        /* Form / query pair: name=value */
        if (is_name_char(*p) && (p == text || !is_name_char(p[-1]))) {
            const char *ns = p, *ne = p;
            while (is_name_char(*ne))
                ne++;
            if (*ne == '=' && sfb_is_secret_name(ns, (size_t)(ne - ns))) {
                while (p <= ne)
                    EMIT(*p++);
                if (*p && *p != '&' && !isspace((unsigned char)*p)) {
                    EMIT_STR(SFB_REDACTED);
                    while (*p && *p != '&' && !isspace((unsigned char)*p) && *p != '"' && *p != ',')
                        p++;
                }
                continue;
            }
            /* Copy the whole word so we do not match inside it. */
            while (p < ne)
                EMIT(*p++);
            continue;
        }
        EMIT(*p++);
    }
    out[o] = '\0';
    return out;
#undef EMIT
#undef EMIT_STR
}
