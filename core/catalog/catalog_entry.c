/*
 * catalog_entry - one catalog entry from JSON into struct gw_model. The file format and the
 * config's overrides share this code; overrides are strict (an unknown key is a typo to
 * report), the file is lenient (a newer generator may add fields an older aigw ignores).
 */
#include "catalog/catalog_int.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aigw/plugin.h"

#define MAX_PRICE 1e9  /* USD; anything larger is a unit mistake */
#define MAX_COUNT 1e15 /* tokens */

static const char *const mode_names[GW_MODE_COUNT] = {
    "unknown",          "chat",       "responses",           "completion",   "embedding",
    "image_generation", "image_edit", "audio_transcription", "audio_speech", "realtime",
    "video_generation", "rerank",     "moderation",          "ocr",          "search"};

static const char *const cap_names[GW_MCAP_COUNT] = {
    "tools", "vision",   "json_schema", "reasoning",  "prompt_caching",
    "pdf",   "audio_in", "audio_out",   "web_search", "computer_use"};

static const char *const unit_keys[GW_UNIT_COUNT] = {"per_image", "per_second", "per_character",
                                                     "per_query", "per_page",   "per_request",
                                                     "per_pixel"};

const char *gw_mode_name(int mode)
{
    return mode > 0 && mode < GW_MODE_COUNT ? mode_names[mode] : "unknown";
}

int gw_mode_from_name(const char *name)
{
    for (int i = 1; name && i < GW_MODE_COUNT; i++)
        if (strcmp(name, mode_names[i]) == 0)
            return i;
    return GW_MODE_UNKNOWN;
}

const char *gw_model_cap_name(unsigned bit)
{
    for (int i = 0; i < GW_MCAP_COUNT; i++)
        if (bit == 1u << i)
            return cap_names[i];
    return NULL;
}

int gw_catalog_seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return AIGW_EINVAL;
}

int gw_catalog_fail(const struct gw_entry_ctx *c, const char *key, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->err && c->errlen) {
        char where[32];
        int p = c->prov && c->id;
        if (!c->where)
            snprintf(where, sizeof where, "models[%zu]", c->index);
        snprintf(c->err, c->errlen, "%s: %s%s%s%s%s%s: %s%s%s%s", c->name,
                 c->where ? c->where : where, p ? " (" : "", p ? c->prov : "", p ? "/" : "",
                 p ? c->id : "", p ? ")" : "", key ? "\"" : "", key ? key : "", key ? "\" " : "",
                 msg);
    }
    return AIGW_EINVAL;
}

int gw_catalog_valid_vkey(const char *s)
{
    size_t n = 0;
    for (; s && s[n]; n++)
        if (!islower((unsigned char)s[n]) && !isdigit((unsigned char)s[n]) && s[n] != '-' &&
            s[n] != '.' && s[n] != '_')
            return 0;
    return n > 0 && n <= GW_CATALOG_MAX_NAME;
}

int gw_catalog_valid_id(const char *s)
{
    size_t n = 0;
    for (; s && s[n]; n++)
        if ((unsigned char)s[n] < 0x20 || s[n] == 0x7f)
            return 0;
    return n > 0 && n <= GW_CATALOG_MAX_ID;
}

/* ---- id forms ------------------------------------------------------------------------ */

size_t gw_catalog_geo_prefix(const char *id)
{
    static const char *const geo[] = {"us.", "eu.", "apac.",   "global.",  "au.",
                                      "jp.", "ca.", "us-gov.", "regional."};
    for (size_t i = 0; i < sizeof geo / sizeof geo[0]; i++) {
        size_t n = strlen(geo[i]);
        if (strncasecmp(id, geo[i], n) == 0 && id[n])
            return n;
    }
    return 0;
}

/* Length of id without a router suffix such as ":cerebras" or ":free"; a suffix that starts
 * with a digit is a version (Bedrock's ":0", Ollama's ":8b") and stays. */
