/*
 * catalog_model - a struct gw_model's lifetime: a fresh record, a deep copy, its release, and
 * the parts few entries have (struct gw_price_more, struct gw_model_more), made on first use
 * so that the 9,000 entries without them do not pay for them. Not thread-safe: a catalog is
 * built by one thread, then only read.
 */
#include "catalog/catalog_int.h"

#include <stdlib.h>
#include <string.h>

#include "aigw/plugin.h"

/* What `unit` points to while a table has no gw_price_more. */
static const double unknown_units[GW_UNIT_COUNT] = {
    GW_PRICE_UNKNOWN, GW_PRICE_UNKNOWN, GW_PRICE_UNKNOWN, GW_PRICE_UNKNOWN,
    GW_PRICE_UNKNOWN, GW_PRICE_UNKNOWN, GW_PRICE_UNKNOWN};
_Static_assert(GW_UNIT_COUNT == 7, "unknown_units lists every unit");

void gw_catalog_price_init(struct gw_price *p)
{
    memset(p, 0, sizeof *p);
    p->in = p->out = p->cache_read = p->cache_write = GW_PRICE_UNKNOWN;
    p->unit = unknown_units;
}

/* p's gw_price_more, made (all UNKNOWN) on first use; NULL when out of memory. */
struct gw_price_more *gw_catalog_price_more(struct gw_price *p)
{
    if (!p->more) {
        struct gw_price_more *x = calloc(1, sizeof *x);
        if (!x)
            return NULL;
        x->cache_write_1h = x->reasoning = GW_PRICE_UNKNOWN;
        for (int i = 0; i < GW_UNIT_COUNT; i++)
            x->unit[i] = GW_PRICE_UNKNOWN;
        p->more = x;
        p->unit = x->unit;
    }
    return p->more;
}

static void price_release(struct gw_price *p)
{
    if (p->more) {
        free(p->more->tiers);
        free(p->more);
    }
    p->more = NULL;
    p->unit = unknown_units;
}

void gw_catalog_model_init(struct gw_model *m)
{
    memset(m, 0, sizeof *m);
    m->context = m->max_output = -1;
    gw_catalog_price_init(&m->price);
}

/* Gives dst a heap copy of src's tiers (only dst's tiers and ntiers are written). */
int gw_catalog_tiers_copy(struct gw_price_more *dst, const struct gw_price_tier *tiers, int ntiers)
{
    dst->tiers = NULL;
    dst->ntiers = 0;
    if (!ntiers)
        return 0;
    size_t bytes = (size_t)ntiers * sizeof *tiers;
    if (!(dst->tiers = malloc(bytes)))
        return AIGW_ENOMEM;
    memcpy(dst->tiers, tiers, bytes);
    dst->ntiers = ntiers;
    return 0;
}

/* dst becomes a deep copy of src; on failure dst holds nothing to release. */
static int price_copy(struct gw_price *dst, const struct gw_price *src)
{
    *dst = *src;
    dst->more = NULL;
    dst->unit = unknown_units;
    if (!src->more)
        return 0;
    struct gw_price_more *x = malloc(sizeof *x);
    if (!x)
        return AIGW_ENOMEM;
    *x = *src->more;
    if (gw_catalog_tiers_copy(x, src->more->tiers, src->more->ntiers)) {
        free(x);
        return AIGW_ENOMEM;
    }
    dst->more = x;
    dst->unit = x->unit;
    return 0;
}

void gw_catalog_images_free(struct gw_image_price *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].variant);
    free(v);
}

void gw_catalog_regions_free(struct gw_region_price *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].region);
        price_release(&v[i].price);
    }
    free(v);
}

void gw_catalog_model_release(struct gw_model *m)
{
    free(m->id);
    price_release(&m->price);
    if (m->more) {
        gw_catalog_images_free(m->more->images, m->more->nimages);
        gw_catalog_regions_free(m->more->regions, m->more->nregions);
        free(m->more);
    }
    m->id = NULL;
    m->more = NULL;
}

/* m's gw_model_more, made (empty) on first use; NULL when out of memory. */
struct gw_model_more *gw_catalog_model_more(struct gw_model *m)
{
    if (!m->more)
        m->more = calloc(1, sizeof *m->more);
    return m->more;
}

int gw_catalog_model_copy(struct gw_model *dst, const struct gw_model *src)
{
    *dst = *src;
    dst->id = NULL;
    dst->more = NULL;
    dst->price.more = NULL;
    dst->price.unit = unknown_units;
    if (!(dst->id = strdup(src->id)) || price_copy(&dst->price, &src->price))
        return AIGW_ENOMEM;
    const struct gw_model_more *s = src->more;
    if (!s)
        return 0;
    struct gw_model_more *d = gw_catalog_model_more(dst);
    if (!d || (s->nimages && !(d->images = calloc(s->nimages, sizeof *d->images))))
        return AIGW_ENOMEM;
    for (; d->nimages < s->nimages; d->nimages++) {
        struct gw_image_price *di = &d->images[d->nimages];
        di->usd = s->images[d->nimages].usd;
        if (!(di->variant = strdup(s->images[d->nimages].variant)))
            return AIGW_ENOMEM;
    }
    if (s->nregions && !(d->regions = calloc(s->nregions, sizeof *d->regions)))
        return AIGW_ENOMEM;
    for (; d->nregions < s->nregions; d->nregions++) {
        struct gw_region_price *dr = &d->regions[d->nregions];
        if (price_copy(&dr->price, &s->regions[d->nregions].price))
            return AIGW_ENOMEM;
        if (!(dr->region = strdup(s->regions[d->nregions].region))) {
            price_release(&dr->price);
            return AIGW_ENOMEM;
        }
    }
    return 0;
}
