/*
 * store_keycache - bearer token to key record, with no I/O on the hot path. Records are
 * cached by public id for opts.key_cache_ms; when one ages out, one request waits for it to be
 * read again (on the key loader thread, store_keyload.c, when it asks with
 * gw_store_key_auth_start) while the others keep using the old record, and when the database
 * does not answer the old record keeps serving (a key that was valid a moment ago stays so;
 * the failure is logged).
 * Unknown ids are cached too, so random tokens cannot turn into one read each.
 *
 * Threading: kc->mu guards the table; records are immutable once published and handed out by
 * reference, so the hash check and the caller's use happen outside the lock.
 */
#include "store/store_int.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "aigw/plugin.h"
#include "lib/buf.h"
#include "lib/log.h"

#define KC_BUCKETS 4096
#define KC_MAX 65536
#define TOUCH_EVERY_S 60
#define TOKEN_LEN (sizeof GW_KEY_PREFIX - 1 + GW_KEY_ID_LEN + 1 + GW_KEY_SECRET_LEN)

struct kc_entry {
    struct kc_entry *next;
    char id[GW_KEY_ID_LEN + 1];
    struct gw_key *k; /* NULL: no such key */
    unsigned char hash[32];
    unsigned char prev_hash[32];
    int64_t loaded_ms; /* monotonic */
    int refreshing;
    int64_t touched_s;
};

struct store_keycache {
    pthread_mutex_t mu;
    struct kc_entry *b[KC_BUCKETS];
    size_t n;
    uint64_t hits, misses;
    int has_keys;         /* -1: not known yet */
    int64_t has_keys_ms;  /* when it was read (monotonic) */
    int has_keys_loading; /* a read of it is queued or running */
};

int gw_store_keycache_init(struct gw_store *s)
{
    s->kc = calloc(1, sizeof *s->kc);
    if (!s->kc)
        return AIGW_ENOMEM;
    pthread_mutex_init(&s->kc->mu, NULL);
    s->kc->has_keys = -1;
    return 0;
}

static void entry_free(struct kc_entry *e)
{
    gw_key_unref(e->k);
    OPENSSL_cleanse(e->hash, sizeof e->hash);
    OPENSSL_cleanse(e->prev_hash, sizeof e->prev_hash);
    free(e);
}

void gw_store_keycache_free(struct gw_store *s)
{
    if (!s->kc)
        return;
    for (int i = 0; i < KC_BUCKETS; i++) {
        for (struct kc_entry *e = s->kc->b[i], *next; e; e = next) {
            next = e->next;
            entry_free(e);
        }
    }
    pthread_mutex_destroy(&s->kc->mu);
    free(s->kc);
    s->kc = NULL;
}

static unsigned bucket(const char *id)
{
    unsigned h = 2166136261u;
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 16777619u;
    return h % KC_BUCKETS;
}

static struct kc_entry **find(struct store_keycache *kc, const char *id)
{
    struct kc_entry **pp = &kc->b[bucket(id)];
    while (*pp && strcmp((*pp)->id, id))
        pp = &(*pp)->next;
    return pp;
}

void gw_store_keycache_forget(struct gw_store *s, const char *id)
{
    struct store_keycache *kc = s->kc;
    pthread_mutex_lock(&kc->mu);
    struct kc_entry **pp = find(kc, id), *e = *pp;
    if (e) {
        *pp = e->next;
        kc->n--;
    }
    kc->has_keys_ms = 0;
    kc->has_keys = kc->has_keys == 0 ? -1 : kc->has_keys;
    pthread_mutex_unlock(&kc->mu);
    if (e)
        entry_free(e);
}