size_t gw_catalog_without_suffix(const char *id, size_t len)
{
    size_t c = len;
    while (c > 0 && id[c - 1] != ':')
        c--;
    if (c < 2 || c == len || !isalpha((unsigned char)id[c]))
        return len;
    for (size_t k = c; k < len; k++)
        if (!isalnum((unsigned char)id[k]) && id[k] != '-' && id[k] != '_')
            return len;
    return c - 1;
}

static int digits(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)p[i]))
            return 0;
    return 1;
}

/* Length of id without a trailing date: -YYYYMMDD, @YYYYMMDD or -YYYY-MM-DD. */
size_t gw_catalog_without_date(const char *id, size_t len)
{
    if (len > 9 && (id[len - 9] == '-' || id[len - 9] == '@') && digits(id + len - 8, 8))
        return len - 9;
    if (len > 11 && id[len - 11] == '-' && digits(id + len - 10, 4) && id[len - 6] == '-' &&
        digits(id + len - 5, 2) && id[len - 3] == '-' && digits(id + len - 2, 2))
        return len - 11;
    return len;
}

/* ---- fields --------------------------------------------------------------------------- */

static int get_price(const struct gw_entry_ctx *c, const cJSON *v, const char *key, int nullable,
                     double *out)
{
    if (nullable && cJSON_IsNull(v)) {
        *out = GW_PRICE_UNKNOWN;
        return 0;
    }
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0 ||
        v->valuedouble > MAX_PRICE)
        return gw_catalog_fail(c, key, "must be a non-negative number (USD)%s",
                               nullable ? " or null" : "");
    *out = v->valuedouble;
    return 0;
}

static int get_count(const struct gw_entry_ctx *c, const cJSON *v, const char *key, double min,
                     int64_t *out)
{
    if (min <= 0 && cJSON_IsNull(v)) {
        *out = -1;
        return 0;
    }
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < min ||
        v->valuedouble > MAX_COUNT || floor(v->valuedouble) != v->valuedouble)
        return gw_catalog_fail(c, key, "must be a whole number >= %.0f%s", min,
                               min <= 0 ? " or null" : "");
    *out = (int64_t)v->valuedouble;
    return 0;
}

static int parse_tiers(struct gw_price *p, const cJSON *v, const struct gw_entry_ctx *c)
{
    struct gw_price_tier t[GW_CATALOG_MAX_TIERS];
    char key[48];
    int n = 0;
    if (cJSON_IsNull(v)) {
        if (p->more) {
            free(p->more->tiers);
            p->more->tiers = NULL;
            p->more->ntiers = 0;
        }
        return 0;
    }
    if (!cJSON_IsArray(v))
        return gw_catalog_fail(c, "tiers", "must be an array of {\"above\", \"in\", ...}");
    if (cJSON_GetArraySize(v) > GW_CATALOG_MAX_TIERS)
        return gw_catalog_fail(c, "tiers", "has more than %d tiers", GW_CATALOG_MAX_TIERS);
    for (const cJSON *it = v->child; it; it = it->next, n++) {
        struct gw_price_tier *x = &t[n];
        x->above = -1;
        x->in = x->out = x->cache_read = x->cache_write = GW_PRICE_UNKNOWN;
        if (!cJSON_IsObject(it))
            return gw_catalog_fail(c, "tiers", "entry %d must be an object", n);
        for (const cJSON *f = it->child; f; f = f->next) {
            double *slot = strcmp(f->string, "in") == 0            ? &x->in
                           : strcmp(f->string, "out") == 0         ? &x->out
                           : strcmp(f->string, "cache_read") == 0  ? &x->cache_read
                           : strcmp(f->string, "cache_write") == 0 ? &x->cache_write
                                                                   : NULL;
            snprintf(key, sizeof key, "tiers[%d].%.20s", n, f->string);
            int rc = 0;
            if (slot)
                rc = get_price(c, f, key, 1, slot);
            else if (strcmp(f->string, "above") == 0)
                rc = get_count(c, f, key, 1, &x->above);
            else if (c->strict)
                rc = gw_catalog_fail(c, key, "is not a tier field");
            if (rc)
                return rc;
        }
        if (x->above < 1)
            return gw_catalog_fail(c, "tiers", "entry %d needs \"above\" (a token count)", n);
        if (n > 0 && x->above <= t[n - 1].above)
            return gw_catalog_fail(c, "tiers", "must be sorted by ascending \"above\"");
    }
    struct gw_price_more fresh;
    if (gw_catalog_tiers_copy(&fresh, t, n) || (n && !gw_catalog_price_more(p))) {
        free(fresh.tiers);
        return AIGW_ENOMEM;
    }
    if (p->more) {
        free(p->more->tiers);
        p->more->tiers = fresh.tiers;
        p->more->ntiers = fresh.ntiers;
    }
    return 0;
}

