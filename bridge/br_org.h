/*
 * br_org.h - turns the org section of the config into a Salesforce client
 * (connectors/salesforce/sf.h). Every part of the bridge that talks to an org
 * (the sink, the admin CLI, later the source) creates its sf_org_t here, so
 * the mapping from config keys to client settings exists once.
 */
#ifndef BR_ORG_H
#define BR_ORG_H

#include <stddef.h>

#include "br_config.h"
#include "sf.h"

/* Creates the client of `org` (an element of config->orgs). Returns NULL with
 * errstr filled (never a secret) when the client library refuses the
 * settings. Does not contact Salesforce. Destroy with sf_org_destroy(). */
sf_org_t *br_org_create(const br_config_t *config, const br_config_org_t *org, char *errstr,
                        size_t errstr_size);

#endif
