/*
 * catalog - the built-in model catalog: per (provider vkey, model id) the prices, limits, mode,
 * capabilities and deprecation date, read from catalog/models.json (installed to
 * $(pkgdatadir); format in catalog/README.md). It answers three questions: what does this
 * model cost (see cost.h), which providers serve a model id (routing), and which models does a
 * provider have (/v1/models). Entries of providers without a built-in plugin are kept, so a
 * third-party plugin gets prices by its vkey.
 *
 * Threading: built on the main thread (load, then merge the config's overrides), immutable
 * afterwards, so any thread may read it without locking. A reload builds a new catalog and
 * swaps the pointer; the old one is freed when no request uses it any more.
 */
#ifndef GW_CATALOG_H
#define GW_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* Every price field holds this when the price is unknown. 0 means free. */
#define GW_PRICE_UNKNOWN (-1.0)
#define GW_CATALOG_MAX_TIERS 4
#define GW_CATALOG_FILE "models.json"
#define GW_CATALOG_ENV "AIGW_CATALOG"

enum gw_mode {
    GW_MODE_UNKNOWN = 0,
    GW_MODE_CHAT,
    GW_MODE_RESPONSES,
    GW_MODE_COMPLETION,
    GW_MODE_EMBEDDING,
    GW_MODE_IMAGE_GENERATION,
    GW_MODE_IMAGE_EDIT,
    GW_MODE_AUDIO_TRANSCRIPTION,
    GW_MODE_AUDIO_SPEECH,
    GW_MODE_REALTIME,
    GW_MODE_VIDEO_GENERATION,
    GW_MODE_RERANK,
    GW_MODE_MODERATION,
    GW_MODE_OCR,
    GW_MODE_SEARCH,
    GW_MODE_COUNT
};

enum gw_model_cap {
    GW_MCAP_TOOLS = 1u << 0,
    GW_MCAP_VISION = 1u << 1,
    GW_MCAP_JSON_SCHEMA = 1u << 2,
    GW_MCAP_REASONING = 1u << 3,
    GW_MCAP_PROMPT_CACHING = 1u << 4,
    GW_MCAP_PDF = 1u << 5,
    GW_MCAP_AUDIO_IN = 1u << 6,
    GW_MCAP_AUDIO_OUT = 1u << 7,
    GW_MCAP_WEB_SEARCH = 1u << 8,
    GW_MCAP_COMPUTER_USE = 1u << 9,
};
#define GW_MCAP_COUNT 10

/* Non-token price units; gw_price.unit[] is indexed by these. */
enum gw_unit {
    GW_UNIT_IMAGE = 0, /* one generated image (no variant matched) */
    GW_UNIT_SECOND,    /* one second of audio in, or of video out */
    GW_UNIT_CHARACTER, /* one input character (text to speech) */
    GW_UNIT_QUERY,     /* one rerank / search query */
    GW_UNIT_PAGE,      /* one OCR page */
    GW_UNIT_REQUEST,   /* one request */
    GW_UNIT_PIXEL,     /* one output pixel */
    GW_UNIT_COUNT
};

/* Prices that replace the base ones when prompt_tokens > above. */
struct gw_price_tier {
    int64_t above;
    double in, out, cache_read, cache_write; /* USD per 1M tokens; UNKNOWN: the base price */
};

/* The fields few price tables have (950 of the 9,188 entries shipped): out of line, so an
 * entry without them is 72 bytes smaller (660 kB of the catalog). */
struct gw_price_more {
    double cache_write_1h;       /* the same with Anthropic's 1-hour TTL (informational) */
    double reasoning;            /* reasoning tokens when priced apart; UNKNOWN: at `out` */
    struct gw_price_tier *tiers; /* ascending `above`; NULL when ntiers is 0 */
    int ntiers;
    double unit[GW_UNIT_COUNT]; /* USD per unit */
};

/* One price table: the model's own, or one region's. */
struct gw_price {
    double in, out;             /* USD per 1M tokens */
    double cache_read;          /* cached prompt tokens; UNKNOWN: charged at `in` */
    double cache_write;         /* prompt tokens written to the cache (5-minute TTL) */
    const double *unit;         /* GW_UNIT_COUNT prices per unit: more->unit, or all UNKNOWN */
    struct gw_price_more *more; /* NULL: every field of it is UNKNOWN (no tiers) */
};

struct gw_image_price {
    char *variant; /* "hd/1024x1792", "1024x1024", "low", ... (quality/size[/steps]) */
    double usd;    /* per image */
};

