/* store_period - key records' lifetime and allowlists, budget periods, enum names. */
#include "store/store_int.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "aigw/plugin.h"

struct gw_key *gw_key_alloc(void)
{
    struct gw_key *k = calloc(1, sizeof *k);
    if (k) {
        k->refs = 1;
        k->rpm = k->tpm = -1;
        k->budget_usd = -1;
    }
    return k;
}

void gw_key_ref(struct gw_key *k)
{
    if (k)
        __atomic_add_fetch(&k->refs, 1, __ATOMIC_RELAXED);
}

static void free_list(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void gw_key_unref(struct gw_key *k)
{
    if (!k || __atomic_sub_fetch(&k->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    free(k->metadata_json);
    free_list(k->models, k->n_models);
    free_list(k->providers, k->n_providers);
    free(k);
}

static int allows(char *const *globs, size_t n, const char *name)
{
    if (!globs)
        return 1;
    if (!name)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (fnmatch(globs[i], name, 0) == 0)
            return 1;
    return 0;
}

int gw_key_allows_model(const struct gw_key *k, const char *model)
{
    return allows(k->models, k->n_models, model);
}

int gw_key_allows_provider(const struct gw_key *k, const char *provider)
{
    return allows(k->providers, k->n_providers, provider);
}

static const char *const period_names[] = {"none", "daily", "weekly", "monthly"};

const char *gw_budget_period_str(enum gw_budget_period p)
{
    return (unsigned)p < 4 ? period_names[p] : "none";
}

int gw_budget_period_parse(const char *s, enum gw_budget_period *out)
{
    for (int i = 0; s && i < 4; i++) {
        if (!strcmp(s, period_names[i])) {
            *out = (enum gw_budget_period)i;
            return 0;
        }
    }
    return AIGW_EINVAL;
}

/* Days since 1970-01-01 of a civil date, and back (Howard Hinnant's algorithms). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int64_t *m)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

static int64_t floor_day(int64_t now)
{
    return now >= 0 ? now / 86400 : -((-now + 86399) / 86400);
}

int64_t gw_budget_period_start(enum gw_budget_period p, int64_t now)
{
    int64_t day = floor_day(now);
    switch (p) {
    case GW_PERIOD_DAILY:
        return day * 86400;
    case GW_PERIOD_WEEKLY: {
        int64_t wd = ((day + 3) % 7 + 7) % 7; /* 1970-01-01 was a Thursday; Monday is 0 */
        return (day - wd) * 86400;
    }
    case GW_PERIOD_MONTHLY: {
        int64_t y, m;
        civil_from_days(day, &y, &m);
        return days_from_civil(y, m, 1) * 86400;
    }
    default:
        return 0;
    }
}

int64_t gw_budget_period_reset(enum gw_budget_period p, int64_t now)
{
    int64_t start = gw_budget_period_start(p, now);
    switch (p) {
    case GW_PERIOD_DAILY:
        return start + 86400;
    case GW_PERIOD_WEEKLY:
        return start + 7 * 86400;
    case GW_PERIOD_MONTHLY: {
        int64_t y, m;
        civil_from_days(start / 86400, &y, &m);
        return days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) * 86400;
    }
    default:
        return 0;
    }
}

const char *gw_key_auth_str(enum gw_key_auth r)
{
    switch (r) {
    case GW_AUTH_OK:
        return "ok";
    case GW_AUTH_NOT_OURS:
        return "not_ours";
    case GW_AUTH_UNKNOWN:
        return "unknown";
    case GW_AUTH_BAD_SECRET:
        return "bad_secret";
    case GW_AUTH_REVOKED:
        return "revoked";
    case GW_AUTH_EXPIRED:
        return "expired";
    case GW_AUTH_UNAVAILABLE:
        return "unavailable";
    case GW_AUTH_PENDING:
        return "pending";
    }
    return "unknown";
}

int gw_usage_group_parse(const char *s, enum gw_usage_group *out)
{
    static const char *const names[] = {"key", "model", "provider", "day"};
    for (int i = 0; s && i < 4; i++) {
        if (!strcmp(s, names[i])) {
            *out = (enum gw_usage_group)i;
            return 0;
        }
    }
    return AIGW_EINVAL;
}
