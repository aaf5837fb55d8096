/*
 * guardcheck - runs one request body (stdin) through a guard chain, as the lifetime's request
 * stage will: `guardcheck DIR GUARDRAILS-JSON`. Prints "allow", "rewrite <body>", or
 * "<verdict> <status> <code> <message>" for a deny or a failure; a chain that does not load
 * prints "config <reason>". Exit 0 unless the tool itself fails. For shell tests of guards
 * built out of tree (tests/guard/test_example_guard.sh).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "guard/guard.h"

int main(int argc, char **argv)
{
    static char body[1 << 20];
    char err[1024];
    if (argc != 3) {
        fprintf(stderr, "usage: guardcheck GUARD-DIR GUARDRAILS-JSON < body.json\n");
        return 2;
    }
    size_t n = fread(body, 1, sizeof body - 1, stdin);
    body[n] = '\0';
    cJSON *list = cJSON_Parse(argv[2]), *req = cJSON_Parse(body);
    if (!list || !req) {
        fprintf(stderr, "guardcheck: the guardrails or the body is not JSON\n");
        return 2;
    }
    struct gw_guard_chain *c = NULL;
    if (gw_guard_chain_load(&c, list, argv[1], err, sizeof err) < 0) {
        printf("config %s\n", err);
    } else if (c) {
        struct gw_guard_run_opts o = {AIGW_OP_CHAT, 0, "model", "openai", "guardcheck", NULL};
        struct gw_guard_run *run = gw_guard_run_new(c, &o);
        int v = run ? gw_guard_on_request(run, req) : -1;
        struct aigw_error e;
        if (v == GW_GUARD_ALLOW && gw_guard_rewrote(run)) {
            char *s = cJSON_PrintUnformatted(req);
            printf("rewrite %s\n", s ? s : "");
            free(s);
        } else if (v == GW_GUARD_ALLOW) {
            printf("allow\n");
        } else if (run && gw_guard_error(run, &e) == 0) {
            printf("%s %d %s %s\n", v == GW_GUARD_DENY ? "deny" : "failed", e.status, e.code,
                   e.message);
        } else {
            printf("verdict %d\n", v);
        }
        gw_guard_run_free(run);
    } else {
        printf("allow\n");
    }
    gw_guard_chain_free(c);
    cJSON_Delete(list);
    cJSON_Delete(req);
    return 0;
}
