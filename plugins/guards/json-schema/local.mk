guard_LTLIBRARIES += plugins/guards/json-schema.la
plugins_guards_json_schema_la_SOURCES = plugins/guards/json-schema/json-schema.c
plugins_guards_json_schema_la_CFLAGS = $(GUARD_CFLAGS)
plugins_guards_json_schema_la_LDFLAGS = $(GUARD_LDFLAGS)
plugins_guards_json_schema_la_LIBADD = $(GUARD_LIBS)
