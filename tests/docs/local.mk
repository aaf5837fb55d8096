# The operator documentation against the code (test_docs.sh, with docs_check.py doing the
# parsing), and `make install` / `make uninstall` into temporary prefixes (test_install.sh).
# Shell scripts only: they run with or without Criterion.
TESTS += tests/docs/test_docs.sh tests/docs/test_install.sh
EXTRA_DIST += tests/docs/test_docs.sh tests/docs/test_install.sh tests/docs/docs_check.py
