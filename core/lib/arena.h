/*
 * arena - per-call memory: many small allocations freed at once when the call ends, with a
 * hard cap so a plugin (or a hostile upstream body it copies) cannot grow a call without bound.
 * Threading: one owner; no locking.
 */
#ifndef GW_ARENA_H
#define GW_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct gw_arena_block;

struct gw_arena {
    struct gw_arena_block *head;
    size_t used; /* bytes handed out plus block overhead */
    size_t cap;
};

#define GW_ARENA_DEFAULT_CAP (64u << 20)

void gw_arena_init(struct gw_arena *a, size_t cap);
void gw_arena_free(struct gw_arena *a);
void *gw_arena_alloc(struct gw_arena *a, size_t n); /* zeroed, 16-aligned; NULL past cap */
/* Frees p now when it was a large allocation with a block of its own (past the first few
 * KiB); otherwise it stays until gw_arena_free. p is not used again either way. */
void gw_arena_drop(struct gw_arena *a, const void *p);
char *gw_arena_strndup(struct gw_arena *a, const char *p, size_t n);
char *gw_arena_vprintf(struct gw_arena *a, const char *fmt, va_list ap);
char *gw_arena_printf(struct gw_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
