/* pages - anonymous mappings for big sparse tables and buffers (see pages.h). */
#include "lib/pages.h"

#include <sys/mman.h>

void *gw_pages_alloc(size_t n)
{
    if (n == 0)
        return NULL;
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void gw_pages_free(void *p, size_t n)
{
    if (p && n)
        munmap(p, n);
}
