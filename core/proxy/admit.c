/*
 * admit - the phase that decides whether a keyed caller may spend now (requests without a
 * gateway key pass untouched):
 *
 *   1. allowlists: the key's model globs and provider globs are checked on the routed
 *      targets (so an alias is judged by what it resolves to: a target passes when a model
 *      glob admits its model or "provider/model"); disallowed targets are dropped, and with
 *      none left the answer is 403 naming what the key allows. The targets are planned,
 *      circuit breakers left out: the response cache comes first, and the route phase
 *      applies the breakers after a miss (route_phase.c).
 *   2. limits: one gw_counters_admit on the worker's counters reserves the request (RPM), its
 *      token estimate (TPM) and, with a budget, a USD grant. The estimate is the prompt's
 *      bytes / 4 (the strings of the messages, input, prompt and tools: no tokenizer runs
 *      here, and settlement corrects it to the real count) plus max_tokens capped at
 *      limits.max_reserve_tokens (the cap itself when the request names none), times n.
 *   3. budget: the wanted grant is the catalog price of the first target at that estimate,
 *      the least useful one the price of a short answer (16 tokens); whatever is granted,
 *      max_tokens (or max_completion_tokens, and the native body's own field) is clamped so
 *      that one answer, all n of its choices, cannot cost more than the grant. A model with
 *      no catalog price cannot be used under a budget (403): its spend could not be counted.
 *
 * The admission is asynchronous: the access handler returns with the connection asleep and
 * the counters' callback runs later on the same worker loop. Admitted: admit_wait = 2 and the
 * connection is woken; gw_req_run goes on from the cache lookup, in the access handler (only
 * there may MHD_queue_response be called). Refused: the dialect's error document is rendered
 * into the relay, like an upstream error, and the woken handler queues it. A client that
 * leaves meanwhile cancels the admission (gw_admit_abandon), exactly once.
 *
 * Answers: 429 rate_limit_exceeded with Retry-After; an exhausted budget 429
 * insufficient_quota with x-should-retry: false; 503 when a budget cannot be checked (Redis
 * down and budgets fail closed). Every answer to a keyed request carries X-Gateway-Key-Id and
 * OpenAI's x-ratelimit-* headers for the limits the key has.
 */
#include "proxy/req_int.h"
#include "proxy/snapshot.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "catalog/catalog.h"
#include "catalog/cost.h"
#include "lib/log.h"
#include "obs/metrics.h"
#include "plugin/errors.h"
#include "plugin/usage.h"
#include "proxy/counters_loop.h"
#include "store/store.h"

#define SHORT_ANSWER_TOKENS 16 /* the least answer worth a budget grant */
#define ESTIMATE_DEPTH 12      /* how deep the prompt estimate walks the JSON */

/* ---- answering before the upstream ------------------------------------------------------- */

struct refusal {
    struct gw_req *r;
    int status;
    const char *type, *code, *param, *message;
};

static int write_refusal(void *ud, struct gw_buf *out, int64_t sent, int committed)
{
    struct refusal *f = ud;
    (void)sent;
    (void)committed;
    f->r->status = f->status;
    return gw_error_document(f->r->dialect->error_body, out, f->status, f->type, f->code, f->param,
                             f->message);
}

/* The refusal goes through the relay, as an upstream error would: from the access handler
 * gw_req_run queues it at once; from the counters' callback the relay's close wakes the
 * sleeping connection and the handler queues it then. */
static int refuse(struct gw_req *r, int status, const char *type, const char *code,
                  const char *param, const char *message)
{
    struct refusal f = {r, status, type, code, param, message};
    gw_relay_close(&r->relay, write_refusal, &f);
    gw_account_close(r, status, type);
    r->answer = MHD_YES;
    return AIGW_EINVAL;
}

/* ---- allowlists ------------------------------------------------------------------------- */

static int target_allowed(const struct gw_key *k, const struct gw_target *t)
{
    const char *vkey = t->plugin->desc.vkey;
    if (!gw_key_allows_provider(k, vkey))
        return 0;
    if (!k->models)
        return 1;
    char full[320];
    snprintf(full, sizeof full, "%s/%s", vkey, t->model);
    return gw_key_allows_model(k, t->model) || gw_key_allows_model(k, full);
}

