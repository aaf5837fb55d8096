/*
 * jschema - a JSON Schema validator for the subset operators write by hand: guard configs are
 * checked against their guard's declared schema, and guards (json-schema) reach it through
 * the guard host table (schema_check, schema_validate).
 *
 * The subset (anything else that constrains a value is refused by gw_jschema_check, so a
 * schema never silently means less than it says):
 *   type                  a name or an array of names: object, array, string, number,
 *                         integer (a number with no fraction), boolean, null
 *   properties            object of schemas, applied to members that are present
 *   required              array of member names
 *   additionalProperties  true/false, or a schema for members not in properties
 *   items                 one schema for every element (not the tuple form)
 *   enum, const           the value must equal one of / the given JSON value (deep equality;
 *                         numbers compare as doubles)
 *   minimum, maximum, exclusiveMinimum, exclusiveMaximum   numbers (the draft 6+ forms)
 *   minLength, maxLength  strings, counted in Unicode code points
 *   minItems, maxItems, minProperties, maxProperties
 * Annotations are accepted and ignored: $schema, $id, $comment, title, description, default,
 * examples, format, deprecated, readOnly, writeOnly.
 *
 * Threading: stateless; any thread.
 */
#ifndef GW_JSCHEMA_H
#define GW_JSCHEMA_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* Schemas nested deeper than this are refused (and documents are not descended further). */
#define GW_JSCHEMA_MAX_DEPTH 64

/* 0 when schema is a schema of the subset; else AIGW_EINVAL with "path: reason" in err,
 * e.g. "properties.age.minimum: must be a number", "anyOf: unsupported keyword". */
int gw_jschema_check(const cJSON *schema, char *err, size_t errsize);

/* 0 when doc satisfies schema (which must have passed gw_jschema_check); else AIGW_EINVAL
 * with the first violation as "path: reason" in err, e.g. "$.items[2].id: required". The
 * path names members, never values, so err is safe to log. */
int gw_jschema_validate(const cJSON *schema, const cJSON *doc, char *err, size_t errsize);

#endif
