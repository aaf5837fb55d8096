/* arena - per-call memory (see arena.h). */
#include "lib/arena.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gw_arena_block {
    struct gw_arena_block *next;
    size_t size;
    size_t used;
    int single; /* holds one large allocation alone (behind the head): gw_arena_drop */
    _Alignas(16) unsigned char data[];
};

/* Blocks (header included) start small and double with the arena up to BLOCK_MAX: a call's
 * arenas hold a few hundred bytes (its URL, headers, model), and they live as long as its
 * stream, so 4 KiB blocks from the start were 8 KiB of every held stream. */
#define BLOCK_FIRST 256u
#define BLOCK_MAX 4096u

void gw_arena_init(struct gw_arena *a, size_t cap)
{
    a->head = NULL;
    a->used = 0;
    a->cap = cap ? cap : GW_ARENA_DEFAULT_CAP;
}

void gw_arena_free(struct gw_arena *a)
{
    struct gw_arena_block *b = a->head;
    while (b) {
        struct gw_arena_block *n = b->next;
        free(b);
        b = n;
    }
    a->head = NULL;
    a->used = 0;
}

void *gw_arena_alloc(struct gw_arena *a, size_t n)
{
    size_t need = (n + 15u) & ~(size_t)15u;
    if (need < n)
        return NULL;
    struct gw_arena_block *b = a->head;
    if (!b || b->size - b->used < need) {
        size_t step = a->used < BLOCK_FIRST ? BLOCK_FIRST : a->used;
        step = (step < BLOCK_MAX ? step : BLOCK_MAX) - sizeof *b;
        size_t size = need > step ? need : step;
        if (a->used + size + sizeof *b > a->cap)
            return NULL;
        b = malloc(sizeof *b + size);
        if (!b)
            return NULL;
        b->size = size;
        b->used = 0;
        b->single = a->head && need > step;
        /* A large one-off allocation goes behind the current block so the current block's
         * free space stays usable for the small ones that follow. */
        if (b->single) {
            b->next = a->head->next;
            a->head->next = b;
        } else {
            b->next = a->head;
            a->head = b;
        }
        a->used += size + sizeof *b;
    }
    void *p = b->data + b->used;
    b->used += need;
    memset(p, 0, n);
    return p;
}

void gw_arena_drop(struct gw_arena *a, const void *p)
{
    for (struct gw_arena_block **pb = a->head ? &a->head->next : NULL; pb && *pb;
         pb = &(*pb)->next) {
        struct gw_arena_block *b = *pb;
        if (b->single && (const void *)b->data == p) {
            *pb = b->next;
            a->used -= b->size + sizeof *b;
            free(b);
            return;
        }
    }
}

char *gw_arena_strndup(struct gw_arena *a, const char *p, size_t n)
{
    char *s = gw_arena_alloc(a, n + 1);
    if (!s)
        return NULL;
    if (n)
        memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

char *gw_arena_vprintf(struct gw_arena *a, const char *fmt, va_list ap)
{
    /* Straight into the current block when the text fits there (the usual case: URLs,
     * header values); measuring first was a second vsnprintf pass. */
    struct gw_arena_block *b = a->head;
    size_t room = b ? b->size - b->used : 0;
    va_list ap2;
    va_copy(ap2, ap);
    int n = room ? vsnprintf((char *)b->data + b->used, room, fmt, ap2)
                 : vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return NULL;
    size_t need = ((size_t)n + 1 + 15u) & ~(size_t)15u;
    if (room && need <= room) {
        char *s = (char *)b->data + b->used;
        b->used += need;
        return s;
    }
    char *s = gw_arena_alloc(a, (size_t)n + 1);
    if (!s)
        return NULL;
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

char *gw_arena_printf(struct gw_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = gw_arena_vprintf(a, fmt, ap);
    va_end(ap);
    return s;
}
