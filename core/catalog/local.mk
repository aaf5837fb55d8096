# core/catalog: the model catalog and cost.
core_libgwcore_la_SOURCES += \
	core/catalog/catalog.c \
	core/catalog/catalog.h \
	core/catalog/catalog_entry.c \
	core/catalog/catalog_int.h \
	core/catalog/catalog_load.c \
	core/catalog/catalog_merge.c \
	core/catalog/catalog_model.c \
	core/catalog/cost.c \
	core/catalog/cost.h
