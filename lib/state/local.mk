# lib/state: the Store interface, its rules, and the LMDB and Redis stores.
lib_libmailwarden_la_SOURCES += \
	lib/state/breaker.cc \
	lib/state/breaker.hh \
	lib/state/lmdb_store.cc \
	lib/state/lmdb_store.hh \
	lib/state/rules.cc \
	lib/state/rules.hh \
	lib/state/state_key.cc \
	lib/state/store.hh
tests_unit_testrunner_SOURCES += \
	tests/unit/test-breaker.cc \
	tests/unit/test-state-rules.cc \
	tests/unit/test-store.cc
