include tests/unit/eventstream.mk
