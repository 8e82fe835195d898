/*
 * emu_schema.c - object definitions (data/schema.json) and the describe /
 * describeGlobal bodies built from them.
 *
 * schema.json carries the attributes that change behaviour (type, length,
 * nillable, createable, updateable, externalId, unique, defaultedOnCreate,
 * referenceTo, relationshipName); the describe body adds the remaining keys a
 * real org returns with values derived from those, so clients that read a
 * full describe find every key they expect.
 */
#include "emu_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Lower-cases name into out; false when it does not fit (no field is that long). */
static bool emu_lower(const char *name, char *out, size_t out_size)
{
    size_t i = 0;
    for (; name[i]; i++) {
        if (i + 1 >= out_size)
            return false;
        out[i] = (char)((name[i] >= 'A' && name[i] <= 'Z') ? name[i] + 32 : name[i]);
    }
    out[i] = '\0';
    return true;
}

static bool emu_json_bool(const json_t *obj, const char *key, bool def)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_boolean(v) ? json_is_true(v) : def;
}

static const char *emu_soap_type(const char *type)
{
    static const struct {
        const char *type, *soap;
    } map[] = {
        {"id", "tns:ID"},          {"reference", "tns:ID"},  {"boolean", "xsd:boolean"},
        {"int", "xsd:int"},        {"double", "xsd:double"}, {"currency", "xsd:double"},
        {"percent", "xsd:double"}, {"date", "xsd:date"},     {"datetime", "xsd:dateTime"},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(map[i].type, type) == 0)
            return map[i].soap;
    return "xsd:string";
}

static void emu_label_from_name(const char *name, char *out, size_t out_size)
{
    /* "Ext_Id__c" -> "Ext Id"; "AccountId" -> "Account ID" */
    size_t o = 0;
    size_t n = strlen(name);
    if (n > 3 && (strcmp(name + n - 3, "__c") == 0 || strcmp(name + n - 3, "__e") == 0))
        n -= 3;
    for (size_t i = 0; i < n && o + 2 < out_size; i++) {
        char c = name[i];
        if (c == '_') {
            out[o++] = ' ';
            continue;
        }
        if (i > 0 && c >= 'A' && c <= 'Z' && name[i - 1] >= 'a' && name[i - 1] <= 'z')
            out[o++] = ' ';
        out[o++] = c;
    }
    out[o] = '\0';
    if (o >= 3 && strcmp(out + o - 3, " Id") == 0)
        out[o - 1] = 'D';
}

