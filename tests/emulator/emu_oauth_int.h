/*
 * emu_oauth_int.h - private to the emu_oauth*.c files: configuration
 * structures, the session table, form/base64 helpers and JWT parsing.
 */
#ifndef EMU_OAUTH_INT_H
#define EMU_OAUTH_INT_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include <openssl/evp.h>

#include "emu_oauth.h"

#define EMU_OAUTH_SCOPE "emu"

/* ---- form and encoding helpers (emu_oauth_form.c) ---- */

/* Most parameters in one form or query string; OAuth requests carry about ten. */
#define EMU_FORM_MAX_PARAMS 64

typedef struct emu_form {
    size_t n;
    char *name[EMU_FORM_MAX_PARAMS];
    char *value[EMU_FORM_MAX_PARAMS];
} emu_form_t;

/*
 * Parses application/x-www-form-urlencoded text (also a URL query string):
 * '&'-separated name=value pairs, '+' as space, %XX decoded. Empty pairs are
 * skipped. Rejects (-1 and a sentence in err): more than EMU_OAUTH_MAX_FORM
 * bytes or EMU_FORM_MAX_PARAMS pairs, a bad %-escape, a decoded NUL, and a
 * repeated name (RFC 6749 3.1/3.2: parameters must not be included more than
 * once). On error *f holds nothing. Free with emu_form_clear.
 */
int emu_form_parse(const char *text, size_t len, emu_form_t *f, char *err, size_t err_size);
void emu_form_clear(emu_form_t *f);
/* The decoded value of `name`, NULL when absent. Borrowed from f. */
const char *emu_form_get(const emu_form_t *f, const char *name);

/* Decodes %XX (and '+' as space when asked) into a new string; NULL on a bad escape or a NUL. */
char *emu_url_decode(const char *s, size_t len, bool plus_is_space);
/* Percent-encodes everything but RFC 3986 unreserved characters. Caller frees. */
char *emu_url_encode(const char *s);
/* Escapes & < > " ' for HTML text and attribute values. Caller frees. */
char *emu_html_escape(const char *s);

/* Base64 (standard alphabet with padding) of len bytes. Caller frees. */
char *emu_b64_encode(const unsigned char *in, size_t len);
/* Base64url without padding. Caller frees. */
char *emu_b64url_encode(const unsigned char *in, size_t len);
/*
 * Decodes base64 (url=false: '+' '/', url=true: '-' '_'); trailing '='
 * padding is optional; any other character is an error. Returns a malloc'd
 * buffer (NUL-terminated for convenience, *out_len excludes it) or NULL.
 */
unsigned char *emu_b64_decode(const char *in, size_t len, bool url, size_t *out_len);

/* ---- JWT (emu_oauth_jwt.c) ---- */

/* Largest assertion accepted; Salesforce assertions are well under 2 KiB. */
#define EMU_JWT_MAX 16384

typedef struct emu_jwt {
    json_t *header;          /* decoded JOSE header object (owned) */
    json_t *claims;          /* decoded claims object (owned) */
    const char *signed_part; /* "header.payload", points into the caller's text */
    size_t signed_len;
    unsigned char *sig; /* decoded signature (owned) */
    size_t sig_len;
} emu_jwt_t;

/* Splits and decodes a compact JWS. 0 on success; -1 with a reason in err (never secret). */
int emu_jwt_parse(const char *text, size_t len, emu_jwt_t *jwt, char *err, size_t err_size);
void emu_jwt_clear(emu_jwt_t *jwt);
/* 0 when the header says alg RS256 and the signature verifies with pkey; -1 otherwise. */
int emu_jwt_verify_rs256(const emu_jwt_t *jwt, EVP_PKEY *pkey, char *err, size_t err_size);
/*
 * Reads a NumericDate claim that may be a JSON number or a decimal string
 * (Salesforce's own example sends exp as a string). 0 and *out on success,
 * -1 when absent or malformed.
 */
int emu_jwt_claim_time(const json_t *claims, const char *name, int64_t *out);

/* ---- configuration (emu_oauth.c) ---- */

typedef struct emu_user {
    char id[19];
    char *username, *password, *security_token;
    char *first_name, *last_name, *display_name, *email;
    char *user_type, *language, *locale, *timezone, *last_modified_date;
    long long utc_offset; /* milliseconds, as the identity service reports it */
    bool active;
} emu_user_t;

typedef struct emu_app {
    char *name, *client_id, *client_secret;
    char **redirect_uris;
    size_t n_redirect_uris;
    char *scopes;  /* space-separated scopes the app may grant */
    long run_as;   /* user index for client_credentials, -1 when not enabled */
    bool *preauth; /* per user: admin pre-authorised (JWT flow) */
    bool require_secret_for_web_server;
    bool auto_approve;
    bool rotate_refresh_tokens;
    EVP_PKEY *pkey; /* public key of the digital-signature certificate, or NULL */
} emu_app_t;

