# The model catalog: models.json is installed to $(pkgdatadir) (the daemon reads
# AIGW_DATA_DIR "/models.json"), with the attribution and license texts its sources require.
# gen_catalog.py regenerates models.json from ../shared/data (see catalog/README.md).
dist_pkgdata_DATA += catalog/models.json catalog/SOURCES.md
catalog_licensesdir = $(pkgdatadir)/licenses
dist_catalog_licenses_DATA = \
	catalog/licenses/litellm-LICENSE \
	catalog/licenses/models.dev-LICENSE \
	catalog/licenses/portkey-models-LICENSE \
	catalog/licenses/genai-prices-LICENSE
EXTRA_DIST += catalog/gen_catalog.py catalog/README.md


if BUILD_TESTS
check_PROGRAMS += tests/unit/test_catalog tests/unit/test_cost
TESTS += tests/unit/test_catalog tests/unit/test_cost
tests_unit_test_catalog_SOURCES = tests/unit/test_catalog.c
tests_unit_test_catalog_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_catalog_LDADD = $(TEST_LIBS)
tests_unit_test_cost_SOURCES = tests/unit/test_cost.c
tests_unit_test_cost_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_cost_LDADD = $(TEST_LIBS)
endif
