/*
 * store_spool - the write queues' copy on disk. Every ledger row and request-log row is
 * appended to a spool file when it is queued (no fsync: the page cache outlives a killed
 * process, which is the failure this covers; an OS crash is SQLite's and PostgreSQL's own
 * business), and the file is emptied once everything in it is committed.
 *
 * Appending is a copy into the file's pages through a shared mapping of its first
 * SPOOL_MAP bytes, where the filesystem reserves those blocks for good (see seg_map), and a
 * pwritev(2) elsewhere or past the mapping: a system call for every row, under s->mu, was
 * 3.6 % of aigw's CPU at 64 connections with the request log on. Every record is followed by
 * an end mark (a zeroed record header), written before the record's own header, so a replay
 * stops after the last whole record and never reads on into rows of the file's past:
 * emptying the file only marks its start.
 * A process that dies leaves its spool behind; the next store opened on the same spool
 * directory (this process restarted, or another replica) queues its rows again. Writes are
 * idempotent by request id (ON CONFLICT DO NOTHING, rollups only for rows inserted), so a
 * row both committed and replayed counts once.
 *
 * Files: <prefix>.<random>.<generation> (the prefix names a database's spool: "aigw.db-spool"
 * beside a SQLite file), each held with flock(LOCK_EX) by its owner for
 * as long as it is open, so "not lockable" means "its process is alive". Two generations
 * at most: when the current file passes SPOOL_ROTATE bytes while rows are still pending it
 * is sealed and a new one started; the sealed one, when its last row is done, is emptied
 * and kept as the next new one if it is mapped, else deleted.
 * Records: a header (magic, kind, payload length, CRC-32C of the payload) and the payload
 * (the row's struct as this build lays it out, then a log row's bodies); a torn last record
 * ends the replay. A file written by a build with another layout is left in place.
 *
 * Threading: append, done and tidy run under s->mu; open and close on the opening thread.
 */
#include "store/store_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include "aigw/plugin.h"
#include "lib/buf.h"
#include "lib/crc32c.h"
#include "lib/crypto.h"
#include "lib/log.h"

#define SPOOL_MAGIC 0x53504c52u /* "RLPS" */
/* A file's first SPOOL_MAP bytes are mapped, and the pages it has touched count in aigw's
 * RSS (two files' worth at most): 1 MiB, about 800 log rows. It is replaced once it passes
 * SPOOL_ROTATE bytes with rows still pending, half the mapping, so the rows queued before
 * the writer next looks still fit in it. A new file every 400 rows, under a load that
 * never lets the spool empty, costs a few system calls. */
#define SPOOL_MAP (1u << 20)
#define SPOOL_ROTATE (SPOOL_MAP / 2)
#define SPOOL_REPLAY_MAX (512u << 20) /* a file larger than this is not read back */
#define SPOOL_WARN_MS 10000

enum { REC_LEDGER = 1, REC_LOG = 2, REC_PAIR = 3 };

/* The file header: a format name and the layout of the structs the records copy. */
struct spool_head {
    char name[8]; /* "AIGWSPL2": 2 sums records with CRC-32C (1: FNV-1a) */
    uint32_t ledger_size;
    uint32_t log_size;
};

struct spool_rec {
    uint32_t magic;
    uint32_t kind;
    uint32_t len;
    uint32_t sum;
};

struct spool_seg {
    int fd;
    char *map; /* its first SPOOL_MAP bytes, or NULL: written with pwritev */
    uint64_t gen;
    long pending; /* rows in it not yet committed or dropped */
    off_t bytes;
    char path[1400];
};

struct store_spool {
    char dir[1024]; /* where the files are */
    char base[256]; /* their names start with base "." */
    char token[24];
    uint64_t next_gen;
    struct spool_seg cur, old;
    struct spool_seg spare; /* a drained mapped file kept for the next rotation */
    uint64_t errors;
    int64_t warned_ms;
};

