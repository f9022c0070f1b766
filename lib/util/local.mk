# lib/util: logging, escaping, warning rate limiter, LockGuarded (see Makefile.am)
lib_libmailwarden_la_SOURCES += lib/util/escape.cc
lib_libmailwarden_la_SOURCES += lib/util/escape.hh
lib_libmailwarden_la_SOURCES += lib/util/lock_guarded.hh
lib_libmailwarden_la_SOURCES += lib/util/log.cc
lib_libmailwarden_la_SOURCES += lib/util/log.hh
lib_libmailwarden_la_SOURCES += lib/util/rate_limited_log.cc
lib_libmailwarden_la_SOURCES += lib/util/rate_limited_log.hh
tests_unit_testrunner_SOURCES += tests/unit/test-escape.cc
tests_unit_testrunner_SOURCES += tests/unit/test-log.cc
tests_unit_testrunner_SOURCES += tests/unit/test-lock_guarded.cc
