/*
 * catalog - the store behind catalog.h: entries in slabs (their addresses never change, even
 * when the config adds more), two hash indexes ((vkey, id) -> entry; id -> every entry with
 * that id), per-provider sorted lists, the id fallbacks, and the config's overrides. Reading
 * the file is catalog_load.c; one entry's fields are catalog_entry.c.
 */
#include "catalog/catalog.h"

#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aigw/plugin.h"
#include "catalog/catalog_int.h"

#define MAX_ENTRIES GW_CATALOG_MAX_ENTRIES
#define MAX_ID GW_CATALOG_MAX_ID
#define SLAB GW_CATALOG_SLAB
#define FNV_BASIS 0xcbf29ce484222325ull
/* a block of the id pool (struct pool) */
#define POOL_BLOCK (64u << 10)

/* ---- entries ------------------------------------------------------------------------- */

const char *gw_catalog_intern(struct gw_catalog *cat, const char *s)
{
    /* Entries alternate between a handful of names (the provider, the source), so a tiny
     * most-recently-used list answers nearly every call without scanning. */
    for (int i = 0; i < 4; i++)
        if (cat->recent[i] && strcmp(cat->recent[i], s) == 0)
            return cat->recent[i];
    const char *hit = NULL;
    for (size_t i = cat->nnames; i-- > 0 && !hit;)
        if (strcmp(cat->names[i], s) == 0)
            hit = cat->names[i];
    if (!hit) {
        if (cat->nnames == cat->namecap) {
            size_t nc = cat->namecap ? cat->namecap * 2 : 64;
            char **nv = realloc(cat->names, nc * sizeof *nv);
            if (!nv)
                return NULL;
            cat->names = nv;
            cat->namecap = nc;
        }
        char *d = strdup(s);
        if (!d)
            return NULL;
        hit = cat->names[cat->nnames++] = d;
    }
    memmove(&cat->recent[1], &cat->recent[0], 3 * sizeof cat->recent[0]);
    cat->recent[0] = hit;
    return hit;
}

static char *pool_dup(struct gw_catalog *cat, const char *s)
{
    size_t n = strlen(s) + 1;
    struct pool *p = cat->pool;
    if (!p || p->size - p->used < n) {
        size_t size = n > POOL_BLOCK - sizeof *p ? n : POOL_BLOCK - sizeof *p;
        if (!(p = malloc(sizeof *p + size)))
            return NULL;
        p->next = cat->pool;
        p->used = 0;
        p->size = size;
        cat->pool = p;
    }
    char *d = memcpy(p->s + p->used, s, n);
    p->used += n;
    return d;
}

/* An entry of the catalog goes: its id unless the pool holds it. */
void gw_catalog_release(struct gw_catalog *cat, struct gw_model *m)
{
    uintptr_t id = (uintptr_t)m->id;
    for (const struct pool *p = cat->pool; p && m->id; p = p->next)
        if (id >= (uintptr_t)p->s && id < (uintptr_t)p->s + p->size)
            m->id = NULL;
    gw_catalog_model_release(m);
}

/* Room for `more` entries, so that committing a merge cannot fail half way. */
int gw_catalog_reserve(struct gw_catalog *cat, size_t more)
{
    if (more > MAX_ENTRIES || cat->n + more > MAX_ENTRIES)
        return AIGW_ETOOBIG;
    size_t room = 0;
    for (struct slab *s = cat->slabs; s; s = s->next)
        room += SLAB - s->used;
    while (room < more) {
        struct slab *s = calloc(1, sizeof *s);
        if (!s)
            return AIGW_ENOMEM;
        *cat->tail = s;
        cat->tail = &s->next;
        room += SLAB;
    }
    return 0;
}

struct gw_model *gw_catalog_add_entry(struct gw_catalog *cat)
{
    for (struct slab *s = cat->slabs; s; s = s->next)
        if (s->used < SLAB) {
            cat->n++;
            return &s->m[s->used++];
        }
    return NULL; /* gw_catalog_reserve() was not called */
}

/* ---- index --------------------------------------------------------------------------- */

static uint64_t fnv_lower(uint64_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (unsigned char)tolower((unsigned char)*s);
        h *= 0x100000001b3ull;
    }
    return h;
}

