# core/obs: observability: metrics, trace spans and their OTLP export.
core_libgwcore_la_SOURCES += \
	core/obs/metrics.c \
	core/obs/metrics.h \
	core/obs/metrics_int.h \
	core/obs/metrics_ops.c \
	core/obs/metrics_render.c \
	core/obs/metrics_series.c \
	core/obs/otel.c \
	core/obs/otel.h \
	core/obs/otel_config.c \
	core/obs/otlp.c \
	core/obs/otlp.h \
	core/obs/otlp_export.c \
	core/obs/trace.c \
	core/obs/trace_context.c \
	core/obs/trace.h
