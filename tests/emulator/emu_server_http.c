/*
 * emu_server_http.c - the HTTP side of sfemu on libmicrohttpd: a thread pool
 * over epoll, keep-alive, bounded request bodies (413 past the bound), gzip
 * request bodies (Content-Encoding: gzip) and gzip responses when the client
 * sends Accept-Encoding: gzip, and the response-level faults (dropped
 * connections, truncated or malformed bodies).
 *
 * Each connection's request state (emu_http_ctx_t) is owned by the MHD
 * worker thread serving it, from the URI-log callback to NOTIFY_COMPLETED.
 */
#define _GNU_SOURCE /* strcasestr */
#include "emu_cometd.h"
#include "emu_int.h"
#include "sfb.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

typedef struct emu_http_ctx {
    char *uri; /* raw request target, as received */
    char *body;
    size_t len, cap;
    bool started;
    bool too_big;
} emu_http_ctx_t;

static void *emu_http_uri_cb(void *cls, const char *uri, struct MHD_Connection *conn)
{
    emu_http_ctx_t *ctx = calloc(1, sizeof(*ctx));
    if (ctx)
        ctx->uri = strdup(uri ? uri : "/");
    return ctx;
}

static void emu_http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                               enum MHD_RequestTerminationCode toe)
{
    emu_http_ctx_t *ctx = *con_cls;
    if (!ctx)
        return;
    free(ctx->uri);
    free(ctx->body);
    free(ctx);
    *con_cls = NULL;
}

static int emu_http_append(emu_http_ctx_t *ctx, const char *data, size_t n, size_t max)
{
    if (ctx->too_big || ctx->len + n > max) {
        ctx->too_big = true;
        return 0;
    }
    if (ctx->len + n + 1 > ctx->cap) {
        size_t cap = ctx->cap ? ctx->cap : 4096;
        while (cap < ctx->len + n + 1)
            cap *= 2;
        char *b = realloc(ctx->body, cap);
        if (!b)
            return -1;
        ctx->body = b;
        ctx->cap = cap;
    }
    memcpy(ctx->body + ctx->len, data, n);
    ctx->len += n;
    ctx->body[ctx->len] = '\0';
    return 0;
}

/* Inflates a gzip body; returns 0, -1 on corrupt data, -2 past the bound. */
static int emu_gunzip(const char *in, size_t in_len, size_t max, char **out, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 15 + 32) != Z_OK)
        return -1;
    size_t cap = in_len * 4 + 1024, len = 0;
    char *buf = malloc(cap + 1);
    int rc = -1;
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)in_len;
    for (;;) {
        if (!buf)
            goto done;
        if (len == cap) {
            if (cap >= max) {
                rc = -2;
                goto done;
            }
            cap = cap * 2 > max ? max : cap * 2;
            char *b = realloc(buf, cap + 1);
            if (!b)
                goto done;
            buf = b;
        }
        zs.next_out = (Bytef *)buf + len;
        zs.avail_out = (uInt)(cap - len);
        int z = inflate(&zs, Z_NO_FLUSH);
        len = cap - zs.avail_out;
        if (z == Z_STREAM_END)
            break;
        if (z != Z_OK && !(z == Z_BUF_ERROR && zs.avail_out == 0))
            goto done;
        if (z == Z_OK && zs.avail_in == 0 && zs.avail_out != 0)
            goto done; /* truncated stream */
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    buf = NULL;
    rc = 0;
done:
    inflateEnd(&zs);
    free(buf);
    return rc;
}

static int emu_gzip(const char *in, size_t in_len, char **out, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    size_t cap = deflateBound(&zs, (uLong)in_len);
    char *buf = malloc(cap);
    if (!buf) {
        deflateEnd(&zs);
        return -1;
    }
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)in_len;
    zs.next_out = (Bytef *)buf;
    zs.avail_out = (uInt)cap;
    int z = deflate(&zs, Z_FINISH);
    *out_len = cap - zs.avail_out;
    deflateEnd(&zs);
    if (z != Z_STREAM_END) {
        free(buf);
        return -1;
    }
    *out = buf;
    return 0;
}

static void emu_http_date(time_t t, char *out, size_t out_size)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, out_size, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static bool emu_header_has_token(const char *value, const char *token)
{
    if (!value)
        return false;
    size_t n = strlen(token);
    for (const char *p = value; (p = strcasestr(p, token)) != NULL; p += n) {
        bool start = p == value || p[-1] == ' ' || p[-1] == ',';
        bool end = p[n] == '\0' || p[n] == ',' || p[n] == ';' || p[n] == ' ';
        if (start && end)
            return true;
    }
    return false;
}