uint64_t gw_catalog_key_hash(const char *vkey, const char *id)
{
    uint64_t h = fnv_lower(FNV_BASIS, vkey);
    h ^= 0x1f;
    h *= 0x100000001b3ull;
    return fnv_lower(h, id);
}

static int cmp_entry(const void *a, const void *b)
{
    const struct gw_model *x = *(const struct gw_model *const *)a;
    const struct gw_model *y = *(const struct gw_model *const *)b;
    int c = strcmp(x->provider, y->provider);
    return c ? c : strcmp(x->id, y->id);
}

void gw_catalog_index_free(struct index *ix)
{
    free(ix->slots);
    free(ix->id_slots);
    free(ix->id_next);
    free(ix->sorted);
    free(ix->plist);
    free(ix->pnames);
    memset(ix, 0, sizeof *ix);
}

/* Allocation first (may fail), then filling (cannot): a failed merge leaves nothing half
 * done. nprov bounds the number of distinct providers. */
int gw_catalog_index_alloc(struct index *ix, size_t n, size_t nprov)
{
    memset(ix, 0, sizeof *ix);
    ix->nslots = 64;
    while (ix->nslots < 2 * n)
        ix->nslots *= 2;
    ix->slots = calloc(ix->nslots, sizeof *ix->slots);
    ix->id_slots = calloc(ix->nslots, sizeof *ix->id_slots);
    ix->id_next = calloc(n ? n : 1, sizeof *ix->id_next);
    ix->sorted = calloc(n ? n : 1, sizeof *ix->sorted);
    ix->plist = calloc(nprov ? nprov : 1, sizeof *ix->plist);
    ix->pnames = calloc(nprov ? nprov : 1, sizeof *ix->pnames);
    if (!ix->slots || !ix->id_slots || !ix->id_next || !ix->sorted || !ix->plist || !ix->pnames) {
        gw_catalog_index_free(ix);
        return AIGW_ENOMEM;
    }
    return 0;
}

void gw_catalog_index_fill(struct gw_catalog *cat, struct index *ix)
{
    size_t mask = ix->nslots - 1;
    size_t k = 0;
    for (const struct slab *s = cat->slabs; s; s = s->next)
        for (size_t i = 0; i < s->used; i++)
            ix->sorted[k++] = &s->m[i];
    k = 1;
    while (k < cat->n && cmp_entry(&ix->sorted[k - 1], &ix->sorted[k]) < 0)
        k++;
    if (k < cat->n) /* the file comes sorted; overrides may not */
        qsort(ix->sorted, cat->n, sizeof *ix->sorted, cmp_entry);
    /* Both tables hold positions in `sorted` + 1; id chains are built backwards so each one
     * lists its providers in sorted order. */
    for (k = cat->n; k-- > 0;) {
        const struct gw_model *m = ix->sorted[k];
        size_t s = (size_t)gw_catalog_key_hash(m->provider, m->id) & mask;
        while (ix->slots[s])
            s = (s + 1) & mask;
        ix->slots[s] = (uint32_t)k + 1;
        s = (size_t)fnv_lower(FNV_BASIS, m->id) & mask;
        while (ix->id_slots[s] && strcasecmp(ix->sorted[ix->id_slots[s] - 1]->id, m->id) != 0)
            s = (s + 1) & mask;
        ix->id_next[k] = ix->id_slots[s];
        ix->id_slots[s] = (uint32_t)k + 1;
    }
    for (k = 0; k < cat->n; k++) {
        const char *p = ix->sorted[k]->provider;
        if (ix->nplist == 0 || ix->plist[ix->nplist - 1].name != p) {
            ix->plist[ix->nplist].name = p;
            ix->plist[ix->nplist].models = &ix->sorted[k];
            ix->pnames[ix->nplist++] = p;
        }
        ix->plist[ix->nplist - 1].n++;
    }
}

/* ---- lookups ------------------------------------------------------------------------- */

size_t gw_catalog_size(const struct gw_catalog *cat)
{
    return cat ? cat->n : 0;
}