/* One describe field entry with every key a v60-era org returns. */
static json_t *emu_describe_field(const emu_field_t *f)
{
    const json_t *d = f->def;
    char label[128];
    const char *lbl = json_string_value(json_object_get(d, "label"));
    if (!lbl) {
        emu_label_from_name(f->name, label, sizeof(label));
        lbl = label;
    }
    bool is_text = !strcmp(f->type, "string") || !strcmp(f->type, "textarea") ||
                   !strcmp(f->type, "email") || !strcmp(f->type, "phone") ||
                   !strcmp(f->type, "url") || !strcmp(f->type, "picklist") ||
                   !strcmp(f->type, "multipicklist") || !strcmp(f->type, "id") ||
                   !strcmp(f->type, "reference");
    bool is_ref = !strcmp(f->type, "reference");
    bool custom = strstr(f->name, "__c") != NULL;
    json_t *refs = json_object_get(d, "referenceTo");
    json_t *pick = json_object_get(d, "picklistValues");
    json_t *picklist = json_array();
    size_t i;
    json_t *pv;
    json_array_foreach(pick, i, pv)
    {
        const char *v = json_string_value(pv);
        if (v)
            json_array_append_new(picklist,
                                  json_pack("{s:b,s:b,s:s,s:n,s:s}", "active", 1, "defaultValue", 0,
                                            "label", v, "validFor", "value", v));
    }
    json_t *rel = json_object_get(d, "relationshipName");
    json_t *out = json_object();
    json_object_set_new(out, "aggregatable", json_boolean(strcmp(f->type, "textarea") != 0));
    json_object_set_new(out, "aiPredictionField", json_false());
    json_object_set_new(out, "autoNumber", json_boolean(emu_json_bool(d, "autoNumber", false)));
    json_object_set_new(out, "byteLength", json_integer(is_text ? f->length * 3 : 0));
    json_object_set_new(out, "calculated", json_boolean(emu_json_bool(d, "calculated", false)));
    json_object_set_new(out, "calculatedFormula", json_null());
    json_object_set_new(out, "cascadeDelete", json_false());
    json_object_set_new(out, "caseSensitive", json_false());
    json_object_set_new(out, "compoundFieldName", json_null());
    json_object_set_new(out, "controllerName", json_null());
    json_object_set_new(out, "createable", json_boolean(f->createable));
    json_object_set_new(out, "custom", json_boolean(custom));
    json_t *dv = json_object_get(d, "defaultValue");
    json_object_set_new(out, "defaultValue", dv ? json_deep_copy(dv) : json_null());
    json_object_set_new(out, "defaultValueFormula", json_null());
    json_object_set_new(out, "defaultedOnCreate", json_boolean(f->defaulted));
    json_object_set_new(out, "dependentPicklist", json_false());
    json_object_set_new(out, "deprecatedAndHidden", json_false());
    json_object_set_new(out, "digits", json_integer(!strcmp(f->type, "int") ? 9 : 0));
    json_object_set_new(out, "displayLocationInDecimal", json_false());
    json_object_set_new(out, "encrypted", json_false());
    json_object_set_new(out, "externalId", json_boolean(f->external_id));
    json_object_set_new(out, "extraTypeInfo", json_null());
    json_object_set_new(out, "filterable", json_boolean(strcmp(f->type, "textarea") != 0));
    json_object_set_new(out, "filteredLookupInfo", json_null());
    json_object_set_new(out, "formulaTreatNullNumberAsZero", json_false());
    json_object_set_new(out, "groupable", json_boolean(strcmp(f->type, "textarea") != 0));
    json_object_set_new(out, "highScaleNumber", json_false());
    json_object_set_new(out, "htmlFormatted", json_false());
    json_object_set_new(out, "idLookup", json_boolean(!strcmp(f->type, "id") || f->external_id));
    json_object_set_new(out, "inlineHelpText", json_null());
    json_object_set_new(out, "label", json_string(lbl));
    json_object_set_new(out, "length", json_integer(is_text ? f->length : 0));
    json_object_set_new(out, "mask", json_null());
    json_object_set_new(out, "maskType", json_null());
    json_object_set_new(out, "name", json_string(f->name));
    json_object_set_new(out, "nameField", json_boolean(!strcmp(f->name, "Name")));
    json_object_set_new(out, "namePointing", json_boolean(is_ref && json_array_size(refs) > 1));
    json_object_set_new(out, "nillable", json_boolean(f->nillable));
    json_object_set_new(out, "permissionable", json_boolean(f->nillable && custom));
    json_object_set_new(out, "picklistValues", picklist);
    json_object_set_new(out, "polymorphicForeignKey",
                        json_boolean(is_ref && json_array_size(refs) > 1));
    json_object_set_new(out, "precision",
                        json_integer(json_integer_value(json_object_get(d, "precision"))));
    json_object_set_new(out, "queryByDistance", json_false());
    json_object_set_new(out, "referenceTargetField", json_null());
    json_object_set_new(out, "referenceTo", refs ? json_deep_copy(refs) : json_array());
    json_object_set_new(out, "relationshipName", rel ? json_deep_copy(rel) : json_null());
    json_object_set_new(out, "relationshipOrder", json_null());
    json_object_set_new(out, "restrictedDelete", json_false());
    json_object_set_new(out, "restrictedPicklist", json_false());
    json_object_set_new(out, "scale",
                        json_integer(json_integer_value(json_object_get(d, "scale"))));
    json_object_set_new(out, "searchPrefilterable", json_false());
    json_object_set_new(out, "soapType", json_string(emu_soap_type(f->type)));
    json_object_set_new(out, "sortable", json_boolean(strcmp(f->type, "textarea") != 0));
    json_object_set_new(out, "type", json_string(f->type));
    json_object_set_new(out, "unique", json_boolean(f->unique));
    json_object_set_new(out, "updateable", json_boolean(f->updateable));
    json_object_set_new(out, "writeRequiresMasterRead", json_false());
    return out;
}

