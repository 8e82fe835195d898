/*
 * emu.h - sfemu, an offline Salesforce org, as a library.
 *
 * The `sfemu` executable is a thin main() over this API; tests create an
 * emulator in-process, start it on an ephemeral loopback port and talk to it
 * over real HTTP:
 *
 *     emu_options_t opt = {0};            // port 0: pick a free port
 *     char err[256];
 *     emu_t *emu = emu_create(&opt, err, sizeof(err));
 *     if (!emu || emu_start(emu, err, sizeof(err)) != 0) ...
 *     const char *base = emu_base_url(emu);   // "http://127.0.0.1:PORT"
 *     ...
 *     emu_destroy(emu);
 *
 * Thread safety: emu_create/emu_start/emu_destroy are called by one thread;
 * once started, the server answers requests on its own thread pool and every
 * other function here may be called from any thread.
 */
#ifndef EMU_H
#define EMU_H

#include <stdbool.h>
#include <stddef.h>

typedef struct emu emu_t;

typedef struct emu_options {
    int port;             /* TCP port; 0 picks a free one (read it with emu_port()) */
    const char *bind;     /* listen address, default "127.0.0.1" */
    const char *data;     /* data directory (schema.json, org.json, optional records.json) or one
                             JSON file with any of the sections "sobjects", "org", "users",
                             "connected_apps", "records"; NULL = the data shipped with sfemu */
    const char *tls_cert; /* PEM certificate file; with tls_key serves https */
    const char *tls_key;  /* PEM private key file */
    int token_ttl;        /* access-token lifetime in seconds, 0 = 7200 */
    long api_limit;       /* DailyApiRequests allocation, 0 = 15000 */
    int threads;          /* unused: the server runs a thread per connection (STREAMING.md) */
    size_t max_body;      /* request body bound in bytes, 0 = 32 MiB (larger gets 413) */
    /* Streaming API (STREAMING.md) */
    int cometd_timeout_ms;       /* how long /meta/connect is held, 0 = 110000 */
    int cometd_client_expiry_ms; /* a client silent this long expires, 0 = 40000 */
    long event_retention_hours;  /* retention of events, 0 = 72 */
    long event_max_per_channel;  /* events kept per channel, 0 = 50000 */
} emu_options_t;

/* Loads the schema, org and records. Returns NULL and fills err on failure. */
emu_t *emu_create(const emu_options_t *opt, char *err, size_t err_size);

/* Binds the port and starts serving. Returns 0, or -1 with err filled. */
int emu_start(emu_t *emu, char *err, size_t err_size);

/* The port bound by emu_start (useful with port 0), 0 before. */
int emu_port(const emu_t *emu);

/* "http://127.0.0.1:PORT" (https with TLS); valid after emu_start until emu_destroy. */
const char *emu_base_url(const emu_t *emu);

/* Applies a control-API JSON body as POST /__sfemu/<what> would ("faults", "records",
 * "limits", "reset", ...), for command-line flags. Returns 0, or -1 with err filled. */
int emu_control_apply(emu_t *emu, const char *what, const char *json_body, char *err,
                      size_t err_size);

/* Stops the server (waits for in-flight requests) and frees everything. NULL-safe. */
void emu_destroy(emu_t *emu);

#endif