const struct gw_model *gw_catalog_get(const struct gw_catalog *cat, const char *vkey,
                                      const char *id)
{
    if (!cat || !vkey || !id || !cat->ix.nslots)
        return NULL;
    size_t mask = cat->ix.nslots - 1;
    const struct gw_model *loose = NULL;
    for (size_t s = (size_t)gw_catalog_key_hash(vkey, id) & mask; cat->ix.slots[s];
         s = (s + 1) & mask) {
        const struct gw_model *m = cat->ix.sorted[cat->ix.slots[s] - 1];
        if (strcasecmp(m->id, id) != 0 || strcasecmp(m->provider, vkey) != 0)
            continue;
        if (strcmp(m->id, id) == 0)
            return m;
        if (!loose)
            loose = m;
    }
    return loose;
}

static const struct gw_model *get_n(const struct gw_catalog *cat, const char *vkey, const char *id,
                                    size_t len)
{
    char tmp[MAX_ID + 1];
    if (len == 0 || len > MAX_ID)
        return NULL;
    memcpy(tmp, id, len);
    tmp[len] = '\0';
    return gw_catalog_get(cat, vkey, tmp);
}

#define FIREWORKS_PATH "accounts/fireworks/models/"

const struct gw_model *gw_catalog_find(const struct gw_catalog *cat, const char *vkey,
                                       const char *id)
{
    const struct gw_model *m = gw_catalog_get(cat, vkey, id);
    if (m || !cat || !vkey || !id)
        return m;
    size_t vl = strlen(vkey), len;
    if (strncasecmp(id, vkey, vl) == 0 && id[vl] == '/') {
        id += vl + 1;
        if ((m = gw_catalog_get(cat, vkey, id)))
            return m;
    }
    len = strlen(id);
    size_t geo = gw_catalog_geo_prefix(id);
    size_t bare = gw_catalog_without_suffix(id, len);
    if ((geo && (m = get_n(cat, vkey, id + geo, len - geo))) ||
        (bare < len && (m = get_n(cat, vkey, id, bare))))
        return m;
    if (strcmp(vkey, "fireworks") == 0 && strncmp(id, "accounts/", 9) != 0 && len <= MAX_ID) {
        char tmp[sizeof FIREWORKS_PATH + MAX_ID];
        snprintf(tmp, sizeof tmp, "%s%s", FIREWORKS_PATH, id);
        if ((m = gw_catalog_get(cat, vkey, tmp)))
            return m;
    }
    if (strncmp(id, "ft:", 3) == 0) {
        /* A fine-tuned OpenAI model, "ft:<base>:<org>::<id>", is billed as "ft:<base>". */
        const char *c = strchr(id + 3, ':');
        if (c && (m = get_n(cat, vkey, id, (size_t)(c - id))))
            return m;
    }
    size_t d = gw_catalog_without_date(id, len);
    if (d < len && (m = get_n(cat, vkey, id, d)))
        return m;
    if (geo && (d = gw_catalog_without_date(id + geo, len - geo)) < len - geo &&
        (m = get_n(cat, vkey, id + geo, d)))
        return m;
    if (bare < len && (d = gw_catalog_without_date(id, bare)) < bare)
        return get_n(cat, vkey, id, d);
    return NULL;
}

size_t gw_catalog_find_all(const struct gw_catalog *cat, const char *id,
                           const struct gw_model **out, size_t max)
{
    if (!cat || !id || !cat->ix.nslots)
        return 0;
    size_t mask = cat->ix.nslots - 1, n = 0;
    size_t s = (size_t)fnv_lower(FNV_BASIS, id) & mask;
    while (cat->ix.id_slots[s] && strcasecmp(cat->ix.sorted[cat->ix.id_slots[s] - 1]->id, id))
        s = (s + 1) & mask;
    for (uint32_t i = cat->ix.id_slots[s]; i; i = cat->ix.id_next[i - 1]) {
        if (out && n < max)
            out[n] = cat->ix.sorted[i - 1];
        n++;
    }
    return n;
}

