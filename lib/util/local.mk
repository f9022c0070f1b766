# lib/util: logging, escaping, warning rate limiter, LockGuarded (see Makefile.am)
lib_libmailwarden_la_SOURCES += lib/util/escape.cc
lib_libmailwarden_la_SOURCES += lib/util/escape.hh
lib_libmailwarden_la_SOURCES += lib/util/lock_guarded.hh
tests_unit_testrunner_SOURCES += tests/unit/test-escape.cc
tests_unit_testrunner_SOURCES += tests/unit/test-lock_guarded.cc
