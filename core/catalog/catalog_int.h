/*
 * catalog_int - private to the catalog's three files; the public API is catalog.h.
 *   catalog.c        the store: entries, indexes, lookups, config overrides
 *   catalog_load.c   the file: reading it and walking its outer structure
 *   catalog_entry.c  one entry: JSON fields -> struct gw_model, lifetime, id forms
 * Threading: as catalog.h (build on one thread, then read-only).
 */
#ifndef GW_CATALOG_INT_H
#define GW_CATALOG_INT_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "catalog/catalog.h"

#define GW_CATALOG_MAX_ID 512
#define GW_CATALOG_MAX_NAME 64

/* Where an entry came from, for error messages that name it. */
struct gw_entry_ctx {
    const char *name;  /* file name, or where the config's overrides came from */
    const char *where; /* "[3]", "\"openai/gpt-4o\""; NULL: "models[<index>]" */
    size_t index;
    const char *prov, *id;
    int strict; /* config overrides: unknown keys, modes and caps are errors */
    char *err;
    size_t errlen;
};

#define GW_CATALOG_MAX_FILE (64u << 20)
#define GW_CATALOG_MAX_ENTRIES 1000000u

/* snprintf into err when there is one; returns AIGW_EINVAL. */
int gw_catalog_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes "<name>: <where> (<prov>/<id>): "<key>" <message>" to err; returns AIGW_EINVAL. */
int gw_catalog_fail(const struct gw_entry_ctx *c, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* 1 when s is a usable vkey (lowercase letters, digits, '-', '.', '_'; 1..64 bytes). */
int gw_catalog_valid_vkey(const char *s);
/* 1 when s is a usable model id (1..512 bytes, no control characters). */
int gw_catalog_valid_id(const char *s);

/* Id forms that gw_catalog_find() falls back to. Each returns a length (or prefix length);
 * an unchanged length (or 0 for the prefix) means the form does not apply. */
size_t gw_catalog_geo_prefix(const char *id);                 /* "us.", "global.", ... */
size_t gw_catalog_without_suffix(const char *id, size_t len); /* ":cerebras", ":free" */
size_t gw_catalog_without_date(const char *id, size_t len);   /* "-20250929", "@2025..." */

void gw_catalog_model_init(struct gw_model *m);
void gw_catalog_model_release(struct gw_model *m);
int gw_catalog_model_copy(struct gw_model *dst, const struct gw_model *src);
/* The parts of catalog_model.c the entry parser builds on (catalog_entry.c). */
void gw_catalog_price_init(struct gw_price *p);
/* p's gw_price_more, made (all UNKNOWN) on first use; NULL when out of memory. */
struct gw_price_more *gw_catalog_price_more(struct gw_price *p);
/* m's gw_model_more, made (empty) on first use; NULL when out of memory. */
struct gw_model_more *gw_catalog_model_more(struct gw_model *m);
/* Gives dst a heap copy of tiers (only dst's tiers and ntiers are written): 0 or
 * AIGW_ENOMEM. */
int gw_catalog_tiers_copy(struct gw_price_more *dst, const struct gw_price_tier *tiers, int ntiers);
void gw_catalog_images_free(struct gw_image_price *v, size_t n);
void gw_catalog_regions_free(struct gw_region_price *v, size_t n);

/* Applies every field present in obj to m, except provider and model. *source is set to the
 * entry's "source" string (borrowed from obj) when it has one. On error m may be partly
 * changed (callers apply to a fresh entry or a copy). */
int gw_catalog_apply(struct gw_model *m, const cJSON *obj, const struct gw_entry_ctx *c,
                     const char **source);

/* Adds one entry from the file (provider and model required; lenient about other keys). */
int gw_catalog_add(struct gw_catalog *cat, const cJSON *entry, struct gw_entry_ctx *c);
/* After the last gw_catalog_add(): builds the indexes, refuses duplicate entries. */
int gw_catalog_finish(struct gw_catalog *cat, const char *name, char *err, size_t errlen);

#endif
