# The mock provider server: a library the e2e tests run in-process, and the standalone
# `mockprov` binary that ./quickstart demo and bench/ start. Built by a plain `make` (not
# only `make check`) because the demo needs it; it depends on nothing but MHD and cJSON.
noinst_LTLIBRARIES += tests/mockprov/libmockprov.la
tests_mockprov_libmockprov_la_SOURCES = tests/mockprov/mock.c tests/mockprov/mock.h \
	tests/mockprov/mock_int.h tests/mockprov/mock_record.c tests/mockprov/mock_route.c \
	tests/mockprov/mock_route_json.c tests/mockprov/mock_serve.c tests/mockprov/mock_evs.c
tests_mockprov_libmockprov_la_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS) $(CJSON_CFLAGS)
tests_mockprov_libmockprov_la_LIBADD = $(MHD_LIBS) $(CJSON_LIBS) $(AX_PTHREAD_LIBS)

noinst_PROGRAMS += tests/mockprov/mockprov
tests_mockprov_mockprov_SOURCES = tests/mockprov/main.c
tests_mockprov_mockprov_CFLAGS = $(AM_CFLAGS) $(CJSON_CFLAGS)
tests_mockprov_mockprov_LDADD = tests/mockprov/libmockprov.la
