# core/cache: the exact response cache as a service: keys (canonical requests), answers as
# replayable chunk logs, the in-memory LRU, settings. The lifetime's side is proxy/cache_*.c.
core_libgwcore_la_SOURCES += \
	core/cache/cache.c \
	core/cache/cache.h \
	core/cache/chunklog.c \
	core/cache/chunklog.h \
	core/cache/key.c \
	core/cache/key.h \
	core/cache/lru.c \
	core/cache/lru.h
