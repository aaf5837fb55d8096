# core/guard: the guardrail chain: guard plugins loaded from the guard directory, run on the
# request, on the answer's deltas through a bounded window, on the final answer and on errors.
core_libgwcore_la_SOURCES += \
	core/guard/chain.c \
	core/guard/ghost.c \
	core/guard/guard.h \
	core/guard/guard_int.h \
	core/guard/guard_loader.c \
	core/guard/run.c \
	core/guard/tools.c \
	core/guard/window.c
