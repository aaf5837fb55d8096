/*
 * cost - usage times catalog price. The rules (what counts once, what falls back to what) are
 * in cost.h; the catalog's units are in catalog/README.md.
 */
#include "catalog/cost.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int known(double price)
{
    return price >= 0;
}

static int64_t clamp(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static int input_only(int mode)
{
    return mode == GW_MODE_EMBEDDING || mode == GW_MODE_RERANK || mode == GW_MODE_MODERATION;
}

static int token_cost(const struct gw_price *p, int mode, const struct aigw_usage *u, double *out)
{
    if (!p || !u || !out)
        return AIGW_EINVAL;
    int64_t prompt = u->prompt_tokens, completion = u->completion_tokens;
    if (prompt < 0 || (completion < 0 && !input_only(mode)))
        return AIGW_EINVAL; /* counts not reported: the cost cannot be known */
    if (completion < 0)
        completion = 0;
    int64_t cached = clamp(u->cached_tokens, 0, prompt);
    int64_t written = clamp(u->cache_write_tokens, 0, prompt - cached);
    int64_t uncached = prompt - cached - written;
    int64_t reasoning = clamp(u->reasoning_tokens, 0, completion);

    double in = p->in, outp = p->out, cr = p->cache_read, cw = p->cache_write;
    for (int i = p->more ? p->more->ntiers : 0; i-- > 0;) {
        const struct gw_price_tier *t = &p->more->tiers[i];
        if (prompt > t->above) {
            in = known(t->in) ? t->in : in;
            outp = known(t->out) ? t->out : outp;
            cr = known(t->cache_read) ? t->cache_read : cr;
            cw = known(t->cache_write) ? t->cache_write : cw;
            break;
        }
    }
    cr = known(cr) ? cr : in;
    cw = known(cw) ? cw : in;
    double rp = p->more && known(p->more->reasoning) ? p->more->reasoning : outp;

    /* A model with no token price at all has an unknown cost even for zero tokens. */
    if (!known(in) && !known(outp))
        return GW_COST_UNKNOWN;
    if ((uncached > 0 && !known(in)) || (cached > 0 && !known(cr)) || (written > 0 && !known(cw)) ||
        (completion - reasoning > 0 && !known(outp)) || (reasoning > 0 && !known(rp)))
        return GW_COST_UNKNOWN;

    double total = 0;
    if (uncached > 0)
        total += (double)uncached * in;
    if (cached > 0)
        total += (double)cached * cr;
    if (written > 0)
        total += (double)written * cw;
    if (completion - reasoning > 0)
        total += (double)(completion - reasoning) * outp;
    if (reasoning > 0)
        total += (double)reasoning * rp;
    *out = total / 1e6;
    return 0;
}

/* The provider's own statement of the cost, when it made one: it holds what the counts cannot
 * (Perplexity's per-request search fee, search queries, citation tokens), so pricing the
 * counts as well would count part of the request twice. */
static int stated(const struct aigw_usage *u, double *out)
{
    if (!u || !out || !(u->cost_usd > 0) || !isfinite(u->cost_usd))
        return 0;
    *out = u->cost_usd;
    return 1;
}

int gw_cost_usd(const struct gw_model *m, const struct aigw_usage *u, double *out)
{
    if (stated(u, out))
        return 0;
    return m ? token_cost(&m->price, m->mode, u, out) : GW_COST_UNKNOWN;
}

int gw_cost_usd_region(const struct gw_model *m, const char *region, const struct aigw_usage *u,
                       double *out)
{
    if (stated(u, out))
        return 0;
    return m ? token_cost(gw_model_price(m, region), m->mode, u, out) : GW_COST_UNKNOWN;
}

int gw_cost_units_usd(const struct gw_model *m, int unit, double count, double *out)
{
    if (!m || !out || unit < 0 || unit >= GW_UNIT_COUNT || !(count >= 0) || !isfinite(count))
        return m ? AIGW_EINVAL : GW_COST_UNKNOWN;
    if (!known(m->price.unit[unit]))
        return GW_COST_UNKNOWN;
    *out = count * m->price.unit[unit];
    return 0;
}

static const struct gw_image_price *variant(const struct gw_model *m, const char *a, const char *b)
{
    char key[160];
    if (!a || !*a)
        return NULL;
    if (b && *b)
        snprintf(key, sizeof key, "%s/%s", a, b);
    else
        snprintf(key, sizeof key, "%s", a);
    for (size_t i = 0; m->more && i < m->more->nimages; i++)
        if (strcasecmp(m->more->images[i].variant, key) == 0)
            return &m->more->images[i];
    return NULL;
}

/* "1024x1792" -> pixels; 0 when size is not WxH. */
static double pixels(const char *size)
{
    char *end;
    if (!size)
        return 0;
    long w = strtol(size, &end, 10);
    if (end == size || (*end != 'x' && *end != 'X') || w <= 0 || w > 100000)
        return 0;
    const char *hs = end + 1;
    long h = strtol(hs, &end, 10);
    if (end == hs || *end || h <= 0 || h > 100000)
        return 0;
    return (double)w * (double)h;
}

int gw_cost_images_usd(const struct gw_model *m, const char *quality, const char *size, int64_t n,
                       double *out)
{
    if (!m)
        return GW_COST_UNKNOWN;
    if (!out || n < 0)
        return AIGW_EINVAL;
    const struct gw_image_price *v = NULL;
    if (quality && *quality && size && *size)
        v = variant(m, quality, size);
    if (!v)
        v = variant(m, size, NULL);
    if (!v)
        v = variant(m, quality, NULL);
    double each = v ? v->usd : m->price.unit[GW_UNIT_IMAGE];
    if (!known(each) && known(m->price.unit[GW_UNIT_PIXEL]) && pixels(size) > 0)
        each = m->price.unit[GW_UNIT_PIXEL] * pixels(size);
    if (!known(each))
        return GW_COST_UNKNOWN;
    *out = (double)n * each;
    return 0;
}

/* 10^digits for the digits gw_fixed_format takes: exact in a double. */
static const double pow10_tab[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10};

int gw_fixed_format(double v, int digits, char *buf, size_t len)
{
    /* printf's %.Nf costs ~4k instructions (its exact multi-precision path); a cost is a
     * small non-negative number. p = v * 10^digits is within 2^-53 relative of the exact
     * product, so below 2^40 it is off by less than 2e-4: unless the exact product may sit
     * on a half (where printf's exact rounding decides), rounding p gives printf's digits.
     * Everything else (negative, -0, NaN, large, near a half) goes to snprintf itself. */
    if (digits < 0 || digits > 10 || !buf)
        return -1;
    double p = v * pow10_tab[digits];
    double f = p - floor(p);
    if (!(v >= 0) || signbit(v) || !(p < 1099511627776.0) || fabs(f - 0.5) < 1e-3) {
        int n = snprintf(buf, len, "%.*f", digits, v);
        return n < 0 || (size_t)n >= len ? -1 : n;
    }
    uint64_t q = (uint64_t)p + (f > 0.5), scale = (uint64_t)pow10_tab[digits];
    uint64_t ip = q / scale, fp = q % scale;
    char tmp[40];
    int n = 0;
    do
        tmp[n++] = (char)('0' + ip % 10);
    while ((ip /= 10));
    if ((size_t)(n + (digits ? digits + 1 : 0)) >= len)
        return -1;
    for (int i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    if (digits) {
        buf[n++] = '.';
        for (int i = digits - 1; i >= 0; i--, fp /= 10)
            buf[n + i] = (char)('0' + fp % 10);
        n += digits;
    }
    buf[n] = '\0';
    return n;
}

int gw_cost_format(double usd, char *buf, size_t len)
{
    if (!buf || !isfinite(usd) || usd < 0)
        return -1;
    int n = gw_fixed_format(usd, 10, buf, len);
    if (n < 0)
        return -1;
    while (n > 1 && buf[n - 1] == '0')
        buf[--n] = '\0';
    if (buf[n - 1] == '.')
        buf[--n] = '\0';
    return n;
}