struct gw_region_price {
    char *region; /* "us", "eu", "us-east-1", ... */
    struct gw_price price;
};

/* What few entries have, out of line (24 bytes less for every other entry). */
struct gw_model_more {
    struct gw_image_price *images; /* per-variant image prices, sorted by variant */
    size_t nimages;
    struct gw_region_price *regions; /* sorted by region */
    size_t nregions;
};

struct gw_model {
    const char *provider;   /* vkey; owned by the catalog */
    char *id;               /* the model id sent upstream */
    int mode;               /* enum gw_mode */
    unsigned caps;          /* enum gw_model_cap bits */
    int64_t context;        /* max input tokens; -1 unknown */
    int64_t max_output;     /* max output tokens; -1 unknown */
    int deprecated;         /* 1: deprecated (deprecated_on may still be "") */
    char deprecated_on[11]; /* "YYYY-MM-DD" or "" */
    const char *source;     /* where the prices came from: "litellm", ..., "config" */
    struct gw_price price;
    struct gw_model_more *more; /* NULL: no image variants, no regions (9,119 of 9,188) */
};

struct gw_catalog;

/* $AIGW_CATALOG when set and non-empty, else AIGW_DATA_DIR "/models.json". */
const char *gw_catalog_default_path(void);

/* Loads a catalog file (path NULL or "": the default path). On failure: a negative AIGW_E*
 * code, *out untouched, and one line in err naming the file and the reason. */
int gw_catalog_load(const char *path, struct gw_catalog **out, char *err, size_t errlen);
/* The same from memory; `name` is used in error messages. */
int gw_catalog_parse(const char *text, size_t len, const char *name, struct gw_catalog **out,
                     char *err, size_t errlen);
/* An empty catalog (no file), still accepting gw_catalog_merge(). NULL when out of memory. */
struct gw_catalog *gw_catalog_new(void);
void gw_catalog_free(struct gw_catalog *cat);

/* Adds or overrides entries, from the config: an array of entries in the file's format, or an
 * object whose keys are "provider/model" and whose values are entries (provider and model may
 * then be left out). An existing entry keeps every field the override does not name; null
 * clears a field (unknown). Unknown keys are errors here (typos in a config should be loud).
 * All or nothing: on error the catalog is unchanged and err names `name`, the entry and key. */
int gw_catalog_merge(struct gw_catalog *cat, const cJSON *entries, const char *name, char *err,
                     size_t errlen);

size_t gw_catalog_size(const struct gw_catalog *cat);
/* A number no other catalog had, changed by every merge: what a memo of an entry found in it
 * is stamped with (0 for NULL). */
uint64_t gw_catalog_gen(const struct gw_catalog *cat);

/* Exactly this (vkey, id); a case-insensitive match when no exact one exists. */
const struct gw_model *gw_catalog_get(const struct gw_catalog *cat, const char *vkey,
                                      const char *id);
/* gw_catalog_get, then the common variants of the id, in this order: a "<vkey>/" prefix
 * dropped ("openai/gpt-4o"); a Bedrock geo prefix dropped ("us.", "eu.", "global.", ...);
 * a router suffix dropped ("...:cerebras", ":free"); Fireworks' "accounts/fireworks/models/"
 * added; a fine-tune's "ft:<base>" kept ("ft:gpt-4o-mini-2024-07-18:acme::x1"); a date
 * suffix dropped ("claude-sonnet-4-5-20250929", "...@20250929"). */
const struct gw_model *gw_catalog_find(const struct gw_catalog *cat, const char *vkey,
                                       const char *id);
/* Every provider whose catalog has this exact id (case-insensitive), sorted by vkey. Fills up
 * to max pointers and returns how many there are in all. */
size_t gw_catalog_find_all(const struct gw_catalog *cat, const char *id,
                           const struct gw_model **out, size_t max);
/* One provider's entries sorted by id, for /v1/models; 0 and *out NULL when none. */
size_t gw_catalog_list(const struct gw_catalog *cat, const char *vkey,
                       const struct gw_model *const **out);
/* The vkeys that have entries, sorted. */
size_t gw_catalog_providers(const struct gw_catalog *cat, const char *const **out);

/* The region's prices when the entry has them, else the entry's own. */
const struct gw_price *gw_model_price(const struct gw_model *m, const char *region);

const char *gw_mode_name(int mode);          /* "chat", ...; "unknown" */
int gw_mode_from_name(const char *name);     /* GW_MODE_UNKNOWN when not a mode */
const char *gw_model_cap_name(unsigned bit); /* "tools", ...; NULL when not one bit */

#endif
