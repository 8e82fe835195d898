/* sfb_log.c - leveled logging to one fd, plain text or JSON lines. */
#include "sfb.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* Set once by main() before threads start, read-only afterwards. */
static sfb_log_level_t log_threshold = SFB_LOG_INFO;
static sfb_log_format_t log_format = SFB_LOG_FORMAT_TEXT;
static int log_fd = 2;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void sfb_log_init(sfb_log_level_t level, sfb_log_format_t format, int fd)
{
    log_threshold = level;
    log_format = format;
    log_fd = fd;
}

int sfb_log_level_parse(const char *name, sfb_log_level_t *level)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (name && strcasecmp(name, level_names[i]) == 0) {
            *level = (sfb_log_level_t)i;
            return 0;
        }
    }
    return -1;
}

int sfb_log_format_parse(const char *name, sfb_log_format_t *format)
{
    if (name && strcasecmp(name, "text") == 0) {
        *format = SFB_LOG_FORMAT_TEXT;
        return 0;
    }
    if (name && strcasecmp(name, "json") == 0) {
        *format = SFB_LOG_FORMAT_JSON;
        return 0;
    }
    return -1;
}

sfb_log_level_t sfb_log_level(void)
{
    return log_threshold;
}

sfb_log_format_t sfb_log_format(void)
{
    return log_format;
}

bool sfb_log_enabled(sfb_log_level_t level)
{
    return level <= log_threshold;
}

/* Appends `s` as the inside of a JSON string; returns the new length. */
static size_t json_escape_append(char *buf, size_t len, size_t cap, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    for (; *s && len + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[len++] = '\\';
            buf[len++] = (char)c;
        } else if (c == '\n') {
            buf[len++] = '\\';
            buf[len++] = 'n';
        } else if (c < 0x20) {
            len += (size_t)snprintf(buf + len, cap - len, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
        } else {
            buf[len++] = (char)c;
        }
    }
    return len;
}

void sfb_vlog(sfb_log_level_t level, const char *scope, const char *fmt, va_list ap)
{
    if (!sfb_log_enabled(level))
        return;

    int saved_errno = errno;
    char msg[4096];
    vsnprintf(msg, sizeof(msg), fmt, ap);

    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[40];
    size_t tl = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + tl, sizeof(ts) - tl, ".%03ldZ", (long)(tv.tv_usec / 1000));

    char line[8192];
    size_t len = 0;
    if (log_format == SFB_LOG_FORMAT_JSON) {
        len = (size_t)snprintf(line, sizeof(line), "{\"ts\":\"%s\",\"level\":\"%s\"", ts,
                               level_names[level]);
        if (scope) {
            len += (size_t)snprintf(line + len, sizeof(line) - len, ",\"scope\":\"");
            len = json_escape_append(line, len, sizeof(line), scope);
            line[len++] = '"';
        }
        len += (size_t)snprintf(line + len, sizeof(line) - len, ",\"msg\":\"");
        len = json_escape_append(line, len, sizeof(line), msg);
        len += (size_t)snprintf(line + len, sizeof(line) - len, "\"}\n");
    } else {
        len = (size_t)snprintf(line, sizeof(line), "%s %-5s %s%s%s\n", ts, level_names[level],
                               scope ? "[" : "", scope ? scope : "", scope ? "] " : "");
        /* Insert msg before the newline, keeping lines one line each. */
        if (len > 0)
            len--;
        for (const char *p = msg; *p && len + 2 < sizeof(line); p++)
            line[len++] = (*p == '\n') ? ' ' : *p;
        line[len++] = '\n';
    }
    if (len > sizeof(line))
        len = sizeof(line);
    ssize_t w = write(log_fd, line, len);
    (void)w; /* Nowhere to report a failed log write. */
    errno = saved_errno;
}

void sfb_log(sfb_log_level_t level, const char *scope, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sfb_vlog(level, scope, fmt, ap);
    va_end(ap);
}