/* Drops entries unused for long (kc->mu held); everything when that is not enough. */
static void sweep(struct store_keycache *kc, int64_t now, int64_t ttl)
{
    for (int pass = 0; pass < 2 && kc->n >= KC_MAX; pass++) {
        for (int i = 0; i < KC_BUCKETS; i++) {
            struct kc_entry **pp = &kc->b[i];
            while (*pp) {
                struct kc_entry *e = *pp;
                if (!e->refreshing && (pass || now - e->loaded_ms > 10 * ttl)) {
                    *pp = e->next;
                    kc->n--;
                    entry_free(e);
                } else {
                    pp = &e->next;
                }
            }
        }
    }
}

struct load_ctx {
    const char *id;
    struct gw_key *k;
    unsigned char hash[32], prev_hash[32];
};

static int do_load(struct gw_store *s, struct gw_sql_conn *c, void *ctx, int64_t deadline)
{
    struct load_ctx *l = ctx;
    int rc = gw_store_key_load(s, c, l->id, &l->k, l->hash, l->prev_hash, deadline);
    if (!rc)
        rc = gw_key_fill_spend(s, c, l->k, gw_store_now_ms() / 1000, deadline);
    if (rc && l->k) {
        gw_key_unref(l->k);
        l->k = NULL;
    }
    return rc;
}

/* Reads the key and publishes it in the cache: 0 (entry may say "no such key") or
 * GW_STORE_EUNAVAIL. On success *snap is a private copy of the entry with a reference. */
static int load(struct gw_store *s, const char *id, struct kc_entry *snap)
{
    struct store_keycache *kc = s->kc;
    struct load_ctx l = {.id = id};
    int rc = gw_store_read(s, "key_lookup", do_load, &l);
    int64_t now = gw_store_mono_ms();
    pthread_mutex_lock(&kc->mu);
    struct kc_entry **pp = find(kc, id), *e = *pp;
    if (rc && rc != GW_STORE_ENOTFOUND) {
        if (e) {
            /* keep serving what we had; try again after another cache period */
            e->refreshing = 0;
            e->loaded_ms = now;
        }
        pthread_mutex_unlock(&kc->mu);
        gw_logf(AIGW_LOG_WARN, "store", NULL, "key %s: store unreachable, %s", id,
                e ? "serving the cached record" : "refusing");
        return e ? 1 : GW_STORE_EUNAVAIL; /* 1: the caller's stale copy stands */
    }
    if (!e) {
        if (kc->n >= KC_MAX)
            sweep(kc, now, s->o.key_cache_ms);
        e = calloc(1, sizeof *e);
        if (e) {
            gw_strlcpy(e->id, id, sizeof e->id);
            e->next = kc->b[bucket(id)];
            kc->b[bucket(id)] = e;
            kc->n++;
        }
    }
    if (e) {
        gw_key_unref(e->k);
        e->k = l.k;
        memcpy(e->hash, l.hash, 32);
        memcpy(e->prev_hash, l.prev_hash, 32);
        e->loaded_ms = now;
        e->refreshing = 0;
        *snap = *e;
        gw_key_ref(snap->k);
    } else {
        memset(snap, 0, sizeof *snap);
        snap->k = l.k; /* not cached (no memory): still answer this request */
        memcpy(snap->hash, l.hash, 32);
        memcpy(snap->prev_hash, l.prev_hash, 32);
    }
    pthread_mutex_unlock(&kc->mu);
    OPENSSL_cleanse(&l, sizeof l);
    return 0;
}

static int alnum_run(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return 0;
    }
    return 1;
}

/* Copies the cached entry for id into snap (with a reference): 1 fresh, 2 stale and this
 * thread should reload it, 3 stale and another thread reloads it, 0 absent. claim 0 only
 * looks: a stale entry nobody reloads is 2 and stays unclaimed. */