static uint32_t fnv1a(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

/* A zeroed record header: where a replay stops */
static const struct spool_rec end_mark = {0, 0, 0, 0};

static const struct spool_head head = {
    {'A', 'I', 'G', 'W', 'S', 'P', 'L', '2'},
    (uint32_t)sizeof(struct gw_ledger_entry),
    (uint32_t)sizeof(struct gw_log_row),
};

/* A store into a mapped page the filesystem cannot back (a full disk) is a SIGBUS, not an
 * error code. So the file is mapped only where fallocate reserves its blocks for good:
 * ext4, xfs and tmpfs (not a copy-on-write filesystem, which needs new blocks for every
 * write). Anywhere else, or when a step fails, rows are written with pwritev. */
static void seg_map(struct spool_seg *g)
{
    struct statfs fs;
    if (fstatfs(g->fd, &fs) != 0 || !(fs.f_type == EXT4_SUPER_MAGIC ||
                                      fs.f_type == XFS_SUPER_MAGIC || fs.f_type == TMPFS_MAGIC))
        return;
    if (posix_fallocate(g->fd, 0, SPOOL_MAP) != 0)
        return;
    void *m = mmap(NULL, SPOOL_MAP, PROT_READ | PROT_WRITE, MAP_SHARED, g->fd, 0);
    if (m != MAP_FAILED)
        g->map = m;
}

static int seg_open(struct store_spool *sp, struct spool_seg *g, char *err, size_t errsize)
{
    g->gen = sp->next_gen++;
    snprintf(g->path, sizeof g->path, "%s/%s.%s.%llu", sp->dir, sp->base, sp->token,
             (unsigned long long)g->gen);
    g->map = NULL;
    g->fd = open(g->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (g->fd < 0) {
        snprintf(err, errsize, "cannot create %s: %s", g->path, strerror(errno));
        return -1;
    }
    if (flock(g->fd, LOCK_EX | LOCK_NB) != 0 ||
        pwrite(g->fd, &head, sizeof head, 0) != (ssize_t)sizeof head) {
        snprintf(err, errsize, "cannot write %s: %s", g->path, strerror(errno));
        close(g->fd);
        unlink(g->path);
        g->fd = -1;
        return -1;
    }
    g->pending = 0;
    g->bytes = sizeof head;
    seg_map(g);
    return 0;
}

/* Closes the file, leaving it where it is (its rows wait for the next start). */
static void seg_close(struct spool_seg *g)
{
    if (g->fd < 0)
        return;
    if (g->map)
        munmap(g->map, SPOOL_MAP);
    g->map = NULL;
    close(g->fd);
    g->fd = -1;
}

static void seg_drop(struct spool_seg *g)
{
    if (g->fd < 0)
        return;
    unlink(g->path);
    seg_close(g);
}

static void warn_locked(struct gw_store *s, const char *what)
{
    struct store_spool *sp = s->spool;
    sp->errors++;
    int64_t now = gw_store_mono_ms();
    if (sp->warned_ms && now - sp->warned_ms < SPOOL_WARN_MS)
        return;
    sp->warned_ms = now;
    gw_logf(AIGW_LOG_WARN, "store", NULL,
            "spool %s: %s (%llu rows so far); they wait in memory only until written", what,
            strerror(errno), (unsigned long long)sp->errors);
}

/* The record at g->bytes, end mark first and its own header last: a process killed at any
 * point leaves either a zeroed header there (the replay ends before it) or the whole
 * record followed by an end mark. */
static void copy_record(struct spool_seg *g, const struct iovec *v, int n, size_t total)
{
    char *at = g->map + g->bytes;
    memcpy(at + total, &end_mark, sizeof end_mark);
    /* A process dies between two instructions, so whoever reads the file after it sees its
     * stores in program order: only the compiler could reorder them. */
    atomic_signal_fence(memory_order_seq_cst);
    size_t off = v[0].iov_len;
    for (int i = 1; i < n; i++) {
        if (v[i].iov_len)
            memcpy(at + off, v[i].iov_base, v[i].iov_len);
        off += v[i].iov_len;
    }
    atomic_signal_fence(memory_order_seq_cst);
    memcpy(at, v[0].iov_base, v[0].iov_len);
}

/* One record from its pieces (at most 4). The row is marked spooled when it is all on disk. */
static void append_locked(struct gw_store *s, struct store_link *it, uint32_t kind,
                          const struct iovec *parts, int n)
{
    struct store_spool *sp = s->spool;
    it->spool = 0;
    if (!sp || sp->cur.fd < 0)
        return;
    struct spool_rec rec = {SPOOL_MAGIC, kind, 0, 0};
    struct iovec v[6] = {{&rec, sizeof rec}};
    size_t total = sizeof rec;
    for (int i = 0; i < n && i < 4; i++) {
        v[i + 1] = parts[i];
        rec.len += (uint32_t)parts[i].iov_len;
        rec.sum = gw_crc32c(rec.sum, parts[i].iov_base, parts[i].iov_len);
        total += parts[i].iov_len;
    }
    struct spool_seg *g = &sp->cur;
    if (g->map && (size_t)g->bytes + total + sizeof end_mark <= SPOOL_MAP) {
        copy_record(g, v, n + 1, total);
    } else {
        v[n + 1] = (struct iovec){(void *)&end_mark, sizeof end_mark};
        ssize_t w = pwritev(g->fd, v, n + 2, g->bytes);
        if (w != (ssize_t)(total + sizeof end_mark)) {
            /* A torn record ends every replay there until the next record overwrites it.
             * Cut it off where that cannot shrink the mapped part (a SIGBUS) */
            if (w > 0 && (!g->map || g->bytes >= (off_t)SPOOL_MAP))
                (void)!ftruncate(g->fd, g->bytes);
            warn_locked(s, g->path);
            return;
        }
    }
    sp->cur.bytes += (off_t)total;
    sp->cur.pending++;
    it->spool = sp->cur.gen;
}

/* A log row's struct without its pointers, then its bodies. */
static int log_parts(const struct store_log *it, struct gw_log_row *row, struct iovec *v)
{
    *row = it->row;
    row->request_body = row->response_body = NULL; /* the bodies follow the struct */
    if (!it->row.request_body)
        row->request_body_len = 0;
    if (!it->row.response_body)
        row->response_body_len = 0;
    v[0] = (struct iovec){row, sizeof *row};
    v[1] = (struct iovec){it->row.request_body, row->request_body_len};
    v[2] = (struct iovec){it->row.response_body, row->response_body_len};
    return 3;
}

void gw_store_spool_ledger_locked(struct gw_store *s, struct store_op *op)
{
    struct iovec v = {&op->u.ledger, sizeof op->u.ledger};
    append_locked(s, &op->link, REC_LEDGER, &v, 1);
}

void gw_store_spool_log_locked(struct gw_store *s, struct store_log *it)
{
    struct gw_log_row row;
    struct iovec v[3];
    append_locked(s, &it->link, REC_LOG, v, log_parts(it, &row, v));
}

void gw_store_spool_pair_locked(struct gw_store *s, struct store_op *op, struct store_log *it)
{
    /* one record, one write: a kill leaves both rows or neither */
    struct gw_log_row row;
    struct iovec v[4] = {{&op->u.ledger, sizeof op->u.ledger}};
    append_locked(s, &it->link, REC_PAIR, v, 1 + log_parts(it, &row, v + 1));
    op->link.spool = it->link.spool;
    if (op->link.spool)
        s->spool->cur.pending++; /* two rows in the record, each done on its own */
}

void gw_store_spool_done_locked(struct gw_store *s, struct store_link *it)
{
    struct store_spool *sp = s->spool;
    if (!sp || !it->spool)
        return;
    if (it->spool == sp->cur.gen)
        sp->cur.pending--;
    else if (it->spool == sp->old.gen)
        sp->old.pending--;
    it->spool = 0;
}

/* Empties g: an end mark where the first record goes; a file written past its mapping
 * loses that part (never the mapped part: a SIGBUS). 0, or -1 when it could not. */
static int seg_empty(struct spool_seg *g)
{
    if (g->bytes <= (off_t)sizeof head)
        return 0;
    int ok = g->map ? (memcpy(g->map + sizeof head, &end_mark, sizeof end_mark),
                       g->bytes <= (off_t)SPOOL_MAP || ftruncate(g->fd, SPOOL_MAP) == 0)
                    : ftruncate(g->fd, sizeof head) == 0;
    if (!ok)
        return -1;
    g->bytes = sizeof head;
    return 0;
}

void gw_store_spool_tidy_locked(struct gw_store *s)
{
    struct store_spool *sp = s->spool;
    if (!sp || sp->cur.fd < 0)
        return;
    if (sp->old.fd >= 0 && sp->old.pending <= 0) {
        /* A mapped file is kept for the next rotation: its pages are resident already,
         * where a new file's would each be faulted in again (and the RSS stays two
         * mappings' worth). Its rows are all done, so its name no longer matters. */
        if (sp->old.map && sp->spare.fd < 0 && seg_empty(&sp->old) == 0) {
            sp->spare = sp->old;
            sp->old.fd = -1;
            sp->old.map = NULL;
        } else {
            seg_drop(&sp->old);
        }
    }
    if (sp->cur.pending <= 0) {
        seg_empty(&sp->cur);
    } else if (sp->cur.bytes > (off_t)SPOOL_ROTATE && sp->old.fd < 0) {
        struct spool_seg next;
        char err[256];
        if (sp->spare.fd >= 0) {
            next = sp->spare;
            next.gen = sp->next_gen++;
            next.pending = 0;
            sp->spare.fd = -1;
            sp->spare.map = NULL;
        } else if (seg_open(sp, &next, err, sizeof err) != 0) {
            return;
        }
        sp->old = sp->cur;
        sp->cur = next;
    }
}

/* ---- replay ----------------------------------------------------------------------------- */

static int replay_log(struct gw_store *s, const char *p, size_t len)
{
    struct gw_log_row row;
    if (len < sizeof row)
        return -1;
    memcpy(&row, p, sizeof row);
    if (sizeof row + row.request_body_len + row.response_body_len != len)
        return -1;
    struct store_log *it = calloc(1, sizeof *it);
    if (!it)
        return -1;
    it->row = row;
    it->row.request_body = it->row.response_body = NULL;
    const char *body = p + sizeof row;
    if (row.request_body_len && (it->row.request_body = malloc(row.request_body_len)))
        memcpy(it->row.request_body, body, row.request_body_len);
    else
        it->row.request_body_len = 0;
    body += row.request_body_len;
    if (row.response_body_len && (it->row.response_body = malloc(row.response_body_len)))
        memcpy(it->row.response_body, body, row.response_body_len);
    else
        it->row.response_body_len = 0;
    it->link.bytes = sizeof *it + it->row.request_body_len + it->row.response_body_len;
    gw_store_enqueue_log(s, it);
    return 0;
}

/* Queues the rows of one file again: how many, or -1 when its layout is not this build's. */
static long replay_file(struct gw_store *s, int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof head ||
        st.st_size > (off_t)SPOOL_REPLAY_MAX)
        return st.st_size < (off_t)sizeof head ? 0 : -1;
    size_t size = (size_t)st.st_size;
    char *buf = malloc(size);
    if (!buf || pread(fd, buf, size, 0) != (ssize_t)size) {
        free(buf);
        return -1;
    }
    /* version 1 differs from 2 only by its sum: a spool left by the build before is read */
    struct spool_head v1 = head;
    v1.name[7] = '1';
    int old = !memcmp(buf, &v1, sizeof v1);
    if (!old && memcmp(buf, &head, sizeof head)) {
        free(buf);
        return -1;
    }
    long n = 0;
    size_t off = sizeof head;
    while (off + sizeof(struct spool_rec) <= size) {
        struct spool_rec rec;
        memcpy(&rec, buf + off, sizeof rec);
        const char *p = buf + off + sizeof rec;
        if (rec.magic != SPOOL_MAGIC || rec.len > size - off - sizeof rec ||
            (old ? fnv1a(p, rec.len) : gw_crc32c(0, p, rec.len)) != rec.sum)
            break; /* torn: the process died in the middle of this one */
        if (rec.kind == REC_LEDGER && rec.len == sizeof(struct gw_ledger_entry)) {
            struct gw_ledger_entry e;
            memcpy(&e, p, sizeof e);
            if (gw_store_ledger_add(s, &e) == 0)
                n++;
        } else if (rec.kind == REC_LOG && replay_log(s, p, rec.len) == 0) {
            n++;
        } else if (rec.kind == REC_PAIR && rec.len >= sizeof(struct gw_ledger_entry)) {
            struct gw_ledger_entry e;
            memcpy(&e, p, sizeof e);
            n += gw_store_ledger_add(s, &e) == 0;
            n += replay_log(s, p + sizeof e, rec.len - sizeof e) == 0;
        }
        off += sizeof rec + rec.len;
    }
    free(buf);
    return n;
}

/* Every spool file in the directory whose process is gone: queued again, then removed (its
 * rows are in our own spool by then). */
static void replay_orphans(struct gw_store *s)
{
    struct store_spool *sp = s->spool;
    DIR *d = opendir(sp->dir);
    if (!d)
        return;
    struct dirent *de;
    long rows = 0, files = 0;
    size_t bl = strlen(sp->base);
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, sp->base, bl) || de->d_name[bl] != '.')
            continue;
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", sp->dir, de->d_name);
        if (!strcmp(path, sp->cur.path))
            continue;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            close(fd); /* its process is alive */
            continue;
        }
        long n = replay_file(s, fd);
        if (n < 0) {
            gw_logf(AIGW_LOG_WARN, "store", NULL,
                    "spool %s was written by another build of aigw; left in place", path);
        } else {
            rows += n;
            files++;
            unlink(path);
        }
        close(fd);
    }
    closedir(d);
    if (rows)
        gw_logf(AIGW_LOG_INFO, "store", NULL,
                "%ld ledger and log rows from %ld spool files of a stopped process queued again",
                rows, files);
}

