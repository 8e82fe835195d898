/*
 * emu_soql_lex.c - SOQL text to tokens. Keywords are plain identifiers here
 * (the parser compares them case-insensitively). A string keeps its quotes
 * and escapes; emu_soql_bind.c decodes it for its use (LIKE keeps \% and \_
 * apart from the wildcards). Errors name the offending byte.
 */
#include <stdlib.h>
#include <string.h>

#include "emu_soql_int.h"

static bool is_ident_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_ident_char(unsigned char c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9') || c == '.';
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* Characters a date or datetime literal is made of; the literal is checked strictly later. */
static bool is_date_char(unsigned char c)
{
    return is_digit(c) || c == '-' || c == ':' || c == '+' || c == '.' || c == 'T' || c == 't' ||
           c == 'Z' || c == 'z';
}

/* Salesforce's escapes in string literals; \% and \_ only mean something to LIKE. */
static bool is_escape(unsigned char c)
{
    return strchr("nNrRtTbBfF\"'\\%_", c) != NULL && c != '\0';
}

int soql_lex(const char *text, size_t len, soql_tok_t **toks_out, size_t *ntoks_out, soql_err_t *e)
{
    /* At most one token per byte plus EOF: one allocation, no growth. */
    soql_tok_t *toks = malloc((len + 1) * sizeof(*toks));
    size_t n = 0, i = 0;
    char buf[16];
    if (!toks) {
        soql_error_plain(e, "UNKNOWN_EXCEPTION", "out of memory");
        return -1;
    }
    while (i < len) {
        unsigned char c = (unsigned char)text[i];
        size_t start = i;
        soql_tk_t kind;
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v') {
            i++;
            continue;
        }
        if (is_ident_start(c)) {
            while (i < len && is_ident_char((unsigned char)text[i]))
                i++;
            kind = TK_IDENT;
        } else if (is_digit(c) || ((c == '-' || c == '+') && i + 1 < len &&
                                   is_digit((unsigned char)text[i + 1]))) {
            i++;
            while (i < len && is_digit((unsigned char)text[i]))
                i++;
            kind = TK_NUMBER;
            if (i - start == 4 && is_digit(c) && i + 1 < len && text[i] == '-' &&
                is_digit((unsigned char)text[i + 1])) {
                while (i < len && is_date_char((unsigned char)text[i]))
                    i++;
                kind = memchr(text + start, 'T', i - start) || memchr(text + start, 't', i - start)
                           ? TK_DATETIME
                           : TK_DATE;
            } else if (i + 1 < len && text[i] == '.' && is_digit((unsigned char)text[i + 1])) {
                i++;
                while (i < len && is_digit((unsigned char)text[i]))
                    i++;
            }
            if (i < len && (is_ident_char((unsigned char)text[i]) || text[i] == '\'')) {
                soql_error_at(e, "MALFORMED_QUERY", i, "unexpected token: '%s'",
                              soql_excerpt(text, i, 1, buf, sizeof(buf)));
                goto fail;
            }
        } else if (c == '\'') {
            i++;
            for (;;) {
                if (i >= len) {
                    soql_error_at(e, "MALFORMED_QUERY", start,
                                  "mismatched character '<EOF>' expecting '''");
                    goto fail;
                }
                if (text[i] == '\'')
                    break;
                if (text[i] == '\\') {
                    if (i + 1 >= len || !is_escape((unsigned char)text[i + 1])) {
                        char lit[64];
                        soql_error_at(
                            e, "MALFORMED_QUERY", start,
                            "Invalid string literal '%s'. Illegal character sequence "
                            "'\\%s' in string literal.",
                            soql_excerpt(text, start + 1, i - start - 1, lit, sizeof(lit)),
                            i + 1 < len ? soql_excerpt(text, i + 1, 1, buf, sizeof(buf)) : "");
                        goto fail;
                    }
                    i += 2;
                    continue;
                }
                i++;
            }
            i++;
            kind = TK_STRING;
        } else {
            i++;
            switch (c) {
            case '(':
                kind = TK_LPAREN;
                break;
            case ')':
                kind = TK_RPAREN;
                break;
            case ',':
                kind = TK_COMMA;
                break;
            case ':':
                kind = TK_COLON;
                break;
            case '=':
                kind = TK_EQ;
                break;
            case '!':
                if (i < len && text[i] == '=') {
                    i++;
                    kind = TK_NE;
                    break;
                }
                goto bad_char;
            case '<':
                if (i < len && text[i] == '=') {
                    i++;
                    kind = TK_LE;
                } else if (i < len && text[i] == '>') {
                    i++;
                    kind = TK_NE;
                } else {
                    kind = TK_LT;
                }
                break;
            case '>':
                if (i < len && text[i] == '=') {
                    i++;
                    kind = TK_GE;
                } else {
                    kind = TK_GT;
                }
                break;
            default:
            bad_char:
                soql_error_at(e, "MALFORMED_QUERY", start,
                              "no viable alternative at character '%s'",
                              soql_excerpt(text, start, 1, buf, sizeof(buf)));
                goto fail;
            }
        }
        toks[n].kind = kind;
        toks[n].off = (uint32_t)start;
        toks[n].len = (uint32_t)(i - start);
        n++;
    }
    toks[n].kind = TK_EOF;
    toks[n].off = (uint32_t)len;
    toks[n].len = 0;
    n++;
    *toks_out = toks;
    *ntoks_out = n;
    return 0;
fail:
    free(toks);
    return -1;
}