static int lookup(struct gw_store *s, const char *id, struct kc_entry *snap, int claim)
{
    struct store_keycache *kc = s->kc;
    int64_t now = gw_store_mono_ms();
    pthread_mutex_lock(&kc->mu);
    struct kc_entry *e = *find(kc, id);
    int st = 0;
    if (e) {
        *snap = *e;
        gw_key_ref(snap->k);
        if (now - e->loaded_ms < s->o.key_cache_ms) {
            st = 1;
        } else if (!e->refreshing) {
            e->refreshing = claim;
            st = 2;
        } else {
            st = 3;
        }
    }
    if (st == 1)
        kc->hits++;
    else if (claim || st == 3) /* a look that finds a read due is counted by the next one */
        kc->misses++;
    pthread_mutex_unlock(&kc->mu);
    return st;
}

static void touch(struct gw_store *s, const char *id, int64_t now_s)
{
    struct store_keycache *kc = s->kc;
    int due = 0;
    pthread_mutex_lock(&kc->mu);
    struct kc_entry *e = *find(kc, id);
    if (e && now_s - e->touched_s >= TOUCH_EVERY_S) {
        e->touched_s = now_s;
        due = 1;
    }
    pthread_mutex_unlock(&kc->mu);
    if (!due)
        return;
    struct store_op *op = calloc(1, sizeof *op);
    if (!op)
        return;
    op->kind = OP_TOUCH;
    op->link.bytes = sizeof *op;
    gw_strlcpy(op->u.touch.id, id, sizeof op->u.touch.id);
    op->u.touch.at = now_s;
    gw_store_enqueue_op(s, op);
}

/* What key_auth does with a record that must be read first. */
enum key_read {
    READ_HERE,  /* reads it on the caller's thread */
    READ_LOOK,  /* reads nothing, claims nothing: GW_AUTH_PENDING */
    READ_QUEUE, /* queues it for the loader thread (GW_AUTH_PENDING; here when full) */
};

static enum gw_key_auth key_auth(struct gw_store *s, const char *token, size_t len,
                                 struct gw_key **out, enum key_read how, gw_key_loaded_fn done,
                                 void *ud)
{
    *out = NULL;
    size_t plen = sizeof GW_KEY_PREFIX - 1;
    if (!token || len != TOKEN_LEN || memcmp(token, GW_KEY_PREFIX, plen) ||
        token[plen + GW_KEY_ID_LEN] != '_' || !alnum_run(token + plen, GW_KEY_ID_LEN) ||
        !alnum_run(token + plen + GW_KEY_ID_LEN + 1, GW_KEY_SECRET_LEN))
        return GW_AUTH_NOT_OURS;
    char id[GW_KEY_ID_LEN + 1];
    memcpy(id, token + plen, GW_KEY_ID_LEN);
    id[GW_KEY_ID_LEN] = '\0';
    unsigned char h[32];
    gw_store_hash_secret(s, token + plen + GW_KEY_ID_LEN + 1, GW_KEY_SECRET_LEN, h);

    struct kc_entry snap;
    int st = lookup(s, id, &snap, how != READ_LOOK);
    if ((st == 0 || st == 2) &&
        (how == READ_LOOK || (how == READ_QUEUE && gw_store_keyload_queue(s, id, done, ud) == 0))) {
        /* A stale record queued stays claimed: the loader's read releases it. */
        if (st == 2)
            gw_key_unref(snap.k);
        OPENSSL_cleanse(h, sizeof h);
        return GW_AUTH_PENDING;
    }
    if (st == 0 || st == 2) {
        struct kc_entry fresh;
        int rc = load(s, id, &fresh);
        if (rc == 0) {
            if (st == 2)
                gw_key_unref(snap.k);
            snap = fresh;
        } else if (rc != 1 || st == 0) {
            if (st == 2)
                gw_key_unref(snap.k);
            return GW_AUTH_UNAVAILABLE;
        }
    }
    enum gw_key_auth r = GW_AUTH_OK;
    int64_t now_s = gw_store_now_ms() / 1000;
    struct gw_key *k = snap.k;
    if (!k)
        r = GW_AUTH_UNKNOWN;
    else if (CRYPTO_memcmp(h, snap.hash, 32) != 0 &&
             !(k->prev_valid_until > now_s && CRYPTO_memcmp(h, snap.prev_hash, 32) == 0))
        r = GW_AUTH_BAD_SECRET;
    else if (k->state != GW_KEY_ACTIVE)
        r = GW_AUTH_REVOKED;
    else if (k->expires_at && now_s >= k->expires_at)
        r = GW_AUTH_EXPIRED;
    OPENSSL_cleanse(snap.hash, sizeof snap.hash);
    OPENSSL_cleanse(snap.prev_hash, sizeof snap.prev_hash);
    OPENSSL_cleanse(h, sizeof h);
    if (r != GW_AUTH_OK) {
        gw_key_unref(k);
        return r;
    }
    touch(s, id, now_s);
    *out = k;
    return GW_AUTH_OK;
}

