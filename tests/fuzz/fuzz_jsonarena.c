/*
 * libFuzzer target for core/lib/jsonarena.c, differential against the system libcjson: the
 * same bytes parsed both ways must both fail or give the same tree, node by node (types,
 * valueint, the exact double, string bytes, keys, prev/next links) and the same printed text.
 * A second parse into a tiny arena must give the same tree or fail and leave the arena as it
 * was, and a rewind to a mark must leave a tree parsed before the mark intact. The tree is
 * also printed by core/lib/jsonprint.c, which must write cJSON_PrintUnformatted's bytes.
 * Coverage-guided: tests/fuzz/run-libfuzzer SECONDS jsonarena (the lf_jsonarena build).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "lib/jsonarena.h"
#include "lib/jsonprint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const cJSON *a, const cJSON *b)
{
    const cJSON *x = a->child, *y = b->child, *lx = NULL, *ly = NULL;
    if (a->type != b->type || a->valueint != b->valueint ||
        memcmp(&a->valuedouble, &b->valuedouble, sizeof a->valuedouble) != 0 ||
        !a->valuestring != !b->valuestring || !a->string != !b->string ||
        (a->valuestring && strcmp(a->valuestring, b->valuestring) != 0) ||
        (a->string && strcmp(a->string, b->string) != 0))
        abort();
    for (; x && y; lx = x, ly = y, x = x->next, y = y->next) {
        /* cJSON links the first child's prev to the last child (its O(1) append). */
        if ((lx && (x->prev != lx || y->prev != ly)))
            abort();
        same(x, y);
    }
    if (x || y || (lx && (a->child->prev != lx || b->child->prev != ly)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    struct gw_jsonarena a;
    gw_jsonarena_init(&a, (size_t)1 << 30);
    cJSON *ref = cJSON_ParseWithLength(p, size);
    cJSON *got = gw_jsonarena_parse(&a, p, size);
    if (!ref != !got)
        abort();
    if (ref) {
        same(ref, got);
        char *s1 = cJSON_PrintUnformatted(ref), *s2 = cJSON_PrintUnformatted(got);
        /* cJSON_Compare says an infinity differs from itself: it must say of ours what it says
         * of a second tree of its own. */
        cJSON *ref2 = cJSON_ParseWithLength(p, size);
        if (!s1 != !s2 || (s1 && strcmp(s1, s2) != 0) || !ref2 ||
            cJSON_Compare(ref, got, 1) != cJSON_Compare(ref, ref2, 1))
            abort();
        cJSON_Delete(ref2);
        struct gw_buf b;
        gw_buf_init(&b, 0);
        if (!s1 || gw_json_print(&b, got) != 0 || strcmp(b.ptr, s1) != 0)
            abort();
        gw_buf_free(&b);
        free(s1);
        free(s2);

        /* A second document after a mark, then a rewind: the first stays whole. */
        struct gw_jsonarena_mark m = gw_jsonarena_mark(&a);
        if (!gw_jsonarena_parse(&a, p, size))
            abort();
        gw_jsonarena_rewind(&a, m);
        same(ref, got);

        /* Past a small cap a parse fails and gives back its memory. */
        struct gw_jsonarena small;
        gw_jsonarena_init(&small, 512 + size % 4096);
        cJSON *t = gw_jsonarena_parse(&small, p, size);
        if (t)
            same(ref, t);
        else if (small.used > small.cap || !gw_jsonarena_parse(&small, "[1]", 3))
            abort(); /* a failed parse gave back what it took: a small one still fits */
        gw_jsonarena_free(&small);
    }
    cJSON_Delete(ref);
    gw_jsonarena_free(&a);
    return 0;
}
