/*
 * emu_server.c - the emulator's lifecycle: loading the data (schema, org,
 * records), creating the OAuth module once the URL is known, and teardown.
 * The HTTP side lives in emu_server_http.c.
 */
#include "emu_cometd.h"
#include "emu_int.h"
#include "sfb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static json_t *emu_load_json(const char *path, bool required, time_t *mtime, char *err,
                             size_t err_size)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        if (required)
            snprintf(err, err_size, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (mtime)
        *mtime = st.st_mtime;
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root)
        snprintf(err, err_size, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
    return root;
}

static const char *emu_first_str(const json_t *obj, const char *a, const char *b)
{
    const char *s = json_string_value(json_object_get(obj, a));
    return s ? s : json_string_value(json_object_get(obj, b));
}

/* The org's users (data/org.json "users") become User records so SOQL and
 * CreatedById references find them. Keys are read in either snake_case or
 * Salesforce's field spelling. */
void emu_server_load_users(emu_t *emu)
{
    const emu_sobject_t *user_so = emu_schema_find(emu->schema, "User");
    json_t *users = json_object_get(emu->org_json, "users");
    const char *org_id = emu_first_str(json_object_get(emu->org_json, "org"), "id", "Id");
    char id[19];
    if (org_id && emu_id_normalize(org_id, id) == 0)
        memcpy(emu->org_id, id, 19);
    size_t i;
    json_t *u;
    json_array_foreach(users, i, u)
    {
        const char *uid = emu_first_str(u, "id", "Id");
        if (!uid || emu_id_normalize(uid, id) != 0)
            continue;
        if (i == 0)
            memcpy(emu->default_user_id, id, 19);
        if (!user_so)
            continue;
        static const char *const map[][3] = {
            {"username", "Username", "Username"},
            {"email", "Email", "Email"},
            {"first_name", "FirstName", "FirstName"},
            {"last_name", "LastName", "LastName"},
            {"alias", "Alias", "Alias"},
            {"timezone", "TimeZoneSidKey", "TimeZoneSidKey"},
            {"locale", "LocaleSidKey", "LocaleSidKey"},
            {"language", "LanguageLocaleKey", "LanguageLocaleKey"},
        };
        json_t *rec = json_pack("{s:s}", "Id", id);
        for (size_t k = 0; k < sizeof(map) / sizeof(map[0]); k++) {
            const char *v = emu_first_str(u, map[k][0], map[k][1]);
            if (v && emu_schema_field(user_so, map[k][2]))
                json_object_set_new(rec, map[k][2], json_string(v));
        }
        const char *uname = json_string_value(json_object_get(rec, "Username"));
        if (!json_object_get(rec, "LastName"))
            json_object_set_new(rec, "LastName", json_string(uname ? uname : "User"));
        if (!json_object_get(rec, "Email") && uname && strchr(uname, '@'))
            json_object_set_new(rec, "Email", json_string(uname));
        if (!json_object_get(rec, "Alias"))
            json_object_set_new(rec, "Alias", json_string("user"));
        static const char *const dflt[][2] = {{"TimeZoneSidKey", "GMT"},
                                              {"LocaleSidKey", "en_US"},
                                              {"LanguageLocaleKey", "en_US"},
                                              {"EmailEncodingKey", "UTF-8"}};
        for (size_t k = 0; k < sizeof(dflt) / sizeof(dflt[0]); k++)
            if (!json_object_get(rec, dflt[k][0]) && emu_schema_field(user_so, dflt[k][0]))
                json_object_set_new(rec, dflt[k][0], json_string(dflt[k][1]));
        json_t *errors = json_array();
        char out[19];
        emu_dml_ctx_t ctx = {.emu = emu, .trusted = true};
        if (emu_dml_create(&ctx, user_so, rec, out, errors) != 0) {
            char *text = json_dumps(errors, JSON_COMPACT);
            SFB_WARN("emu", "user %s not loaded as a User record: %s", id, text ? text : "");
            free(text);
        }
        json_decref(errors);
        json_decref(rec);
    }
}