/* 1: key was a price-table field and is applied; 0: not one; negative: error. */
static int price_field(struct gw_price *p, const cJSON *v, const struct gw_entry_ctx *c)
{
    const char *k = v->string;
    if (!strchr("iocrpt", k[0]))
        return 0; /* most other keys, without a string of strcmp() calls */
    double *slot = strcmp(k, "in") == 0            ? &p->in
                   : strcmp(k, "out") == 0         ? &p->out
                   : strcmp(k, "cache_read") == 0  ? &p->cache_read
                   : strcmp(k, "cache_write") == 0 ? &p->cache_write
                                                   : NULL;
    if (slot) {
        int rc = get_price(c, v, k, 1, slot);
        return rc ? rc : 1;
    }
    /* The rare ones live in p->more, made only for a price that is known. */
    int which = strcmp(k, "cache_write_1h") == 0 ? GW_UNIT_COUNT
                : strcmp(k, "reasoning") == 0    ? GW_UNIT_COUNT + 1
                                                 : -1;
    for (int i = 0; which < 0 && i < GW_UNIT_COUNT; i++)
        if (strcmp(k, unit_keys[i]) == 0)
            which = i;
    if (which >= 0) {
        double price;
        int rc = get_price(c, v, k, 1, &price);
        if (rc)
            return rc;
        if (price == GW_PRICE_UNKNOWN && !p->more)
            return 1;
        struct gw_price_more *x = gw_catalog_price_more(p);
        if (!x)
            return AIGW_ENOMEM;
        *(which == GW_UNIT_COUNT       ? &x->cache_write_1h
          : which == GW_UNIT_COUNT + 1 ? &x->reasoning
                                       : &x->unit[which]) = price;
        return 1;
    }
    if (strcmp(k, "tiers") == 0) {
        int rc = parse_tiers(p, v, c);
        return rc ? rc : 1;
    }
    return 0;
}

static int cmp_image(const void *a, const void *b)
{
    return strcmp(((const struct gw_image_price *)a)->variant,
                  ((const struct gw_image_price *)b)->variant);
}

static int cmp_region(const void *a, const void *b)
{
    return strcmp(((const struct gw_region_price *)a)->region,
                  ((const struct gw_region_price *)b)->region);
}

static int valid_name(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= GW_CATALOG_MAX_NAME && gw_catalog_valid_id(s);
}