enum gw_key_auth gw_store_key_auth(struct gw_store *s, const char *token, size_t len,
                                   struct gw_key **out)
{
    return key_auth(s, token, len, out, READ_HERE, NULL, NULL);
}

enum gw_key_auth gw_store_key_auth_start(struct gw_store *s, const char *token, size_t len,
                                         struct gw_key **out, gw_key_loaded_fn done, void *ud)
{
    return key_auth(s, token, len, out, done ? READ_QUEUE : READ_LOOK, done, ud);
}

int gw_store_keycache_reload(struct gw_store *s, const char *id)
{
    struct kc_entry snap;
    int rc = load(s, id, &snap);
    if (rc == 0) {
        gw_key_unref(snap.k);
        OPENSSL_cleanse(&snap, sizeof snap);
    }
    return rc < 0 ? rc : 0; /* 1: the cached record stands */
}

static int has_row(void *ctx, int ncol, const char *const *v, const size_t *len)
{
    (void)ncol;
    (void)v;
    (void)len;
    *(int *)ctx = 1;
    return 0;
}

static int do_has(struct gw_store *s, struct gw_sql_conn *c, void *ctx, int64_t deadline)
{
    return s->ops->exec(c, "SELECT id FROM aigw_keys LIMIT 1", NULL, 0, has_row, ctx, deadline);
}

int gw_store_keycache_has_read(struct gw_store *s)
{
    struct store_keycache *kc = s->kc;
    int found = 0;
    int rc = gw_store_read(s, "key_lookup", do_has, &found);
    pthread_mutex_lock(&kc->mu);
    if (!rc)
        kc->has_keys = found;
    kc->has_keys_ms = gw_store_mono_ms(); /* failed: the old answer stands a period more */
    kc->has_keys_loading = 0;
    pthread_mutex_unlock(&kc->mu);
    return rc;
}

int gw_store_has_keys(struct gw_store *s)
{
    struct store_keycache *kc = s->kc;
    int64_t now = gw_store_mono_ms();
    pthread_mutex_lock(&kc->mu);
    int v = kc->has_keys;
    /* Once a key exists, keys are required for good: that answer needs no second read. */
    int due =
        v != 1 && !kc->has_keys_loading && (v < 0 || now - kc->has_keys_ms >= s->o.key_cache_ms);
    if (due)
        kc->has_keys_loading = 1; /* one read; the others use the old answer */
    pthread_mutex_unlock(&kc->mu);
    /* The read is the loader thread's; only when it cannot be queued is it done here. */
    if (due && gw_store_keyload_has_keys(s) != 0) {
        gw_store_keycache_has_read(s);
        pthread_mutex_lock(&kc->mu);
        v = kc->has_keys;
        pthread_mutex_unlock(&kc->mu);
    }
    /* not known (not read yet, or not readable): require keys (fail closed) */
    return v < 0 ? 1 : v;
}

void gw_store_keycache_stats(struct gw_store *s, uint64_t *hits, uint64_t *misses)
{
    pthread_mutex_lock(&s->kc->mu);
    *hits = s->kc->hits;
    *misses = s->kc->misses;
    pthread_mutex_unlock(&s->kc->mu);
}
