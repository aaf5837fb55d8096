# core/front: inbound dialects: parse a client body into the internal request, render chunks into the dialect.
core_libgwcore_la_SOURCES += \
	core/front/dialect.c \
	core/front/dialect.h \
	core/front/openai.c \
	core/front/openai.h \
	core/front/render.c \
	core/front/render.h \
	core/front/render_doc.c \
	core/front/render_int.h \
	core/front/request.c \
	core/front/request.h \
	core/front/respond.c \
	core/front/respond.h
include core/front/anthropic.mk
