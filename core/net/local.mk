# core/net: threads and sockets: the MHD front and worker loops, responses, the streaming relay, the curl engine.
core_libgwcore_la_SOURCES += \
	core/net/http.c \
	core/net/http.h \
	core/net/listen.c \
	core/net/listen.h \
	core/net/peer.c \
	core/net/peer.h \
	core/net/proxyenv.c \
	core/net/relay.c \
	core/net/relay.h \
	core/net/sockwatch.c \
	core/net/sockwatch.h \
	core/net/upstream.c \
	core/net/upstream.h \
	core/net/upstream_int.h \
	core/net/worker.c \
	core/net/worker.h \
	core/net/xfer.c