static int mkdirs(const char *dir)
{
    char p[1024];
    if (gw_strlcpy(p, dir, sizeof p) >= sizeof p)
        return -1;
    for (char *q = p + 1; *q; q++) {
        if (*q != '/')
            continue;
        *q = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST)
            return -1;
        *q = '/';
    }
    return mkdir(p, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

int gw_store_spool_open(struct gw_store *s, const char *prefix, char *err, size_t errsize)
{
    struct store_spool *sp = calloc(1, sizeof *sp);
    if (!sp)
        return AIGW_ENOMEM;
    sp->cur.fd = sp->old.fd = sp->spare.fd = -1;
    sp->next_gen = 1;
    unsigned char rnd[8];
    gw_random_bytes(rnd, sizeof rnd);
    const char *slash = strrchr(prefix, '/');
    size_t dl = slash ? (size_t)(slash - prefix) : 1;
    if (gw_strlcpy(sp->base, slash ? slash + 1 : prefix, sizeof sp->base) >= sizeof sp->base ||
        !sp->base[0] || dl >= sizeof sp->dir) {
        snprintf(err, errsize, "bad spool path %s", prefix);
        free(sp);
        return AIGW_ECONFIG;
    }
    memcpy(sp->dir, slash ? prefix : ".", dl);
    sp->dir[dl] = '\0';
    if (!sp->dir[0])
        gw_strlcpy(sp->dir, "/", sizeof sp->dir);
    if (mkdirs(sp->dir) != 0) {
        snprintf(err, errsize, "cannot use the spool directory %s: %s", sp->dir, strerror(errno));
        free(sp);
        return AIGW_ECONFIG;
    }
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(sp->token + 2 * i, 3, "%02x", rnd[i]);
    if (seg_open(sp, &sp->cur, err, errsize) != 0) {
        free(sp);
        return AIGW_ECONFIG;
    }
    s->spool = sp;
    replay_orphans(s);
    return 0;
}

void gw_store_spool_close(struct gw_store *s)
{
    struct store_spool *sp = s->spool;
    if (!sp)
        return;
    long left =
        (sp->cur.pending > 0 ? sp->cur.pending : 0) + (sp->old.pending > 0 ? sp->old.pending : 0);
    if (left) {
        /* closing unlocks them: the next start on this directory writes them */
        gw_logf(AIGW_LOG_WARN, "store", NULL,
                "%ld ledger and log rows not written yet are kept in %s for the next start", left,
                sp->dir);
        seg_close(&sp->old);
        seg_close(&sp->cur);
        seg_drop(&sp->spare);
    } else {
        seg_drop(&sp->old);
        seg_drop(&sp->cur);
        seg_drop(&sp->spare);
    }
    free(sp);
    s->spool = NULL;
}
