/*
 * maps.h - whether a process maps a file, from /proc/<pid>/maps: the tests that check a
 * module is closed (an inactive provider's) or still open (an active one's).
 *
 *   cr_assert_not(test_maps_file("self", "/dir/good.so"));
 */
#ifndef AIGW_TEST_MAPS_H
#define AIGW_TEST_MAPS_H

#include <stdio.h>
#include <string.h>

/* 1 when a mapping of process pid ("self" or a number) names a path ending in suffix, 0 when
 * none does, -1 when its maps cannot be read. */
static inline int test_maps_file(const char *pid, const char *suffix)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%s/maps", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t w = strlen(suffix);
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        size_t n = strcspn(line, "\n");
        found = n >= w && !memcmp(line + n - w, suffix, w);
    }
    fclose(f);
    return found;
}

#endif