static enum MHD_Result emu_http_send(emu_t *emu, struct MHD_Connection *conn, emu_resp_t *resp,
                                     bool gzip_ok)
{
    char *body = NULL;
    size_t len = 0;
    const char *ctype = EMU_JSON_CT;
    bool no_body = resp->status == 204 || resp->status == 304;
    if (!no_body) {
        if (resp->json) {
            body = json_dumps(resp->json, JSON_COMPACT | JSON_ENCODE_ANY);
            len = body ? strlen(body) : 0;
        } else if (resp->text) {
            body = strdup(resp->text);
            len = body ? strlen(body) : 0;
            ctype = resp->content_type ? resp->content_type : "text/plain;charset=UTF-8";
        }
    }
    if (resp->body_fault == EMU_BODY_TRUNCATE && body) {
        len /= 2; /* cut mid-document: what a connection reset mid-body leaves */
    } else if (resp->body_fault == EMU_BODY_MALFORMED) {
        free(body);
        body = strdup("<html><head><title>502 Bad Gateway</title></head><body>upstream error"
                      "</body></html>");
        len = body ? strlen(body) : 0;
    }
    bool gz = false;
    if (gzip_ok && body && len > 0) {
        char *z = NULL;
        size_t zlen = 0;
        if (emu_gzip(body, len, &z, &zlen) == 0) {
            free(body);
            body = z;
            len = zlen;
            gz = true;
        }
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, body ? body : (void *)"", body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    if (!no_body && (body || resp->json))
        MHD_add_response_header(r, "Content-Type", ctype);
    if (gz)
        MHD_add_response_header(r, "Content-Encoding", "gzip");
    MHD_add_response_header(r, "Vary", "Accept-Encoding");
    if (resp->location)
        MHD_add_response_header(r, "Location", resp->location);
    if (resp->last_modified) {
        char date[64];
        emu_http_date(resp->last_modified, date, sizeof(date));
        MHD_add_response_header(r, "Last-Modified", date);
    }
    if (resp->limit_info) {
        char info[96];
        emu_limits_header(emu, info, sizeof(info));
        MHD_add_response_header(r, "Sforce-Limit-Info", info);
    }
    if (resp->status >= 400)
        MHD_add_response_header(r, "Cache-Control",
                                "no-cache,must-revalidate,max-age=0,no-store,private");
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result emu_http_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                        const char *method, const char *version,
                                        const char *upload_data, size_t *upload_data_size,
                                        void **con_cls)
{
    emu_t *emu = cls;
    emu_http_ctx_t *ctx = *con_cls;
    if (!ctx)
        return MHD_NO;
    if (!ctx->started) {
        ctx->started = true;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (emu_http_append(ctx, upload_data, *upload_data_size, emu->opt.max_body) != 0)
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }

    emu_resp_t resp = {0};
    enum MHD_Result ret;
    char *path = NULL, *inflated = NULL;
    const char *accept_enc = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept-Encoding");
    bool gzip_ok = emu_header_has_token(accept_enc, "gzip");
    if (ctx->too_big) {
        emu_resp_error(&resp, 413, "REQUEST_ENTITY_TOO_LARGE", NULL,
                       "Maximum Request Size Exceeded");
        goto send;
    }
    const char *body = ctx->body ? ctx->body : "";
    size_t body_len = ctx->len;
    const char *cenc = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Encoding");
    if (cenc && body_len > 0 && emu_header_has_token(cenc, "gzip")) {
        int z = emu_gunzip(body, body_len, emu->opt.max_body, &inflated, &body_len);
        if (z == -2) {
            emu_resp_error(&resp, 413, "REQUEST_ENTITY_TOO_LARGE", NULL,
                           "Maximum Request Size Exceeded");
            goto send;
        }
        if (z != 0) {
            emu_resp_error(&resp, 400, "JSON_PARSER_ERROR", NULL,
                           "The request body could not be decompressed (Content-Encoding: gzip)");
            goto send;
        }
        body = inflated;
    }
    const char *q = strchr(ctx->uri, '?');
    size_t plen = q ? (size_t)(q - ctx->uri) : strlen(ctx->uri);
    path = strndup(ctx->uri, plen);
    if (!path)
        return MHD_NO;
    emu_route_url_decode(path, false);
    emu_req_t req = {
        .method = method,
        .path = path,
        .query = q ? q + 1 : "",
        .body = body,
        .body_len = body_len,
        .authorization = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization"),
        .if_modified_since =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "If-Modified-Since"),
        .query_options = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Sforce-Query-Options"),
    };
    emu_route(emu, &req, &resp);
    /* The path only: query strings and headers may carry secrets. */
    SFB_DEBUG("emu", "%s %s -> %d%s", method, path, resp.status, resp.drop ? " (dropped)" : "");
send:
    if (resp.drop)
        ret = MHD_NO; /* MHD closes the socket without a response */
    else
        ret = emu_http_send(emu, conn, &resp, gzip_ok);
    emu_resp_clear(&resp);
    free(path);
    free(inflated);
    return ret;
}

