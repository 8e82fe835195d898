/*
 * emu_oauth.h - sfemu's OAuth 2.0 authorization server and identity service:
 * the token endpoint (password, client_credentials, refresh_token,
 * authorization_code with PKCE S256, JWT bearer with RS256), the authorize
 * page, revoke, introspect, userinfo, the identity URL, the OpenID discovery
 * document, and the table of live sessions that every API resource checks.
 *
 * The module does no I/O: the CORE HTTP layer hands each handler the raw
 * request pieces (form body, query string, Authorization header) and sends
 * the emu_reply_t it gets back. Shapes, status codes and error strings follow
 * ../shared/reference/salesforce-wire.md (beside the repository), section 1.
 *
 * The org, its users and its connected apps come from data/org.json.
 * Configuration is read once by emu_oauth_create and is immutable afterwards;
 * only the session table (and who approved which app) changes. Keys:
 *
 *   "org": { "id" (18 chars, required), "name", "language", "locale", "timezone",
 *            "login_urls": [JWT audiences; default login. and test.salesforce.com;
 *                           base_url is always accepted too] }
 *   "users": [ { "id" (18 chars), "username", "password" (required),
 *                "security_token" (appended to the password in the password grant;
 *                the authorize page takes the password alone or with it),
 *                "first_name", "last_name", "display_name", "email", "user_type",
 *                "language", "locale", "timezone", "utc_offset" (ms), "active" (true),
 *                "last_modified_date" } ]
 *   "connected_apps": [ { "name", "client_id", "client_secret" (required),
 *                "redirect_uris": [exact callback URLs], "scopes": "api refresh_token ...",
 *                "run_as": username for client_credentials (absent = grant disabled),
 *                "pre_authorized_users": [usernames the JWT grant accepts without an
 *                                         approval on the authorize page],
 *                "require_secret_for_web_server" (true), "auto_approve" (false: GET
 *                authorize with a known login_hint redirects at once when true),
 *                "rotate_refresh_tokens" (false), "certificate": PEM X.509 (RSA) for
 *                the JWT grant } ]
 *
 * Thread safety: every function may be called from any thread at the same
 * time (libmicrohttpd calls handlers from many threads); one mutex guards
 * the session table.
 */
#ifndef EMU_OAUTH_H
#define EMU_OAUTH_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

typedef struct emu_oauth emu_oauth_t;

/* A response for the CORE to send. Zero-initialise before a handler fills it. */
typedef struct emu_reply {
    int status;
    json_t *json; /* body as JSON (owned), or NULL */
    char *text;   /* body as text/html (owned), or NULL; NULL with json NULL = empty */
    const char
        *content_type; /* for `text` (static string); JSON is application/json;charset=UTF-8 */
    char *location;    /* Location header for redirects (owned), or NULL */
} emu_reply_t;

/* Frees what the reply owns and zeroes it; NULL-safe. */
void emu_reply_clear(emu_reply_t *r);

/* Default lifetime of access tokens when token_ttl_seconds <= 0 (Salesforce's default: 2 hours). */
#define EMU_OAUTH_DEFAULT_TTL 7200
/* Most sessions (access + refresh tokens + authorization codes) kept at once; beyond it expired
 * entries are swept and then the oldest entry is evicted, so the table never grows unbounded. */
#define EMU_OAUTH_MAX_SESSIONS 65536
/* Largest form body or query string the handlers accept; larger ones get 400 invalid_request. */
#define EMU_OAUTH_MAX_FORM 65536

/*
 * org_json: parsed data/org.json (borrowed; what is needed is copied).
 * base_url: the emulator's own URL ("http://127.0.0.1:PORT"), used for
 * instance_url, id URLs, the issuer and as an accepted JWT audience.
 * Returns NULL and a sentence in err on an invalid configuration.
 * Destroy with emu_oauth_destroy.
 */
emu_oauth_t *emu_oauth_create(const json_t *org_json, const char *base_url, int token_ttl_seconds,
                              char *err, size_t err_size);
void emu_oauth_destroy(emu_oauth_t *o);

/* POST /services/oauth2/token. authorization_header may be NULL (client_secret_basic otherwise). */
void emu_oauth_token(emu_oauth_t *o, const char *body, size_t body_len,
                     const char *authorization_header, emu_reply_t *out);
/* GET or POST /services/oauth2/authorize: the login/approve page and its form post. */
void emu_oauth_authorize(emu_oauth_t *o, const char *method, const char *query_string,
                         const char *body, size_t body_len, emu_reply_t *out);
/* GET or POST /services/oauth2/revoke (token in the query or the form body). */
void emu_oauth_revoke(emu_oauth_t *o, const char *method, const char *query_string,
                      const char *body, size_t body_len, emu_reply_t *out);
/* POST /services/oauth2/introspect (client authenticated in the body or with Basic). */
void emu_oauth_introspect(emu_oauth_t *o, const char *body, size_t body_len,
                          const char *authorization_header, emu_reply_t *out);
/* GET /services/oauth2/userinfo (Bearer). */
void emu_oauth_userinfo(emu_oauth_t *o, const char *authorization_header, emu_reply_t *out);
/* GET /id/ORG/USER (Bearer); path is the URL path, ids 15 or 18 characters. */
void emu_oauth_identity(emu_oauth_t *o, const char *path, const char *authorization_header,
                        emu_reply_t *out);
/* GET /.well-known/openid-configuration. */
void emu_oauth_openid_configuration(emu_oauth_t *o, emu_reply_t *out);

typedef struct emu_session {
    char user_id[19];
    char username[256];
    char org_id[19];
} emu_session_t;

/*
 * 0 when the Authorization header ("Bearer X" or "OAuth X") holds a live
 * access token, filling *out (may be NULL); -1 otherwise (CORE then answers
 * 401 [{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]).
 */
int emu_oauth_check_bearer(emu_oauth_t *o, const char *authorization_header, emu_session_t *out);
/* Control API: every access token dies now; refresh tokens stay valid so clients can refresh. */
void emu_oauth_expire_all_sessions(emu_oauth_t *o);
/* Lifetime of access tokens issued from now on (existing tokens keep theirs); <= 0 = default. */
void emu_oauth_set_token_ttl(emu_oauth_t *o, int seconds);

/* Added beyond the agreed interface (for tests and the control API's counters). */
/* Number of entries (access, refresh tokens and codes) in the session table. */
size_t emu_oauth_session_count(emu_oauth_t *o);

#endif