/* "a, b, c" of a list (NULL: "any"), cut short to fit. */
static void list_text(char **v, size_t n, char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    if (!v) {
        snprintf(out, size, "any");
        return;
    }
    if (!n)
        snprintf(out, size, "none");
    for (size_t i = 0; i < n && len + 8 < size; i++) {
        int w = snprintf(out + len, size - len, "%s%s", i ? ", " : "", v[i]);
        if (w < 0 || (size_t)w >= size - len) {
            snprintf(out + len, size - len, "...");
            break;
        }
        len += (size_t)w;
    }
}

/* Drops the targets the key may not use: 0, or negative once answered (403). */
static int filter_targets(struct gw_req *r)
{
    const struct gw_key *k = r->key;
    struct gw_route_result *rt = &r->route;
    int kept = 0;
    for (int i = 0; i < rt->n; i++)
        if (target_allowed(k, &rt->targets[i]))
            rt->targets[kept++] = rt->targets[i];
    rt->n = kept;
    if (kept)
        return 0;
    char models[400], providers[400], msg[900];
    list_text(k->models, k->n_models, models, sizeof models);
    list_text(k->providers, k->n_providers, providers, sizeof providers);
    snprintf(msg, sizeof msg,
             "this key may not use model '%.200s'; allowed models: %s; allowed providers: %s",
             r->parsed.model ? r->parsed.model : "", models, providers);
    return refuse(r, 403, "permission_error", "model_not_allowed", "model", msg);
}

/* ---- the estimate ----------------------------------------------------------------------- */

static int64_t string_bytes(const cJSON *v, int depth)
{
    if (!v || depth > ESTIMATE_DEPTH)
        return 0;
    if (cJSON_IsString(v))
        return (int64_t)strlen(v->valuestring);
    int64_t n = 0;
    const cJSON *it;
    if (cJSON_IsArray(v) || cJSON_IsObject(v)) {
        cJSON_ArrayForEach(it, v)
        {
            n += string_bytes(it, depth + 1) + 1;
        }
    }
    return n;
}

int64_t gw_admit_prompt_estimate(const cJSON *body)
{
    static const char *const fields[] = {"messages", "input", "prompt", "tools", NULL};
    int64_t bytes = 0;
    for (int i = 0; fields[i]; i++)
        bytes += string_bytes(cJSON_GetObjectItemCaseSensitive(body, fields[i]), 0);
    return bytes / 4 + 1;
}

/* The request's own output cap: max_completion_tokens, else max_tokens; -1 when none. */
static int64_t asked_max_tokens(const cJSON *body)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(body, "max_completion_tokens");
    if (!cJSON_IsNumber(m))
        m = cJSON_GetObjectItemCaseSensitive(body, "max_tokens");
    if (!cJSON_IsNumber(m) || !(m->valuedouble >= 0))
        return -1;
    return m->valuedouble < 1e15 ? (int64_t)m->valuedouble : (int64_t)1e15; /* no UB cast */
}

/* How many answers one request asks for: OpenAI's n (validated 1 to 128 by the dialect), 1
 * when absent. Each choice is an answer of up to max_tokens, billed whole, so the estimate,
 * the grant and the clamp all count choices. */
static int64_t asked_choices(const cJSON *body)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(body, "n");
    if (!cJSON_IsNumber(n) || !(n->valuedouble >= 1))
        return 1;
    return n->valuedouble < 1e6 ? (int64_t)n->valuedouble : (int64_t)1e6; /* no UB cast */
}

static void set_number(cJSON *o, const char *name, int64_t v)
{
    cJSON *it = cJSON_GetObjectItemCaseSensitive(o, name);
    if (it)
        cJSON_SetNumberValue(it, (double)v);
    else
        cJSON_AddNumberToObject(o, name, (double)v);
}

/* Caps the answer at max_out tokens in the internal body and in the client's own body a
 * native target may forward. */
static void clamp_output(struct gw_req *r, int64_t max_out)
{
    cJSON *b = r->parsed.body;
    const cJSON *mct = cJSON_GetObjectItemCaseSensitive(b, "max_completion_tokens");
    int64_t asked = asked_max_tokens(b);
    if (asked < 0 || asked > max_out)
        set_number(b, mct ? "max_completion_tokens" : "max_tokens", max_out);
    cJSON *n = r->parsed.native;
    if (!n)
        return;
    static const char *const names[] = {"max_tokens", "max_output_tokens", "max_completion_tokens",
                                        NULL};
    int found = 0;
    for (int i = 0; names[i]; i++) {
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(n, names[i]);
        if (!cJSON_IsNumber(it))
            continue;
        found = 1;
        if (it->valuedouble > (double)max_out)
            set_number(n, names[i], max_out);
    }
    if (!found && r->dialect && !strcmp(r->dialect->name, "responses"))
        set_number(n, "max_output_tokens", max_out);
}