static int parse_images(struct gw_model *m, const cJSON *v, const struct gw_entry_ctx *c)
{
    struct gw_image_price *arr = NULL;
    size_t n = 0;
    int rc = 0;
    if (!cJSON_IsNull(v) && !cJSON_IsObject(v))
        return gw_catalog_fail(c, "image_prices", "must be an object {variant: USD per image}");
    size_t cnt = cJSON_IsObject(v) ? (size_t)cJSON_GetArraySize(v) : 0;
    if (cnt && !(arr = calloc(cnt, sizeof *arr)))
        return AIGW_ENOMEM;
    for (const cJSON *f = cJSON_IsObject(v) ? v->child : NULL; f && !rc; f = f->next) {
        if (!valid_name(f->string)) {
            rc = gw_catalog_fail(c, "image_prices", "has an empty or overlong variant name");
        } else if (!(rc = get_price(c, f, "image_prices", 0, &arr[n].usd))) {
            if (!(arr[n].variant = strdup(f->string)))
                rc = AIGW_ENOMEM;
            else
                n++;
        }
    }
    if (!rc && n) {
        qsort(arr, n, sizeof *arr, cmp_image);
        for (size_t i = 1; i < n && !rc; i++)
            if (strcmp(arr[i - 1].variant, arr[i].variant) == 0)
                rc = gw_catalog_fail(c, "image_prices", "lists \"%.64s\" twice", arr[i].variant);
    }
    if (rc) {
        gw_catalog_images_free(arr, n);
        return rc;
    }
    if (!n && !m->more)
        return 0; /* null or {}: nothing to clear */
    struct gw_model_more *x = gw_catalog_model_more(m);
    if (!x) {
        gw_catalog_images_free(arr, n);
        return AIGW_ENOMEM;
    }
    gw_catalog_images_free(x->images, x->nimages);
    x->images = arr;
    x->nimages = n;
    return 0;
}

static int parse_regions(struct gw_model *m, const cJSON *v, const struct gw_entry_ctx *c)
{
    struct gw_region_price *arr = NULL;
    size_t n = 0;
    int rc = 0;
    if (!cJSON_IsNull(v) && !cJSON_IsObject(v))
        return gw_catalog_fail(c, "regions", "must be an object {region: {prices}}");
    size_t cnt = cJSON_IsObject(v) ? (size_t)cJSON_GetArraySize(v) : 0;
    if (cnt && !(arr = calloc(cnt, sizeof *arr)))
        return AIGW_ENOMEM;
    for (const cJSON *r = cJSON_IsObject(v) ? v->child : NULL; r && !rc; r = r->next) {
        if (!valid_name(r->string) || !cJSON_IsObject(r)) {
            rc = gw_catalog_fail(c, "regions", "needs a region name mapped to an object");
            break;
        }
        gw_catalog_price_init(&arr[n].price);
        if (!(arr[n].region = strdup(r->string))) {
            rc = AIGW_ENOMEM;
            break;
        }
        n++;
        for (const cJSON *f = r->child; f && !rc; f = f->next) {
            int k = price_field(&arr[n - 1].price, f, c);
            if (k < 0)
                rc = k;
            else if (k == 0 && c->strict)
                rc = gw_catalog_fail(c, "regions", "region \"%.64s\": \"%.32s\" is not a price",
                                     r->string, f->string);
        }
    }
    if (!rc && n) {
        qsort(arr, n, sizeof *arr, cmp_region);
        for (size_t i = 1; i < n && !rc; i++)
            if (strcmp(arr[i - 1].region, arr[i].region) == 0)
                rc = gw_catalog_fail(c, "regions", "lists \"%.64s\" twice", arr[i].region);
    }
    if (rc) {
        gw_catalog_regions_free(arr, n);
        return rc;
    }
    if (!n && !m->more)
        return 0; /* null or {}: nothing to clear */
    struct gw_model_more *x = gw_catalog_model_more(m);
    if (!x) {
        gw_catalog_regions_free(arr, n);
        return AIGW_ENOMEM;
    }
    gw_catalog_regions_free(x->regions, x->nregions);
    x->regions = arr;
    x->nregions = n;
    return 0;
}

