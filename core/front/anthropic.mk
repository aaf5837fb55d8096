# core/front: the Anthropic Messages dialect (anthropic.h).
core_libgwcore_la_SOURCES += \
	core/front/anthropic.h \
	core/front/anthropic_content.c \
	core/front/anthropic_dialect.c \
	core/front/anthropic_errors.c \
	core/front/anthropic_events.c \
	core/front/anthropic_extra.c \
	core/front/anthropic_ids.c \
	core/front/anthropic_models.c \
	core/front/anthropic_parse.c \
	core/front/anthropic_render.c \
	core/front/anthropic_render.h