/* ---- pricing ---------------------------------------------------------------------------- */

struct pricing {
    const struct gw_model *m;
    int64_t prompt;
    double in_usd;  /* the prompt alone */
    double out_usd; /* one output token */
};

static int price(const struct gw_model *m, int64_t prompt, int64_t out, double *usd)
{
    struct aigw_usage u;
    memset(&u, 0, sizeof u);
    gw_usage_init(&u);
    u.prompt_tokens = prompt;
    u.completion_tokens = out;
    return gw_cost_usd(m, &u, usd);
}

/* The price of the prompt and of one output token at target i. */
static int pricing_at(struct gw_req *r, int i, int64_t prompt, struct pricing *p)
{
    const struct gw_target *t = &r->route.targets[i];
    memset(p, 0, sizeof *p);
    p->m = gw_target_entry(t, r->gw->catalog);
    p->prompt = prompt;
    double million = 0;
    if (!p->m || price(p->m, prompt, 0, &p->in_usd) < 0)
        return GW_COST_UNKNOWN;
    if (r->parsed.op != AIGW_OP_CHAT)
        return 0; /* input only (embeddings) */
    if (price(p->m, prompt, 1000000, &million) < 0)
        return GW_COST_UNKNOWN;
    p->out_usd = (million - p->in_usd) / 1e6;
    return 0;
}

static int pricing_of(struct gw_req *r, int64_t prompt, struct pricing *p)
{
    return pricing_at(r, 0, prompt, p);
}

/* Under a budget, a target without a catalog price is dropped like one the key may not use:
 * its answer's cost could be counted nowhere (the ledger would say null). 0 when one is left. */
static int drop_unpriced(struct gw_req *r, int64_t prompt)
{
    struct gw_route_result *rt = &r->route;
    struct pricing p;
    int kept = 0;
    for (int i = 0; i < rt->n; i++)
        if (pricing_at(r, i, prompt, &p) == 0)
            rt->targets[kept++] = rt->targets[i];
    if (!kept)
        return -1;
    rt->n = kept;
    return 0;
}

static int64_t micros(double usd)
{
    return usd <= 0 ? 0 : (int64_t)ceil(usd * 1e6);
}

/* ---- the admission ---------------------------------------------------------------------- */

static const char *limit_name(int limit)
{
    return limit == GW_LIMIT_RPM ? "requests" : limit == GW_LIMIT_TPM ? "tokens" : "budget";
}

static const char *degraded_name(const struct gw_admit_result *res)
{
    if (res->status == GW_ADMIT_UNAVAILABLE)
        return "budget_fail_closed";
    if (res->granted_micros > 0)
        return "budget_fail_open";
    return "ratelimit_local";
}

/* The counters' answer, on the worker loop, outside MHD's handler. */
static void admitted(void *ud, const struct gw_admit_result *res)
{
    struct gw_req *r = ud;
    r->admit_op = NULL;
    r->rl_requests = res->requests;
    r->rl_tokens = res->tokens;
    const char *kid = r->key->id;
    if (res->degraded) /* the counters log it too, a line a second at most */
        gw_metrics_degraded(degraded_name(res));
    if (res->status == GW_ADMIT_OK) {
        r->resv = res->reservation;
        if (res->granted_micros > 0 && r->parsed.op == AIGW_OP_CHAT) {
            struct pricing p;
            if (pricing_of(r, gw_admit_prompt_estimate(r->parsed.body), &p) == 0 && p.out_usd > 0) {
                double left = (double)res->granted_micros / 1e6 - p.in_usd;
                double per = p.out_usd * (double)asked_choices(r->parsed.body);
                int64_t out = left > 0 ? (int64_t)floor(left / per) : 0;
                clamp_output(r, out > 0 ? out : 1);
            }
        }
        pthread_mutex_lock(&r->relay.lock);
        r->admit_wait = 2;
        gw_relay_wake_locked(&r->relay);
        pthread_mutex_unlock(&r->relay.lock);
    } else if (res->status == GW_ADMIT_UNAVAILABLE) {
        r->retry_after_ms = 1000;
        refuse(r, 503, "service_unavailable_error", "budget_unavailable", NULL,
               "the key's budget cannot be checked right now; retry");
    } else if (res->limit == GW_LIMIT_BUDGET && res->budget_busy) {
        /* Not exhausted: the rest is reserved by this key's requests in flight. Saying
         * insufficient_quota (do not retry) would make clients give up on money left. */
        gw_metrics_rate_limited(kid, "budget");
        r->retry_after_ms = res->retry_after_ms;
        refuse(r, 429, "rate_limit_exceeded", "budget_in_use", NULL,
               "this key's remaining budget is reserved by its requests in flight; retry");
    } else if (res->limit == GW_LIMIT_BUDGET) {
        gw_metrics_budget_exceeded(kid);
        r->no_retry = 1;
        r->retry_after_ms = -1;
        if (r->key->period_reset > 0) {
            int64_t left = r->key->period_reset - (int64_t)time(NULL);
            r->retry_after_ms = left > 0 ? left * 1000 : 1000;
        }
        refuse(r, 429, "insufficient_quota", "insufficient_quota", NULL,
               "this key's budget is exhausted for the current period");
    } else {
        gw_metrics_rate_limited(kid, limit_name(res->limit));
        r->retry_after_ms = res->retry_after_ms;
        if (res->too_large) {
            r->no_retry = 1;
            refuse(r, 429, "rate_limit_exceeded", "rate_limit_exceeded", "max_tokens",
                   "this request alone is larger than the key's tokens-per-minute limit");
        } else {
            char msg[160];
            snprintf(msg, sizeof msg, "rate limit reached for this key: %s per minute",
                     limit_name(res->limit));
            refuse(r, 429, "rate_limit_exceeded", "rate_limit_exceeded", NULL, msg);
        }
    }
    gw_req_unref(r); /* the admission's reference */
}

