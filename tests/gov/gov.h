/*
 * gov - helpers of the governance end-to-end tests: aigw processes with a state store (a
 * shared SQLite file when two replicas share one) and, optionally, Redis counters; keys made
 * through the admin API; chat requests with a key.
 */
#ifndef AIGW_TEST_GOV_H
#define AIGW_TEST_GOV_H

#include "counters/harness.h"
#include "e2e/e2e.h"

#define GOV_ADMIN "admin-key-for-tests-0123456789"
#define GOV_CHAT "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
/* Prices that make one mock answer (14 prompt + 17 completion tokens) cost $0.031. */
#define GOV_PRICES                                                                                 \
    "\"catalog\":{\"overrides\":[{\"provider\":\"openai\",\"model\":\"gpt-4o-mini\","              \
    "\"mode\":\"chat\",\"in\":1000,\"out\":1000}]}"

struct gov_key {
    char id[32];
    char token[128];
};

/* A temp directory for a shared store (removed by gov_dir_remove). */
char *gov_dir(void);
void gov_dir_remove(const char *dir);
/* An aigw in front of m: store_url NULL for its own temp store; redis_url NULL for in-process
 * counters; extra: more top-level config members ("" for none). One worker thread. */
struct e2e_gw *gov_gw(struct mock *m, const char *store_url, const char *redis_url,
                      const char *extra);
/* POST /admin/keys with body; asserts 201 and fills k. */
void gov_key_create(struct e2e_gw *gw, const char *body, struct gov_key *k);
/* Any admin call with the admin key. */
struct e2e_resp *gov_admin(struct e2e_gw *gw, const char *method, const char *path,
                           const char *body);
/* A chat request with "Authorization: Bearer token" (token NULL: none). */
struct e2e_resp *gov_chat(struct e2e_gw *gw, const char *token);
/* 1 when the file at path contains needle (binary safe). */
int gov_file_has(const char *path, const char *needle);
int64_t gov_now_ms(void);
/* Opens the SQLite store at db (its gateways stopped) and asserts key_id's ledger: rows rows
 * whose costs sum to told within tol. */
void gov_ledger_assert(const char *db, const char *key_id, int64_t rows, double told, double tol);
/* Waits (probing, each probe a round trip) until n clients besides the probe are connected
 * to srv. 0, or -1 after timeout_ms. */
int gov_redis_wait_clients(const struct redis_srv *srv, int n, int timeout_ms);

#endif
