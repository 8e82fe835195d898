/*
 * sfb.h - generic helpers shared by every sfbridge module and by sfemu:
 * leveled logging (plain text or JSON lines) and redaction of secrets.
 *
 * Nothing here knows about Kafka or Salesforce; that is what lets the
 * emulator share it with the client it tests without hiding a bug on both
 * sides (DESIGN.md).
 *
 * Thread safety: sfb_log() may be called from any thread; a log line is
 * written with one write(2) so lines from different threads never interleave.
 * sfb_log_init() is called once by main() before any thread starts.
 */
#ifndef SFB_H
#define SFB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    SFB_LOG_ERROR = 0,
    SFB_LOG_WARN = 1,
    SFB_LOG_INFO = 2,
    SFB_LOG_DEBUG = 3,
} sfb_log_level_t;

typedef enum {
    SFB_LOG_FORMAT_TEXT = 0,
    SFB_LOG_FORMAT_JSON = 1,
} sfb_log_format_t;

/* Sets the threshold and the format; defaults are INFO and TEXT. Writes to fd. */
void sfb_log_init(sfb_log_level_t level, sfb_log_format_t format, int fd);

/* Parses "error|warn|info|debug" (case-insensitive). Returns -1 if unknown. */
int sfb_log_level_parse(const char *name, sfb_log_level_t *level);
/* Parses "text|json". Returns -1 if unknown. */
int sfb_log_format_parse(const char *name, sfb_log_format_t *format);

bool sfb_log_enabled(sfb_log_level_t level);

/* The threshold and format set by sfb_log_init(). */
sfb_log_level_t sfb_log_level(void);
sfb_log_format_t sfb_log_format(void);

/*
 * Logs one line. `scope` tags the line with the org or instance it concerns
 * ("org=acme", "sink", "emu"); may be NULL. The message must never contain a
 * secret: pass secret-bearing values through sfb_redact_*() first.
 */
void sfb_log(sfb_log_level_t level, const char *scope, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void sfb_vlog(sfb_log_level_t level, const char *scope, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#define SFB_ERROR(scope, ...) sfb_log(SFB_LOG_ERROR, scope, __VA_ARGS__)
#define SFB_WARN(scope, ...)  sfb_log(SFB_LOG_WARN, scope, __VA_ARGS__)
#define SFB_INFO(scope, ...)  sfb_log(SFB_LOG_INFO, scope, __VA_ARGS__)
#define SFB_DEBUG(scope, ...)                                                                      \
    do {                                                                                           \
        if (sfb_log_enabled(SFB_LOG_DEBUG))                                                        \
            sfb_log(SFB_LOG_DEBUG, scope, __VA_ARGS__);                                            \
    } while (0)

/* What every secret is shown as, whatever its length (the length is a hint too). */
#define SFB_REDACTED "[redacted]"

/* Returns SFB_REDACTED for a non-empty secret, "" for NULL/empty (so "is it set?" stays visible).
 */
const char *sfb_redact_secret(const char *secret);

/*
 * Copies `text` to `out` (always NUL-terminated, truncated to out_size) with
 * the value of every secret-bearing parameter replaced by SFB_REDACTED.
 * Recognises form/query pairs (`password=...&`), JSON members
 * (`"access_token":"..."`) and HTTP authorization headers (`Bearer ...`).
 * The names covered are those of sfb_is_secret_name(). Returns `out`.
 */
char *sfb_redact_text(const char *text, char *out, size_t out_size);

/* True for parameter names that carry secrets: password, client_secret,
 * access_token, refresh_token, assertion, code, code_verifier, token,
 * private_key, key, secret, signature (case-insensitive, exact name). */
bool sfb_is_secret_name(const char *name, size_t len);

/* ---- growable buffer and JSON text writer (sfb_json.c) ----
 *
 * For messages written on the hot path (results, request bodies): appending
 * to one buffer instead of building a jansson tree and dumping it. A failed
 * allocation sets `failed` and later appends do nothing, so a caller checks
 * once at the end (sfb_buf_steal returns NULL). Not thread-safe per buffer.
 */
typedef struct {
    char *data; /* NUL-terminated when not NULL */
    size_t len;
    size_t cap;
    bool failed; /* out of memory, or a string that was not UTF-8 */
} sfb_buf_t;

void sfb_buf_init(sfb_buf_t *b);
void sfb_buf_free(sfb_buf_t *b);
/* Empties the buffer and keeps its storage, for reuse. */
void sfb_buf_reset(sfb_buf_t *b);
void sfb_buf_append(sfb_buf_t *b, const char *s, size_t n);
void sfb_buf_puts(sfb_buf_t *b, const char *s);
void sfb_buf_int(sfb_buf_t *b, int64_t v);
/*
 * Appends s[0..len) as a JSON string: quoted, with '"', '\\' and control
 * characters escaped and other characters written as they are (as jansson's
 * json_dumps does without flags). Returns -1 and sets `failed` if s is not
 * well-formed UTF-8 (RFC 3629); a NUL inside is written as \u0000.
 */
int sfb_buf_json_string(sfb_buf_t *b, const char *s, size_t len);
int sfb_buf_json_cstring(sfb_buf_t *b, const char *s);
/* The text, shrunk to fit (caller frees), or NULL if anything failed; the
 * buffer is left empty. */
char *sfb_buf_steal(sfb_buf_t *b);

#endif
