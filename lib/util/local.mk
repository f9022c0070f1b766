# lib/util: see Makefile.am

# lib/util: value parsing and CIDR sets (configuration branch).
lib_libmailwarden_la_SOURCES += lib/util/parse.hh lib/util/parse.cc lib/util/cidr.hh lib/util/cidr.cc
tests_unit_testrunner_SOURCES += tests/unit/test-parse.cc tests/unit/test-cidr.cc
