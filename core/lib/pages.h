/*
 * pages - zeroed memory straight from the kernel (anonymous mmap), bypassing malloc, for two
 * kinds of block: large sparse tables whose untouched pages must stay out of RSS, and large
 * short-lived buffers. glibc serves a calloc of this size from the heap once its dynamic mmap
 * threshold has risen (freeing any mmapped block raises it to that block's size), and then
 * zeroes reused pages by hand: a table sized for the worst case becomes resident whole. Here
 * a page is resident only once written, whatever malloc did before.
 * Threading: none kept; any thread.
 */
#ifndef GW_PAGES_H
#define GW_PAGES_H

#include <stddef.h>

/* n bytes (n > 0), zeroed and page-aligned; NULL when out of memory. */
void *gw_pages_alloc(size_t n);
/* Gives back a block from gw_pages_alloc(p, n) with the same n. NULL is ignored. */
void gw_pages_free(void *p, size_t n);

#endif
