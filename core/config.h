/*
 * config - the gateway's settings: defaults, then the JSON config file (comments and ${VAR}
 * allowed, see jsonc.h), then command-line flags. Every key is declared once in a table
 * (config.c) that drives parsing, validation, --check-config and the docs test; unknown keys
 * are errors that name the file and the key.
 *
 * Threading: built on one thread (at startup; a reload builds a new one, proxy/reload.c),
 * read-only once in use.
 */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* Where an installed aigw keeps its state: the systemd unit's StateDirectory=aigw. */
#ifndef AIGW_STATE_DIR
#define AIGW_STATE_DIR "/var/lib/aigw"
#endif

struct gw_config {
    char listen_host[256];
    int listen_port;
    int64_t max_body_bytes;
    int64_t max_body_bytes_total; /* every request body held at once */
    int max_connections;
    int threads;
    int64_t connect_timeout_ms;
    int64_t first_byte_timeout_ms;
    int64_t first_byte_total_ms; /* across all attempts, until the answer starts; 0: none */
    int64_t idle_timeout_ms;
    int64_t request_timeout_ms; /* non-streaming only: streams never get a total deadline */
    int64_t heartbeat_ms;
    /* A stream whose upstream began (2xx, an event parsed) but sent no content for this long
     * is committed: headers and the dialect's start go out (proxy/deliver.c); 0: never. */
    int64_t commit_ms;
    int64_t stream_buffer_bytes;
    int64_t shutdown_grace_ms;
    int log_level;
    char log_file[1024];
    char access_log[1024];
    char plugin_dir[1024];
    char catalog_path[1024];
    char port_file[1024];
    cJSON *catalog_overrides; /* array of entries, or NULL */
    cJSON *routing;           /* the routing object, validated by route.c */
    cJSON *auth_keys;         /* array of gateway API keys, or NULL (no client auth) */
    cJSON *cache;             /* the cache object, validated by cache/cache.c, or NULL */
    char redis_url[1024];     /* redis.url: the fleet's shared Redis; "" none; may hold a password */
    cJSON *guardrails;        /* array of guard entries (checked by guard/chain.c), or NULL */
    char guard_dir[1024];
    int metrics_enabled;
    char metrics_listen[256];
    char metrics_token[256];
    int metrics_max_models;
    char state_dir[1024]; /* empty: AIGW_STATE_DIR */
    char store_url[1024]; /* empty: sqlite:<state_dir>/aigw.db; may hold a password */
    int log_requests;     /* a request-log row per request (the ledger is kept either way) */
    int log_bodies;       /* request/response bodies in the request log */
    int log_retention_days;
    int log_queue_rows;   /* request-log rows waiting for the store's writer, at most */
    int auth_required;         /* a key on every inference request, even with no key stored */
    int auth_max_failures;     /* failed authentications per address per window; 0: no limit */
    int auth_failure_window_s;
    char admin_key[256];       /* empty: AIGW_ADMIN_KEY; neither: no admin API */
    cJSON *admin_allow;        /* CIDR strings, or NULL (any address) */
    int64_t redis_timeout_ms;  /* admission deadline */
    int64_t redis_replicas;    /* fallback share divisor; 0: observed */
    int budget_fail_open;      /* Redis down: budgets admitted on a local share */
    int64_t max_reserve_tokens; /* output tokens reserved when max_tokens is absent, and the cap */
    int64_t lease_seconds;      /* a budget reservation's lease (renewed every third of it) */
    char source[1024]; /* the file read, for messages */
    cJSON *root;       /* the parsed file, owns the cJSON pointers above */
};

struct gw_config_key {
    const char *key;  /* dotted path, e.g. "timeouts.connect_ms" */
    const char *type; /* "string", "integer", "number", "boolean", "object",
                         "array" */
    const char *dflt; /* default as shown in docs */
    const char *help;
};

/* Every accepted key, terminated by {NULL}. */
const struct gw_config_key *gw_config_keys(void);

void gw_config_defaults(struct gw_config *c);
/* Reads and validates path. On failure returns negative with "file: key: reason" in err. */
int gw_config_load(struct gw_config *c, const char *path, char *err, size_t errsize);
/* Parses "host:port" / "[v6]:port" / ":port" into the config. */
int gw_config_set_listen(struct gw_config *c, const char *s, char *err, size_t errsize);
void gw_config_free(struct gw_config *c);
/* The member at a dotted path ("log.level") of a parsed file, or NULL. */
const cJSON *gw_config_get(const cJSON *root, const char *dotted);
/* A deep copy (its own parsed file) that dst owns: 0, or AIGW_ENOMEM. */
int gw_config_dup(struct gw_config *dst, const struct gw_config *src);
/* The store URL in effect: store.url, else "sqlite:<state_dir or the installed one>/aigw.db".
 * 0, or AIGW_ETOOBIG. */
int gw_config_store_url(const struct gw_config *c, char *out, size_t size);

#endif