static int emu_listen_socket(emu_t *emu, char *err, size_t err_size)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)emu->opt.port)};
    if (inet_pton(AF_INET, emu->opt.bind, &sa.sin_addr) != 1) {
        snprintf(err, err_size, "bad bind address %s (IPv4 expected)", emu->opt.bind);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, err_size, "socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 512) != 0) {
        snprintf(err, err_size, "bind %s:%d: %s", emu->opt.bind, emu->opt.port, strerror(errno));
        close(fd);
        return -1;
    }
    socklen_t slen = sizeof(sa);
    getsockname(fd, (struct sockaddr *)&sa, &slen);
    emu->port = ntohs(sa.sin_port);
    return fd;
}

int emu_server_offline(emu_t *emu, char *err, size_t err_size)
{
    if (!emu->base_url[0])
        snprintf(emu->base_url, sizeof(emu->base_url), "http://%s:0", emu->opt.bind);
#ifdef EMU_HAVE_OAUTH
    if (!emu->oauth)
        emu->oauth =
            emu_oauth_create(emu->org_json, emu->base_url, emu->opt.token_ttl, err, err_size);
    if (!emu->oauth)
        return -1;
#endif
    return 0;
}

int emu_server_start(emu_t *emu, char *err, size_t err_size)
{
    if (emu->mhd) {
        snprintf(err, err_size, "already started");
        return -1;
    }
    /* Bind first: the OAuth module needs our URL (instance_url, issuer)
     * before the first request can arrive. */
    int fd = emu_listen_socket(emu, err, err_size);
    if (fd < 0)
        return -1;
    snprintf(emu->base_url, sizeof(emu->base_url), "%s://%s:%d",
             emu->tls_cert_pem ? "https" : "http", emu->opt.bind, emu->port);
    if (emu_server_offline(emu, err, err_size) != 0) {
        close(fd);
        return -1;
    }
    /* One thread per connection: a /meta/connect held for up to 110 s blocks
     * only its own connection (with a pool, every connection sharing the
     * worker would wait behind it). Keep-alive connections keep their thread,
     * so a client pays the thread start once per connection. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION;
    if (emu->tls_cert_pem)
        flags |= MHD_USE_TLS;
    struct MHD_OptionItem opts[] = {
        {MHD_OPTION_LISTEN_SOCKET, fd, NULL},
        {MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)emu_http_uri_cb, emu},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)emu_http_completed, emu},
        {MHD_OPTION_CONNECTION_TIMEOUT, 120, NULL},
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, 64 * 1024, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, 1000, NULL},
        {emu->tls_cert_pem ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, emu->tls_cert_pem},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, emu->tls_key_pem},
        {MHD_OPTION_END, 0, NULL},
    };
    struct MHD_Daemon *d = MHD_start_daemon(flags, 0, NULL, NULL, emu_http_handler, emu,
                                            MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    if (!d) {
        snprintf(err, err_size, "libmicrohttpd could not start on %s%s", emu->base_url,
                 emu->tls_cert_pem ? " (check the TLS certificate and key)" : "");
        close(fd);
        return -1;
    }
    emu->mhd = d;
    SFB_INFO("emu", "listening on %s", emu->base_url);
    return 0;
}

void emu_server_stop(emu_t *emu)
{
    if (!emu->mhd)
        return;
    emu_cometd_shutdown(emu->cometd); /* held connects answer now, or the stop would wait */
    MHD_stop_daemon(emu->mhd);        /* closes the listen socket, joins the workers */
    emu->mhd = NULL;
}
