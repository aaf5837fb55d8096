# core/lib: knows nothing of aigw: buffers, arena, log, redaction, crypto, UTF-8, JSON with comments, JSON in a rewindable arena (jsonarena), cJSON's printing without its allocations (jsonprint), Retry-After; coding (compressed request bodies).
# pages: page-backed blocks for big sparse tables.
core_libgwcore_la_SOURCES += \
	core/lib/arena.c \
	core/lib/arena.h \
	core/lib/buf.c \
	core/lib/buf.h \
	core/lib/coding.c \
	core/lib/coding.h \
	core/lib/crc32c.c \
	core/lib/crc32c.h \
	core/lib/crypto.c \
	core/lib/crypto.h \
	core/lib/headers.h \
	core/lib/jschema.c \
	core/lib/jsonarena.c \
	core/lib/jsonarena.h \
	core/lib/jsonprint.c \
	core/lib/jsonprint.h \
	core/lib/jschema.h \
	core/lib/jsonc.c \
	core/lib/jsonc.h \
	core/lib/log.c \
	core/lib/log.h \
	core/lib/memo.h \
	core/lib/pages.c \
	core/lib/pages.h \
	core/lib/redact.c \
	core/lib/redact.h \
	core/lib/reqerr.h \
	core/lib/retry_after.c \
	core/lib/retry_after.h \
	core/lib/utf8.c \
	core/lib/utf8.h
