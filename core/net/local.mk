# core/net: threads and sockets: the MHD front and worker loops, responses, the streaming relay, the curl engine.
core_libgwcore_la_SOURCES += \
	core/net/http.c \
	core/net/http.h \
	core/net/relay.c \
	core/net/relay.h \
	core/net/respond.c \
	core/net/respond.h \
	core/net/sockwatch.c \
	core/net/sockwatch.h \
	core/net/upstream.c \
	core/net/upstream.h
# Listen addresses: one parser for every listener (net/listen.c).
core_libgwcore_la_SOURCES += core/net/listen.c core/net/listen.h
