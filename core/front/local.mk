# core/front: inbound dialects: parse a client body into the internal request, render chunks into the dialect.
core_libgwcore_la_SOURCES += \
	core/front/models.c \
	core/front/models.h \
	core/front/models_live.c \
	core/front/models_live.h \
	core/front/render.c \
	core/front/render.h \
	core/front/request.c \
	core/front/request.h
include core/front/anthropic.mk
