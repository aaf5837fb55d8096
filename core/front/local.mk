# core/front: inbound dialects: parse a client body into the internal request, render chunks into the dialect.
core_libgwcore_la_SOURCES += \
	core/front/body.c \
	core/front/body.h \
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
	core/front/respond.h \
	core/front/tokens.c \
	core/front/tokens.h
# The OpenAI Responses dialect (POST /v1/responses and the stored-response routes).
core_libgwcore_la_SOURCES += \
	core/front/responses.h \
	core/front/responses_int.h \
	core/front/responses_parse.c \
	core/front/responses_items.c \
	core/front/responses_tools.c \
	core/front/responses_render.c \
	core/front/responses_events.c \
	core/front/responses_routes.c \
	core/front/responses_doc.c \
	core/front/responses_state.c \
	core/front/responses_refs.c \
	core/front/responses_compact.c \
	core/front/responses_tokens.c
include core/front/anthropic.mk