static json_t *emu_global_entry(const emu_sobject_t *so)
{
    const json_t *d = so->def;
    const char *label = json_string_value(json_object_get(d, "label"));
    const char *plural = json_string_value(json_object_get(d, "labelPlural"));
    json_t *e = json_object();
    json_object_set_new(e, "activateable", json_false());
    json_object_set_new(e, "associateEntityType", json_null());
    json_object_set_new(e, "associateParentEntity", json_null());
    json_object_set_new(e, "createable", json_boolean(so->createable));
    json_object_set_new(e, "custom", json_boolean(so->custom));
    json_object_set_new(e, "customSetting", json_false());
    json_object_set_new(e, "deepCloneable", json_false());
    json_object_set_new(e, "deletable", json_boolean(so->deletable));
    json_object_set_new(e, "deprecatedAndHidden", json_false());
    json_object_set_new(e, "feedEnabled", json_boolean(!so->is_event));
    json_object_set_new(e, "hasSubtypes", json_false());
    json_object_set_new(e, "isInterface", json_false());
    json_object_set_new(e, "isSubtype", json_false());
    json_object_set_new(e, "keyPrefix", json_string(so->key_prefix));
    json_object_set_new(e, "label", json_string(label ? label : so->name));
    json_object_set_new(e, "labelPlural", json_string(plural ? plural : so->name));
    json_object_set_new(e, "layoutable", json_boolean(!so->is_event));
    json_object_set_new(e, "mergeable", json_false());
    json_object_set_new(e, "mruEnabled", json_boolean(!so->is_event));
    json_object_set_new(e, "name", json_string(so->name));
    json_object_set_new(e, "queryable", json_boolean(so->queryable));
    json_object_set_new(e, "replicateable", json_boolean(!so->is_event));
    json_object_set_new(e, "retrieveable", json_boolean(!so->is_event));
    json_object_set_new(e, "searchable", json_boolean(!so->is_event));
    json_object_set_new(e, "triggerable", json_true());
    json_object_set_new(e, "undeletable", json_boolean(so->deletable));
    json_object_set_new(e, "updateable", json_boolean(so->updateable));
    return e;
}

