/*
 * jsonarena - JSON parsed into cJSON nodes that live in a capped bump arena instead of one
 * malloc per node and string: the parse of an upstream body or SSE event costs a few pointer
 * bumps, and freeing its tree is a rewind to a mark (trees made after the mark go at once).
 *
 * The trees are ordinary cJSON structs (same layout, types, prev/next links and values as
 * cJSON_ParseWithLength of the system libcjson would build), so every cJSON reader works on
 * them. They are read-only: cJSON_Delete, detaching, replacing or adding items would hand
 * arena memory to free(). A caller that needs a mutable copy uses cJSON_Duplicate.
 *
 * Threading: one owner; no locking.
 */
#ifndef GW_JSONARENA_H
#define GW_JSONARENA_H

#include <stddef.h>

#include <cjson/cJSON.h>

struct gw_jsonarena_block;

struct gw_jsonarena {
    struct gw_jsonarena_block *head; /* newest block */
    char *ptr, *end;                 /* free space in head */
    size_t used;                     /* bytes of blocks held */
    size_t cap;
};

struct gw_jsonarena_mark {
    struct gw_jsonarena_block *block;
    char *ptr;
};

void gw_jsonarena_init(struct gw_jsonarena *a, size_t cap);
void gw_jsonarena_free(struct gw_jsonarena *a);
struct gw_jsonarena_mark gw_jsonarena_mark(const struct gw_jsonarena *a);
/* Forgets everything allocated after `m` (which must be a mark of this arena still live). */
void gw_jsonarena_rewind(struct gw_jsonarena *a, struct gw_jsonarena_mark m);
/* Zeroed, 8-aligned; NULL past the cap. */
void *gw_jsonarena_alloc(struct gw_jsonarena *a, size_t n);

/* Parses like cJSON_ParseWithLength (leading BOM and whitespace skipped, trailing bytes
 * ignored, nesting limit CJSON_NESTING_LIMIT). NULL on malformed input or past the cap; the
 * memory of a failed parse is rewound. */
cJSON *gw_jsonarena_parse(struct gw_jsonarena *a, const char *p, size_t n);

#endif
