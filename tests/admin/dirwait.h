/*
 * dirwait - waiting for the store's writer without sleeping: watch the state directory
 * (inotify) before checking a condition, then block until a file in it changes (a commit
 * writes the -wal; a queued row the spool) or the deadline passes, and check again. The watch
 * exists before the first check, so no change between check and wait is missed.
 */
#ifndef AIGW_TESTS_DIRWAIT_H
#define AIGW_TESTS_DIRWAIT_H

#include <poll.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

static inline long long dirwait_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline int dirwait_open(const char *dir)
{
    int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    cr_assert_geq(fd, 0, "inotify");
    cr_assert_geq(inotify_add_watch(fd, dir, IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE),
                  0, "watch %s", dir);
    return fd;
}

/* Until something in the directory changed, or the deadline (CLOCK_MONOTONIC ms) passed. */
static inline void dirwait_wait(int fd, long long deadline_ms)
{
    long long left = deadline_ms - dirwait_now_ms();
    if (left <= 0)
        return;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, (int)left) > 0) {
        char buf[4096];
        while (read(fd, buf, sizeof buf) > 0) /* drain: the next wait is for a newer change */
            ;
    }
}

#endif