static int emu_schema_build(emu_schema_t *schema, char *err, size_t err_size)
{
    json_t *list = json_object_get(schema->root, "sobjects");
    if (!json_is_array(list) || json_array_size(list) == 0) {
        snprintf(err, err_size, "schema: \"sobjects\" must be a non-empty array");
        return -1;
    }
    schema->nsobjects = json_array_size(list);
    schema->sobjects = calloc(schema->nsobjects, sizeof(emu_sobject_t));
    if (!schema->sobjects)
        return -1;
    for (size_t i = 0; i < schema->nsobjects; i++) {
        json_t *d = json_array_get(list, i);
        emu_sobject_t *so = &schema->sobjects[i];
        so->def = d;
        so->index = i;
        so->name = json_string_value(json_object_get(d, "name"));
        so->key_prefix = json_string_value(json_object_get(d, "keyPrefix"));
        if (!so->name || !so->key_prefix || strlen(so->key_prefix) != 3) {
            snprintf(err, err_size, "schema: sobject #%zu needs a name and a 3-char keyPrefix", i);
            return -1;
        }
        so->custom = emu_json_bool(d, "custom", false);
        so->is_event = emu_json_bool(d, "isPlatformEvent", false);
        so->queryable = emu_json_bool(d, "queryable", !so->is_event);
        so->createable = emu_json_bool(d, "createable", true);
        so->updateable = emu_json_bool(d, "updateable", !so->is_event);
        so->deletable = emu_json_bool(d, "deletable", !so->is_event);
        json_t *fields = json_object_get(d, "fields");
        so->nfields = json_array_size(fields);
        so->fields = calloc(so->nfields ? so->nfields : 1, sizeof(emu_field_t));
        so->field_index = json_object();
        if (!so->fields)
            return -1;
        for (size_t j = 0; j < so->nfields; j++) {
            json_t *fd = json_array_get(fields, j);
            emu_field_t *f = &so->fields[j];
            f->def = fd;
            f->name = json_string_value(json_object_get(fd, "name"));
            f->type = json_string_value(json_object_get(fd, "type"));
            if (!f->name || !f->type) {
                snprintf(err, err_size, "schema: %s field #%zu needs name and type", so->name, j);
                return -1;
            }
            f->length = (int)json_integer_value(json_object_get(fd, "length"));
            f->nillable = emu_json_bool(fd, "nillable", true);
            f->createable = emu_json_bool(fd, "createable", true);
            f->updateable = emu_json_bool(fd, "updateable", true);
            f->external_id = emu_json_bool(fd, "externalId", false);
            f->unique = emu_json_bool(fd, "unique", false);
            f->defaulted = emu_json_bool(fd, "defaultedOnCreate", false);
            f->indexed = f->external_id || f->unique;
            f->is_boolean = !strcmp(f->type, "boolean");
            f->auto_number = emu_json_bool(fd, "autoNumber", false);
            f->default_value = json_object_get(fd, "defaultValue");
            char lower[256];
            emu_lower(f->name, lower, sizeof(lower));
            json_object_set_new(so->field_index, lower, json_integer((json_int_t)j));
        }
        if (!emu_schema_field(so, "Id")) {
            snprintf(err, err_size, "schema: %s has no Id field", so->name);
            return -1;
        }
    }
    /* Describe bodies are built once: they never change while running. */
    for (size_t i = 0; i < schema->nsobjects; i++) {
        emu_sobject_t *so = &schema->sobjects[i];
        so->global_entry = emu_global_entry(so);
        json_t *desc = json_deep_copy(so->global_entry);
        json_t *fields = json_array();
        for (size_t j = 0; j < so->nfields; j++)
            json_array_append_new(fields, emu_describe_field(&so->fields[j]));
        json_object_set_new(desc, "fields", fields);
        json_t *children = json_array();
        for (size_t k = 0; k < schema->nsobjects; k++) {
            emu_sobject_t *child = &schema->sobjects[k];
            for (size_t j = 0; j < child->nfields; j++) {
                const emu_field_t *f = &child->fields[j];
                json_t *refs = json_object_get(f->def, "referenceTo");
                size_t r;
                json_t *ref;
                json_array_foreach(refs, r, ref)
                {
                    if (!json_is_string(ref) || strcmp(json_string_value(ref), so->name) != 0)
                        continue;
                    json_t *crn = json_object_get(f->def, "childRelationshipName");
                    json_array_append_new(children,
                                          json_pack("{s:b,s:s,s:b,s:s,s:[],s:o,s:b,s:[]}",
                                                    "cascadeDelete", 0, "childSObject", child->name,
                                                    "deprecatedAndHidden", 0, "field", f->name,
                                                    "junctionIdListNames", "relationshipName",
                                                    crn ? json_deep_copy(crn) : json_null(),
                                                    "restrictedDelete", 0, "junctionReferenceTo"));
                }
            }
        }
        json_object_set_new(desc, "childRelationships", children);
        json_object_set_new(desc, "compactLayoutable", json_boolean(!so->is_event));
        json_object_set_new(desc, "defaultImplementation", json_null());
        json_object_set_new(desc, "extendedBy", json_null());
        json_object_set_new(desc, "extendsInterfaces", json_null());
        json_object_set_new(desc, "implementedBy", json_null());
        json_object_set_new(desc, "implementsInterfaces", json_null());
        json_object_set_new(desc, "listviewable", json_null());
        json_object_set_new(desc, "lookupLayoutable", json_null());
        json_object_set_new(desc, "namedLayoutInfos", json_array());
        json_object_set_new(desc, "networkScopeFieldName", json_null());
        json_object_set_new(
            desc, "recordTypeInfos",
            so->is_event
                ? json_array()
                : json_pack("[{s:b,s:b,s:b,s:s,s:s,s:b,s:s,s:{s:s}}]", "active", 1, "available", 1,
                            "defaultRecordTypeMapping", 1, "developerName", "Master", "name",
                            "Master", "master", 1, "recordTypeId", "012000000000000AAA", "urls",
                            "layout", "/services/data/v62.0/sobjects/layouts/012000000000000AAA"));
        json_object_set_new(desc, "searchLayoutable", json_boolean(!so->is_event));
        json_object_set_new(desc, "sobjectDescribeOption", json_string("FULL"));
        json_object_set_new(desc, "supportedScopes", json_array());
        so->describe = desc;
    }
    return 0;
}

