/*
 * catalog_int - private to the catalog's three files; the public API is catalog.h.
 *   catalog.c        the store: entries, indexes, lookups
 *   catalog_merge.c  the config's overrides, applied all or nothing
 *   catalog_load.c   the file: reading it and walking its outer structure
 *   catalog_entry.c  one entry: JSON fields -> struct gw_model, lifetime, id forms
 * Threading: as catalog.h (build on one thread, then read-only).
 */
#ifndef GW_CATALOG_INT_H
#define GW_CATALOG_INT_H

#include <stddef.h>
#include <stdint.h>

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

/* ---- the store (catalog.c), for catalog_merge.c ----------------------------------------- */

#define GW_CATALOG_SLAB 1024

struct slab {
    struct slab *next;
    size_t used;
    struct gw_model m[GW_CATALOG_SLAB];
};

/* The ids of the file's entries, packed: a strdup each cost 149 kB more in malloc's chunk
 * headers and rounding (9,188 ids of 23.5 bytes on average). Overrides strdup theirs. */
struct pool {
    struct pool *next;
    size_t used, size;
    char s[];
};

struct plist {
    const char *name;
    const struct gw_model **models; /* points into gw_catalog.sorted */
    size_t n;
};

/* Everything derived from the entries; rebuilt whole after a load or a merge. */
struct index {
    uint32_t *slots;    /* (vkey, id) -> position in `sorted` + 1; nslots: a power of two */
    uint32_t *id_slots; /* lower(id) -> position + 1 of the first entry with that id */
    uint32_t *id_next;  /* per position: the next position + 1 with the same id, or 0 */
    size_t nslots;
    const struct gw_model **sorted; /* by (provider, id) */
    struct plist *plist;
    const char **pnames;
    size_t nplist;
};

struct gw_catalog {
    size_t n;
    uint64_t gen; /* gw_catalog_gen: new for every catalog and every merge */
    /* Oldest first: walking them is the entries in the order added (no array of pointers
     * beside `sorted`; it cost 72 kB). */
    struct slab *slabs, **tail;
    struct pool *pool;
    char **names; /* interned provider and source names */
    size_t nnames, namecap;
    const char *recent[4];
    struct index ix;
};

/* The one copy of a provider or source name (NULL when out of memory). */
const char *gw_catalog_intern(struct gw_catalog *cat, const char *s);
/* Room for `more` entries (AIGW_ETOOBIG past GW_CATALOG_MAX_ENTRIES); then add_entry takes a
 * slot that cannot fail. */
int gw_catalog_reserve(struct gw_catalog *cat, size_t more);
struct gw_model *gw_catalog_add_entry(struct gw_catalog *cat);
/* Frees what an entry owns (not the entry: slabs hold it). */
void gw_catalog_release(struct gw_catalog *cat, struct gw_model *m);
uint64_t gw_catalog_key_hash(const char *vkey, const char *id);
uint64_t gw_catalog_next_gen(void); /* a number no catalog state had */
int gw_catalog_index_alloc(struct index *ix, size_t n, size_t nprov);
void gw_catalog_index_fill(struct gw_catalog *cat, struct index *ix);
void gw_catalog_index_free(struct index *ix);

#endif
