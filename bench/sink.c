/*
 * sink.c - a loopback OTLP/HTTP sink for the aigw benchmark's tracing run: it reads each
 * POST (headers, then Content-Length bytes of body), throws the body away and answers 200 "{}",
 * on kept-alive connections, a thread per connection. It parses nothing, so its own cost stays
 * small and out of aigw's figures (a real collector runs elsewhere). On SIGTERM / SIGINT it
 * prints "posts=N bytes=M" and exits.
 *
 *   cc -O2 -pthread -o sink sink.c
 *   sink --port 18110
 */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEADCAP 16384

static atomic_ulong posts, bytes;

static const char OK[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         "Content-Length: 2\r\n\r\n{}";

/* Reads one request's head into buf (up to and including the blank line); the bytes read
 * past it are left at buf + *head, *have in all. 0, or -1 at EOF / error / an oversized head. */
static int read_head(int fd, char *buf, size_t *have, size_t *head)
{
    for (;;) {
        char *end = memmem(buf, *have, "\r\n\r\n", 4);
        if (end) {
            *head = (size_t)(end - buf) + 4;
            return 0;
        }
        if (*have == HEADCAP)
            return -1;
        ssize_t n = read(fd, buf + *have, HEADCAP - *have);
        if (n <= 0)
            return -1;
        *have += (size_t)n;
    }
}

static long content_length(const char *buf, size_t head)
{
    for (const char *p = buf; p && p < buf + head; p = memchr(p, '\n', (size_t)(buf + head - p))) {
        if (*p == '\n')
            p++;
        if (!strncasecmp(p, "content-length:", 15))
            return strtol(p + 15, NULL, 10);
    }
    return 0;
}

static void *serve(void *arg)
{
    int fd = (int)(long)arg;
    char *buf = malloc(HEADCAP), *skip = malloc(65536);
    size_t have = 0, head;
    while (buf && skip && read_head(fd, buf, &have, &head) == 0) {
        long left = content_length(buf, head);
        size_t extra = have - head; /* body bytes already read */
        if ((long)extra > left) {   /* a pipelined next request: not something curl sends */
            break;
        }
        left -= (long)extra;
        atomic_fetch_add(&bytes, (unsigned long)(left + (long)extra));
        while (left > 0) {
            ssize_t n = read(fd, skip, left < 65536 ? (size_t)left : 65536);
            if (n <= 0)
                goto out;
            left -= n;
        }
        atomic_fetch_add(&posts, 1);
        if (write(fd, OK, sizeof OK - 1) != (ssize_t)(sizeof OK - 1))
            break;
        have = 0;
    }
out:
    free(buf);
    free(skip);
    close(fd);
    return NULL;
}

static void *accept_loop(void *arg)
{
    int ls = (int)(long)arg;
    for (;;) {
        int fd = accept(ls, NULL, NULL);
        if (fd < 0)
            continue;
        pthread_t t;
        if (pthread_create(&t, NULL, serve, (void *)(long)fd) == 0)
            pthread_detach(t);
        else
            close(fd);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    long port = 18110;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--port") && i + 1 < argc)
            port = strtol(argv[++i], NULL, 10);
    if (port <= 0 || port > 65535) {
        fprintf(stderr, "sink: bad --port\n");
        return 2;
    }
    /* The signals wait in main; every thread started below inherits the mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 64)) {
        perror("sink: bind/listen");
        return 1;
    }
    pthread_t t;
    if (pthread_create(&t, NULL, accept_loop, (void *)(long)ls) != 0)
        return 1;
    int sig;
    sigwait(&set, &sig);
    printf("posts=%lu bytes=%lu\n", atomic_load(&posts), atomic_load(&bytes));
    return 0;
}
