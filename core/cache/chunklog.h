/*
 * chunklog - a cached answer as the normalized chunks it was delivered as (struct aigw_chunk),
 * in a compact binary log. Dialects render from chunks, so a log replayed through any
 * dialect's renderer is a well-formed answer in that dialect, streamed or not, whatever shape
 * the original request had: the text, reasoning (with signatures), refusals, tool calls (ids,
 * names, argument pieces), finish reasons, usage, embeddings and extra top-level fields all
 * survive, piece by piece.
 *
 * The response's identity is not kept: a META chunk keeps the model that answered, never the
 * upstream's response id or time, so each replay gets an id and a time of its own.
 *
 * Recording keeps only what is worth replaying: an error, a content-filtered finish, a chunk
 * type the log cannot hold or a log past its cap marks the recording unusable, and
 * gw_cache_rec_complete says whether the answer ended properly (a finish, or embeddings).
 *
 * Format (version 1): "AGC1", then records: type (1 byte), choice, tool_index, finish
 * (varints), id, name, text (varint length + bytes), then by type: USAGE five zigzag
 * varints; EMBEDDING a varint count and that many little-endian IEEE doubles; EXTRA the value
 * as JSON text (length + bytes). A log read back (from Redis: written by another replica) is
 * checked whole before anything of it is replayed.
 *
 * Threading: a recorder belongs to one request; the log functions are stateless.
 */
#ifndef GW_CACHE_CHUNKLOG_H
#define GW_CACHE_CHUNKLOG_H

#include <stddef.h>

#include "aigw/plugin.h"
#include "lib/buf.h"

struct gw_cache_rec {
    struct gw_buf log;
    int attempt;  /* the upstream attempt whose chunks are in the log */
    int finishes; /* FINISH chunks recorded */
    int items;    /* EMBEDDING chunks recorded */
    int unusable; /* an error, a filtered answer, an unknown chunk, or past the cap */
};

/* cap: the largest log kept (bytes). */
void gw_cache_rec_init(struct gw_cache_rec *rec, size_t cap);
void gw_cache_rec_free(struct gw_cache_rec *rec);
/* Empties the log (a new attempt starts over). */
void gw_cache_rec_reset(struct gw_cache_rec *rec);
/* Records one chunk as it was delivered. */
void gw_cache_rec_add(struct gw_cache_rec *rec, const struct aigw_chunk *c);
/* 1 when the log is a whole answer worth keeping. */
int gw_cache_rec_complete(const struct gw_cache_rec *rec);

/* 0 when data is a well-formed log, else AIGW_EPROTO. */
int gw_cache_log_check(const void *data, size_t len);
/* Calls emit for every chunk in order; stops at (and returns) emit's first nonzero result.
 * AIGW_EPROTO for a malformed log (check it first: emit may have run for a prefix). */
int gw_cache_log_replay(const void *data, size_t len,
                        int (*emit)(void *ud, const struct aigw_chunk *c), void *ud);
/* The same in steps, for a consumer that drains slower than the log replays: from *pos (0
 * the start), before each chunk gate(ud) says go on (0), pause (positive: returned, *pos is
 * where the next call goes on) or stop (negative: returned). 0 once the whole log was
 * replayed, or the first negative result of emit or AIGW_EPROTO. */
int gw_cache_log_replay_some(const void *data, size_t len, size_t *pos,
                             int (*emit)(void *ud, const struct aigw_chunk *c),
                             int (*gate)(void *ud), void *ud);
/* The model the first META record names, copied into out ("" when none). */
void gw_cache_log_model(const void *data, size_t len, char *out, size_t size);

#endif