static int emu_load_data(emu_t *emu, char *err, size_t err_size)
{
    int rc = -1;
    json_t *schema_root = NULL, *single = NULL;
    time_t mtime = 0;
    char path[4096];
    struct stat st;
    const char *data = emu->data_path;
    bool is_dir = stat(data, &st) == 0 && S_ISDIR(st.st_mode);
    const char *dir = is_dir ? data : EMU_DATA_DIR;
    if (!is_dir) {
        single = emu_load_json(data, true, &mtime, err, err_size);
        if (!single)
            goto done;
        if (!json_is_object(single)) {
            snprintf(err, err_size, "%s: must hold a JSON object", data);
            goto done;
        }
    }
    if (single && json_object_get(single, "sobjects")) {
        schema_root = json_incref(single);
    } else {
        snprintf(path, sizeof(path), "%s/schema.json", dir);
        schema_root = emu_load_json(path, true, &mtime, err, err_size);
        if (!schema_root)
            goto done;
    }
    emu->schema = emu_schema_create(schema_root, mtime, err, err_size);
    if (!emu->schema)
        goto done;
    if (single && (json_object_get(single, "org") || json_object_get(single, "users"))) {
        emu->org_json = json_incref(single);
    } else {
        snprintf(path, sizeof(path), "%s/org.json", dir);
        err[0] = '\0';
        emu->org_json = emu_load_json(path, false, NULL, err, err_size);
        if (!emu->org_json && err[0])
            goto done;
        if (!emu->org_json)
            emu->org_json = json_object();
    }
    if (single) {
        emu->initial_records = json_incref(json_object_get(single, "records"));
    } else {
        snprintf(path, sizeof(path), "%s/records.json", dir);
        err[0] = '\0';
        emu->initial_records = emu_load_json(path, false, NULL, err, err_size);
        if (!emu->initial_records && err[0])
            goto done;
    }
    emu->store = emu_store_create(emu->schema);
    if (!emu->store) {
        snprintf(err, err_size, "out of memory");
        goto done;
    }
    emu_store_wrlock(emu->store);
    emu_server_load_users(emu);
    emu_store_unlock(emu->store);
    if (emu->initial_records &&
        emu_control_load_records(emu, emu->initial_records, NULL, err, err_size) != 0)
        goto done;
    rc = 0;
done:
    json_decref(schema_root);
    json_decref(single);
    return rc;
}

static char *emu_read_file(const char *path, char *err, size_t err_size)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    if (!f) {
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
        return NULL;
    }
    buf = calloc(1, 1 << 20);
    if (buf && fread(buf, 1, (1 << 20) - 1, f) == 0) {
        snprintf(err, err_size, "%s: empty", path);
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

emu_t *emu_create(const emu_options_t *opt, char *err, size_t err_size)
{
    emu_t *emu = calloc(1, sizeof(*emu));
    if (!emu) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    emu->opt = *opt;
    if (!emu->opt.bind)
        emu->opt.bind = "127.0.0.1";
    if (emu->opt.token_ttl <= 0)
        emu->opt.token_ttl = 7200;
    if (emu->opt.api_limit <= 0)
        emu->opt.api_limit = 15000;
    if (emu->opt.threads <= 0)
        emu->opt.threads = 8;
    if (emu->opt.max_body == 0)
        emu->opt.max_body = 32u << 20;
    emu->opt.data = NULL;
    emu->opt.tls_cert = emu->opt.tls_key = NULL;
    emu->data_path = strdup(opt->data ? opt->data : EMU_DATA_DIR);
    pthread_mutex_init(&emu->lock, NULL);
    emu->calls_by_resource = json_object();
    emu->locators = json_object();
    emu->locator_order = json_array();
    emu->faults = emu_faults_create();
    emu->bus = emu_bus_create(
        emu->opt.event_retention_hours,
        emu->opt.event_max_per_channel > 0 ? (size_t)emu->opt.event_max_per_channel : 0);
    emu->cometd = emu->bus ? emu_cometd_create(emu->bus, emu->opt.cometd_timeout_ms,
                                               emu->opt.cometd_client_expiry_ms)
                           : NULL;
    emu_limits_init(emu);
    if ((opt->tls_cert != NULL) != (opt->tls_key != NULL)) {
        snprintf(err, err_size, "--tls-cert and --tls-key go together");
        goto fail;
    }
    if (opt->tls_cert) {
        emu->tls_cert_pem = emu_read_file(opt->tls_cert, err, err_size);
        emu->tls_key_pem = emu->tls_cert_pem ? emu_read_file(opt->tls_key, err, err_size) : NULL;
        if (!emu->tls_key_pem)
            goto fail;
    }
    if (emu_load_data(emu, err, err_size) != 0)
        goto fail;
    emu->cdc_off = calloc(emu->schema->nsobjects ? emu->schema->nsobjects : 1, sizeof(bool));
    return emu;
fail:
    emu_destroy(emu);
    return NULL;
}

int emu_start(emu_t *emu, char *err, size_t err_size)
{
    return emu_server_start(emu, err, err_size);
}

int emu_port(const emu_t *emu)
{
    return emu ? emu->port : 0;
}

const char *emu_base_url(const emu_t *emu)
{
    return emu ? emu->base_url : "";
}

void emu_destroy(emu_t *emu)
{
    if (!emu)
        return;
    emu_server_stop(emu);
#ifdef EMU_HAVE_OAUTH
    emu_oauth_destroy(emu->oauth);
#endif
    emu_store_destroy(emu->store);
    emu_schema_destroy(emu->schema);
    emu_faults_destroy(emu->faults);
    emu_cometd_destroy(emu->cometd); /* after the server: no request holds a client */
    emu_bus_destroy(emu->bus);
    free(emu->cdc_off);
    json_decref(emu->org_json);
    json_decref(emu->initial_records);
    json_decref(emu->calls_by_resource);
    json_decref(emu->locators);
    json_decref(emu->locator_order);
    pthread_mutex_destroy(&emu->lock);
    free(emu->tls_cert_pem);
    free(emu->tls_key_pem);
    free(emu->data_path);
    free(emu);
}