emu_schema_t *emu_schema_create(json_t *root, time_t mtime, char *err, size_t err_size)
{
    emu_schema_t *schema = calloc(1, sizeof(*schema));
    if (!schema) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    schema->root = json_incref(root);
    schema->mtime = mtime;
    if (emu_schema_build(schema, err, err_size) != 0) {
        emu_schema_destroy(schema);
        return NULL;
    }
    return schema;
}

void emu_schema_destroy(emu_schema_t *schema)
{
    if (!schema)
        return;
    for (size_t i = 0; i < schema->nsobjects; i++) {
        free(schema->sobjects[i].fields);
        json_decref(schema->sobjects[i].field_index);
        json_decref(schema->sobjects[i].describe);
        json_decref(schema->sobjects[i].global_entry);
    }
    free(schema->sobjects);
    json_decref(schema->root);
    free(schema);
}

const emu_sobject_t *emu_schema_find(const emu_schema_t *schema, const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < schema->nsobjects; i++)
        if (strcasecmp(schema->sobjects[i].name, name) == 0)
            return &schema->sobjects[i];
    return NULL;
}

const emu_sobject_t *emu_schema_by_prefix(const emu_schema_t *schema, const char *id)
{
    if (!id || strlen(id) < 3)
        return NULL;
    for (size_t i = 0; i < schema->nsobjects; i++)
        if (strncmp(schema->sobjects[i].key_prefix, id, 3) == 0)
            return &schema->sobjects[i];
    return NULL;
}

const emu_field_t *emu_schema_field(const emu_sobject_t *so, const char *name)
{
    char lower[256];
    if (!name || !emu_lower(name, lower, sizeof(lower)))
        return NULL;
    json_t *idx = json_object_get(so->field_index, lower);
    return idx ? &so->fields[json_integer_value(idx)] : NULL;
}

json_t *emu_schema_urls(const emu_sobject_t *so, const char *version, bool full)
{
    char base[128];
    snprintf(base, sizeof(base), "/services/data/v%s/sobjects/%s", version, so->name);
    json_t *urls = json_object();
    json_object_set_new(urls, "sobject", json_string(base));
    json_object_set_new(urls, "describe", json_sprintf("%s/describe", base));
    json_object_set_new(urls, "rowTemplate", json_sprintf("%s/{ID}", base));
    if (full && !so->is_event) {
        json_object_set_new(urls, "compactLayouts",
                            json_sprintf("%s/describe/compactLayouts", base));
        json_object_set_new(urls, "approvalLayouts",
                            json_sprintf("%s/describe/approvalLayouts", base));
        json_object_set_new(urls, "uiDetailTemplate",
                            json_sprintf("https://emu.my.salesforce.com/{ID}"));
        json_object_set_new(urls, "uiEditTemplate",
                            json_sprintf("https://emu.my.salesforce.com/{ID}/e"));
        json_object_set_new(urls, "uiNewRecord",
                            json_sprintf("https://emu.my.salesforce.com/%s/e", so->key_prefix));
        json_object_set_new(urls, "listviews", json_sprintf("%s/listviews", base));
        json_object_set_new(urls, "layouts", json_sprintf("%s/describe/layouts", base));
    }
    return urls;
}

json_t *emu_schema_describe(const emu_sobject_t *so, const char *version)
{
    json_t *d = json_deep_copy(so->describe);
    json_object_set_new(d, "urls", emu_schema_urls(so, version, true));
    return d;
}

json_t *emu_schema_describe_global(const emu_schema_t *schema, const char *version)
{
    json_t *list = json_array();
    for (size_t i = 0; i < schema->nsobjects; i++) {
        json_t *e = json_deep_copy(schema->sobjects[i].global_entry);
        json_object_set_new(e, "urls", emu_schema_urls(&schema->sobjects[i], version, false));
        json_array_append_new(list, e);
    }
    return json_pack("{s:s,s:i,s:o}", "encoding", "UTF-8", "maxBatchSize", 200, "sobjects", list);
}