int gw_phase_admit(struct gw_req *r)
{
    struct gw_key *k = r->key;
    if (!k)
        return 0;
    int budget = k->budget_usd >= 0;
    int limited = k->rpm >= 0 || k->tpm >= 0 || budget;
    if (k->models || k->providers || budget) {
        if (gw_phase_route_plan(r) < 0)
            return AIGW_EINVAL;
        if (filter_targets(r) < 0)
            return AIGW_EINVAL;
    }
    if (!limited)
        return 0;
    if (k->rpm == 0)
        return refuse(r, 429, "rate_limit_exceeded", "rate_limit_exceeded", NULL,
                      "this key is allowed no requests");
    if (budget && k->budget_usd <= 0) {
        r->no_retry = 1;
        return refuse(r, 429, "insufficient_quota", "insufficient_quota", NULL,
                      "this key's budget is exhausted for the current period");
    }
    struct gw_counters *c = gw_counters_here(r->gw);
    if (!c) {
        /* Off a worker loop (nothing to drive an admission): unreachable in the server. */
        r->retry_after_ms = 1000;
        return refuse(r, 503, "service_unavailable_error", "limits_unavailable", NULL,
                      "the key's limits cannot be checked right now; retry");
    }
    int64_t prompt = gw_admit_prompt_estimate(r->parsed.body);
    int64_t cap = r->snap->cfg.max_reserve_tokens;
    int64_t asked = asked_max_tokens(r->parsed.body);
    int64_t out = r->parsed.op != AIGW_OP_CHAT ? 0 : asked >= 0 && asked < cap ? asked : cap;
    int64_t choices = r->parsed.op == AIGW_OP_CHAT ? asked_choices(r->parsed.body) : 1;
    r->resv_prompt = prompt; /* what a cut answer is charged from (account.c) */
    r->resv_out = out * choices;
    struct gw_admit_req q = {
        .key_id = k->id,
        .limits =
            {
                .rpm = k->rpm > 0 ? k->rpm : 0,
                .tpm = k->tpm > 0 ? k->tpm : 0,
            },
        .tokens = prompt + out * choices,
    };
    if (budget) {
        struct pricing p;
        if (r->parsed.op == AIGW_OP_IMAGES || drop_unpriced(r, prompt) < 0 ||
            pricing_of(r, prompt, &p) < 0) {
            char msg[400];
            snprintf(msg, sizeof msg,
                     "model '%.200s' has no price in the catalog; a key with a budget can only "
                     "use priced models",
                     r->route.targets[0].model);
            return refuse(r, 403, "permission_error", "model_not_priced", "model", msg);
        }
        q.limits.budget_micros = micros(k->budget_usd);
        q.limits.spent_micros = micros(k->spend_usd);
        if (k->budget_period != GW_PERIOD_NONE) {
            q.limits.period = k->period_start;
            q.limits.period_end = k->period_reset;
        }
        int64_t small = out < SHORT_ANSWER_TOKENS ? out : SHORT_ANSWER_TOKENS;
        q.usd_micros = micros(p.in_usd + p.out_usd * (double)(out * choices));
        q.usd_min_micros = micros(p.in_usd + p.out_usd * (double)(small * choices));
        if (q.usd_micros <= 0)
            q.usd_micros = q.usd_min_micros = 1; /* a free model still needs budget left */
    }
    atomic_fetch_add(&r->refs, 1); /* the admission's, until its callback or cancel */
    pthread_mutex_lock(&r->relay.lock);
    r->admit_wait = 1;
    pthread_mutex_unlock(&r->relay.lock);
    int rc = gw_counters_admit(c, &q, admitted, r, &r->admit_op);
    if (rc < 0) {
        pthread_mutex_lock(&r->relay.lock);
        r->admit_wait = 0;
        pthread_mutex_unlock(&r->relay.lock);
        atomic_fetch_sub(&r->refs, 1);
        gw_logf(AIGW_LOG_ERROR, "limits", r->request_id, "key %s: admission failed (%d)", k->id,
                rc);
        r->retry_after_ms = 1000;
        return refuse(r, 503, "service_unavailable_error", "limits_unavailable", NULL,
                      "the key's limits cannot be checked right now; retry");
    }
    return 1;
}