static const struct plist *plist_of(const struct gw_catalog *cat, const char *vkey)
{
    size_t lo = 0, hi = cat ? cat->ix.nplist : 0;
    while (vkey && lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(cat->ix.plist[mid].name, vkey);
        if (c == 0)
            return &cat->ix.plist[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

size_t gw_catalog_list(const struct gw_catalog *cat, const char *vkey,
                       const struct gw_model *const **out)
{
    const struct plist *p = plist_of(cat, vkey);
    if (out)
        *out = p ? p->models : NULL;
    return p ? p->n : 0;
}

size_t gw_catalog_providers(const struct gw_catalog *cat, const char *const **out)
{
    if (out)
        *out = cat && cat->ix.nplist ? cat->ix.pnames : NULL;
    return cat ? cat->ix.nplist : 0;
}

const struct gw_price *gw_model_price(const struct gw_model *m, const char *region)
{
    if (!m)
        return NULL;
    for (size_t i = 0; region && m->more && i < m->more->nregions; i++)
        if (strcasecmp(m->more->regions[i].region, region) == 0)
            return &m->more->regions[i].price;
    return &m->price;
}

static atomic_uint_least64_t generations;

uint64_t gw_catalog_next_gen(void)
{
    return atomic_fetch_add(&generations, 1) + 1;
}

uint64_t gw_catalog_gen(const struct gw_catalog *cat)
{
    return cat ? cat->gen : 0;
}

struct gw_catalog *gw_catalog_new(void)
{
    struct gw_catalog *cat = calloc(1, sizeof *cat);
    if (cat) {
        cat->tail = &cat->slabs;
        cat->gen = gw_catalog_next_gen();
    }
    if (cat && gw_catalog_index_alloc(&cat->ix, 0, 0) != 0) {
        free(cat);
        return NULL;
    }
    return cat;
}

void gw_catalog_free(struct gw_catalog *cat)
{
    if (!cat)
        return;
    for (struct slab *s = cat->slabs; s; s = s->next)
        for (size_t i = 0; i < s->used; i++)
            gw_catalog_release(cat, &s->m[i]);
    while (cat->slabs) {
        struct slab *s = cat->slabs;
        cat->slabs = s->next;
        free(s);
    }
    while (cat->pool) {
        struct pool *p = cat->pool;
        cat->pool = p->next;
        free(p);
    }
    for (size_t i = 0; i < cat->nnames; i++)
        free(cat->names[i]);
    free(cat->names);
    gw_catalog_index_free(&cat->ix);
    free(cat);
}

/* ---- building ------------------------------------------------------------------------ */

int gw_catalog_add(struct gw_catalog *cat, const cJSON *it, struct gw_entry_ctx *c)
{
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(it, "provider");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "model");
    const char *source = NULL;
    int rc;
    if (!cJSON_IsObject(it))
        return gw_catalog_fail(c, NULL, "an entry must be a JSON object");
    if (!cJSON_IsString(p) || !gw_catalog_valid_vkey(p->valuestring))
        return gw_catalog_fail(c, "provider", "must be a lowercase provider name (vkey)");
    if (!cJSON_IsString(id) || !gw_catalog_valid_id(id->valuestring))
        return gw_catalog_fail(c, "model",
                               "must be a model id (1-%d bytes, no control "
                               "characters)",
                               GW_CATALOG_MAX_ID);
    c->prov = p->valuestring;
    c->id = id->valuestring;
    if ((rc = gw_catalog_reserve(cat, 1)) != 0)
        return rc;
    struct gw_model *m = gw_catalog_add_entry(cat);
    gw_catalog_model_init(m);
    if (!(m->provider = gw_catalog_intern(cat, p->valuestring)) ||
        !(m->id = pool_dup(cat, id->valuestring)))
        return AIGW_ENOMEM;
    if ((rc = gw_catalog_apply(m, it, c, &source)) != 0)
        return rc;
    return (m->source = gw_catalog_intern(cat, source ? source : "catalog")) ? 0 : AIGW_ENOMEM;
}

int gw_catalog_finish(struct gw_catalog *cat, const char *name, char *err, size_t errlen)
{
    struct index ix;
    int rc = gw_catalog_index_alloc(&ix, cat->n, cat->nnames);
    if (rc)
        return gw_catalog_seterr(err, errlen, "%s: out of memory", name), rc;
    gw_catalog_index_fill(cat, &ix);
    gw_catalog_index_free(&cat->ix);
    cat->ix = ix;
    for (size_t i = 1; i < cat->n; i++) {
        const struct gw_model *x = cat->ix.sorted[i - 1], *y = cat->ix.sorted[i];
        if (x->provider == y->provider && strcmp(x->id, y->id) == 0)
            return gw_catalog_seterr(err, errlen, "%s: %s/%s is listed twice", name, x->provider,
                                     x->id);
    }
    return 0;
}