/* ---- session table (emu_oauth_session.c) ---- */

typedef enum { EMU_TOK_ACCESS, EMU_TOK_REFRESH, EMU_TOK_CODE } emu_tok_kind_t;

typedef struct emu_tok {
    struct emu_tok *hnext;         /* hash chain */
    struct emu_tok *older, *newer; /* age list: oldest first, for eviction */
    emu_tok_kind_t kind;
    char *token;
    size_t user, app;
    char *scope;
    int64_t issued_ms;
    time_t expires;  /* absolute, seconds */
    uint64_t family; /* refresh-token family: revoking the refresh token revokes these */
    /* authorization codes only */
    char *redirect_uri;
    char *code_challenge; /* NULL when the authorize request had none */
} emu_tok_t;

#define EMU_TOK_BUCKETS 16384

struct emu_oauth {
    char org_id[19], org_id15[16];
    char *org_name, *org_language, *org_locale, *org_timezone;
    char *base_url;
    char **login_urls; /* accepted JWT audiences (base_url is always accepted too) */
    size_t n_login_urls;
    emu_user_t *users;
    size_t n_users;
    emu_app_t *apps;
    size_t n_apps;

    /* Everything below is guarded by mu. */
    pthread_mutex_t mu;
    int token_ttl;
    bool *approved; /* [app * n_users + user]: the user approved the app on the authorize page */
    emu_tok_t *buckets[EMU_TOK_BUCKETS];
    emu_tok_t *oldest, *newest;
    size_t n_tok;
    uint64_t next_family;
};

/* Random url-safe string of 8*nbytes/6 characters. Caller frees; NULL on RNG failure. */
char *emu_oauth_random(size_t nbytes);
int64_t emu_oauth_now_ms(void);

/* All emu_tok_* calls require o->mu held. */
/* Inserts (takes ownership), sweeping and evicting to stay under EMU_OAUTH_MAX_SESSIONS. */
void emu_tok_insert(emu_oauth_t *o, emu_tok_t *t);
/* Live entry of that kind, or NULL; an expired one found on the way is removed. */
emu_tok_t *emu_tok_find(emu_oauth_t *o, const char *token, emu_tok_kind_t kind);
void emu_tok_remove(emu_oauth_t *o, emu_tok_t *t);
/* Takes the entry out of the table without freeing it (the caller then owns it). */
void emu_tok_unlink(emu_oauth_t *o, emu_tok_t *t);
/* Removes every entry of a family (refresh token and its access tokens). */
void emu_tok_remove_family(emu_oauth_t *o, uint64_t family);
/* Removes every access token. */
void emu_tok_remove_kind(emu_oauth_t *o, emu_tok_kind_t kind);
void emu_tok_free(emu_tok_t *t);
void emu_tok_destroy_all(emu_oauth_t *o);

/* ---- shared by the handlers (emu_oauth.c) ---- */

long emu_oauth_find_app(const emu_oauth_t *o, const char *client_id);
long emu_oauth_find_user(const emu_oauth_t *o, const char *username);
/* Replies {"error":..,"error_description":..} with `status`. */
void emu_oauth_reply_error(emu_reply_t *out, int status, const char *error, const char *desc);
/* Replies a text/plain body. */
void emu_oauth_reply_text(emu_reply_t *out, int status, const char *text);
/* Identity URL base_url/id/ORG/USER into a new string. */
char *emu_oauth_identity_url(const emu_oauth_t *o, const emu_user_t *u);
/* Parses "Bearer X" / "OAuth X" into a pointer to X inside header; NULL when not one. */
const char *emu_oauth_bearer_value(const char *header);
/* Constant-time string equality (secrets). */
bool emu_oauth_secret_eq(const char *a, const char *b);
/* Live access token -> copies user index and app index; -1 when not live. */
int emu_oauth_lookup_access(emu_oauth_t *o, const char *token, size_t *user, size_t *app);
/* Issues an authorization code (authorize page). Returns the code (caller frees) or NULL. */
char *emu_oauth_issue_code(emu_oauth_t *o, size_t app, size_t user, const char *redirect_uri,
                           const char *code_challenge, const char *scope);
/*
 * Client id and secret from "Authorization: Basic" (RFC 6749 2.3.1: each part
 * form-encoded) when that header is Basic, else from the form's client_id and
 * client_secret. *id and *secret are new strings or NULL. -1 when a Basic
 * header is present but malformed.
 */
int emu_oauth_client_of(const char *authorization_header, const emu_form_t *form, char **id,
                        char **secret);
/* True when the space-separated list `scopes` holds `want` as a whole word. */
bool emu_oauth_has_scope(const char *scopes, const char *want);
/* Granted scope for a request: requested ones the app allows, or all the app's. Caller frees. */
char *emu_oauth_grant_scope(const emu_app_t *a, const char *requested);

#endif
