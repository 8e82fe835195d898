/* br_org.c - config org -> sf_org_t (see br_org.h). */
#include "br_org.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sf_org_t *br_org_create(const br_config_t *config, const br_config_org_t *org, char *errstr,
                        size_t errstr_size)
{
    const br_config_auth_t *auth = &org->auth;
    sf_org_config_t sc;
    char *password = NULL;
    sf_org_t *sf = NULL;

    memset(&sc, 0, sizeof(sc));
    sc.name = org->name;
    sc.login_url = org->login_url;
    sc.api_version = org->api_version;
    sc.tls_verify = org->tls_verify;
    sc.ca_file = org->ca_file;
    sc.client_id = auth->client_id;
    sc.client_secret = auth->client_secret.value;
    sc.username = auth->username;
    sc.private_key = auth->private_key.value;
    sc.audience = auth->audience;
    sc.refresh_token = auth->refresh_token.value;
    sc.timeout_ms = org->timeout_ms;
    sc.max_body_bytes = org->max_response_bytes > 0 ? (size_t)org->max_response_bytes : 0;
    if (config->token_store.path) {
        sc.token_store_path = config->token_store.path;
        sc.token_store_key = config->token_store.key_set ? config->token_store.key_bytes : NULL;
    }

    switch (auth->flow) {
    case BR_AUTH_JWT:
        sc.flow = SF_FLOW_JWT;
        break;
    case BR_AUTH_CLIENT_CREDENTIALS:
        sc.flow = SF_FLOW_CLIENT_CREDENTIALS;
        break;
    case BR_AUTH_REFRESH_TOKEN:
    case BR_AUTH_WEB_SERVER:
        /* A person logged in once with `sfbridge login`; the daemon lives on
         * the refresh token that login stored. */
        sc.flow = SF_FLOW_REFRESH_TOKEN;
        break;
    case BR_AUTH_PASSWORD: {
        sc.flow = SF_FLOW_PASSWORD;
        /* Salesforce wants the security token appended to the password. */
        const char *pw = auth->password.value ? auth->password.value : "";
        const char *tok = auth->security_token.value ? auth->security_token.value : "";
        size_t len = strlen(pw) + strlen(tok) + 1;
        password = malloc(len);
        if (!password) {
            snprintf(errstr, errstr_size, "org %s: out of memory", org->name);
            goto done;
        }
        snprintf(password, len, "%s%s", pw, tok);
        sc.password = password;
        break;
    }
    default:
        snprintf(errstr, errstr_size, "org %s: unknown auth flow", org->name);
        goto done;
    }
    sf = sf_org_create(&sc, errstr, errstr_size);

done:
    if (password) {
        /* sf_org_create copied it; wipe ours. */
        volatile char *p = password;
        while (*p)
            *p++ = '\0';
        free(password);
    }
    return sf;
}