static int parse_caps(struct gw_model *m, const cJSON *v, const struct gw_entry_ctx *c)
{
    unsigned caps = 0;
    if (!cJSON_IsNull(v) && !cJSON_IsArray(v))
        return gw_catalog_fail(c, "caps", "must be an array of capability names");
    for (const cJSON *it = cJSON_IsArray(v) ? v->child : NULL; it; it = it->next) {
        int i = 0;
        if (!cJSON_IsString(it))
            return gw_catalog_fail(c, "caps", "must be an array of capability names");
        while (i < GW_MCAP_COUNT && strcmp(it->valuestring, cap_names[i]) != 0)
            i++;
        if (i < GW_MCAP_COUNT)
            caps |= 1u << i;
        else if (c->strict)
            return gw_catalog_fail(c, "caps",
                                   "\"%.32s\" is not a capability (tools, vision, "
                                   "json_schema, reasoning, prompt_caching, pdf, audio_in, "
                                   "audio_out, web_search, computer_use)",
                                   it->valuestring);
    }
    m->caps = caps;
    return 0;
}

static int parse_deprecated(struct gw_model *m, const cJSON *v, const struct gw_entry_ctx *c)
{
    const char *s = cJSON_IsString(v) ? v->valuestring : NULL;
    if (cJSON_IsNull(v) || cJSON_IsBool(v)) {
        m->deprecated = cJSON_IsTrue(v);
        m->deprecated_on[0] = '\0';
        return 0;
    }
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return gw_catalog_fail(c, "deprecated", "must be \"YYYY-MM-DD\", true, false or null");
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
            return gw_catalog_fail(c, "deprecated",
                                   "must be \"YYYY-MM-DD\", true, false or "
                                   "null");
    m->deprecated = 1;
    memcpy(m->deprecated_on, s, 11);
    return 0;
}

int gw_catalog_apply(struct gw_model *m, const cJSON *obj, const struct gw_entry_ctx *c,
                     const char **source)
{
    if (!cJSON_IsObject(obj))
        return gw_catalog_fail(c, NULL, "an entry must be a JSON object");
    for (const cJSON *f = obj->child; f; f = f->next) {
        const char *k = f->string;
        int rc = 0;
        if (strcmp(k, "provider") == 0 || strcmp(k, "model") == 0)
            continue;
        if ((rc = price_field(&m->price, f, c)) != 0) {
            if (rc < 0)
                return rc;
            continue;
        }
        if (strcmp(k, "mode") == 0) {
            if (!cJSON_IsNull(f) && !cJSON_IsString(f))
                return gw_catalog_fail(c, k, "must be a mode name (chat, embedding, ...)");
            m->mode = cJSON_IsString(f) ? gw_mode_from_name(f->valuestring) : GW_MODE_UNKNOWN;
            if (cJSON_IsString(f) && m->mode == GW_MODE_UNKNOWN && c->strict)
                return gw_catalog_fail(c, k,
                                       "\"%.32s\" is not a mode (chat, responses, "
                                       "completion, embedding, image_generation, ...)",
                                       f->valuestring);
        } else if (strcmp(k, "context") == 0) {
            rc = get_count(c, f, k, 0, &m->context);
        } else if (strcmp(k, "max_output") == 0) {
            rc = get_count(c, f, k, 0, &m->max_output);
        } else if (strcmp(k, "image_prices") == 0) {
            rc = parse_images(m, f, c);
        } else if (strcmp(k, "regions") == 0) {
            rc = parse_regions(m, f, c);
        } else if (strcmp(k, "caps") == 0) {
            rc = parse_caps(m, f, c);
        } else if (strcmp(k, "deprecated") == 0) {
            rc = parse_deprecated(m, f, c);
        } else if (strcmp(k, "source") == 0) {
            if (!cJSON_IsString(f) || !valid_name(f->valuestring))
                return gw_catalog_fail(c, k, "must be a short string");
            if (source)
                *source = f->valuestring;
        } else if (c->strict) {
            return gw_catalog_fail(c, k, "is not a catalog field (see catalog/README.md)");
        }
        if (rc)
            return rc;
    }
    return 0;
}