int gw_admit_fit(struct gw_req *r)
{
    /* The first target with nothing paid yet: admission clamped for it. */
    if (!r->key || r->resv.micros <= 0 || r->target >= r->route.n ||
        (r->target <= 0 && !r->guard_have_usage))
        return 0;
    struct pricing p;
    if (pricing_at(r, r->target, gw_admit_prompt_estimate(r->parsed.body), &p) < 0)
        return 0; /* unreachable: unpriced targets were dropped */
    /* answers a guardrail sent back, paid for all the same */
    double paid = 0;
    if (r->guard_have_usage && gw_cost_usd(p.m, &r->guard_usage, &paid) < 0)
        paid = 0;
    double left = (double)r->resv.micros / 1e6 - paid - p.in_usd;
    int64_t out = 0;
    if (left >= 0 && (r->parsed.op != AIGW_OP_CHAT || p.out_usd <= 0))
        return 0; /* input only, or free output: the prompt fits */
    if (left > 0)
        out = (int64_t)floor(left / (p.out_usd * (double)asked_choices(r->parsed.body)));
    if (out < 1) {
        gw_logf(AIGW_LOG_INFO, "limits", r->request_id,
                "key %s: an answer of %s/%s costs more than what is left of the request's "
                "grant; not asked",
                r->key->id, r->route.targets[r->target].plugin->desc.vkey,
                r->route.targets[r->target].model);
        return AIGW_ETOOBIG;
    }
    clamp_output(r, out);
    return 0;
}

void gw_admit_abandon(struct gw_req *r)
{
    if (!r->admit_op)
        return;
    struct gw_counters *c = gw_counters_here(r->gw);
    if (c)
        gw_counters_cancel(c, r->admit_op);
    r->admit_op = NULL;
    gw_req_unref(r); /* the admission's reference; the caller still holds its own */
}

/* ---- headers ---------------------------------------------------------------------------- */

static void window_headers(struct MHD_Response *resp, const struct gw_rl_window *w,
                           const char *what)
{
    if (w->limit <= 0)
        return;
    char name[48], v[32];
    snprintf(name, sizeof name, "x-ratelimit-limit-%s", what);
    snprintf(v, sizeof v, "%" PRId64, w->limit);
    MHD_add_response_header(resp, name, v);
    snprintf(name, sizeof name, "x-ratelimit-remaining-%s", what);
    snprintf(v, sizeof v, "%" PRId64, w->remaining > 0 ? w->remaining : 0);
    MHD_add_response_header(resp, name, v);
    snprintf(name, sizeof name, "x-ratelimit-reset-%s", what);
    gw_counters_fmt_reset(w->reset_ms, v, sizeof v);
    MHD_add_response_header(resp, name, v);
}

void gw_admit_headers(struct gw_req *r, struct MHD_Response *resp)
{
    if (!r->key)
        return;
    MHD_add_response_header(resp, "X-Gateway-Key-Id", r->key->id);
    window_headers(resp, &r->rl_requests, "requests");
    window_headers(resp, &r->rl_tokens, "tokens");
    if (r->no_retry)
        MHD_add_response_header(resp, "x-should-retry", "false");
}
