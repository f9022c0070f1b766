# lib/util: logging, escaping, warning rate limiter, LockGuarded, daemon plumbing,
# socket specifications (see Makefile.am). Knows nothing of mail.
lib_libmailwarden_la_SOURCES += \
	lib/util/ascii.hh \
	lib/util/cidr.cc \
	lib/util/cidr.hh \
	lib/util/daemon.cc \
	lib/util/daemon.hh \
	lib/util/digest.cc \
	lib/util/digest.hh \
	lib/util/escape.cc \
	lib/util/escape.hh \
	lib/util/gzip.cc \
	lib/util/gzip.hh \
	lib/util/listen.cc \
	lib/util/listen.hh \
	lib/util/lock_guarded.hh \
	lib/util/log.cc \
	lib/util/log.hh \
	lib/util/parse.cc \
	lib/util/parse.hh \
	lib/util/percent.cc \
	lib/util/percent.hh \
	lib/util/rate_limited_log.cc \
	lib/util/rate_limited_log.hh \
	lib/util/socket_spec.cc \
	lib/util/socket_spec.hh \
	lib/util/json.cc \
	lib/util/json.hh \
	lib/util/utf8.cc \
	lib/util/utf8.hh \
	lib/util/xml.cc \
	lib/util/xml.hh
tests_unit_testrunner_SOURCES += \
	tests/unit/test-escape.cc \
	tests/unit/test-xml.cc \
	tests/unit/test-json.cc \
	tests/unit/test-log.cc \
	tests/unit/log_capture.hh \
	tests/unit/test-lock_guarded.cc \
	tests/unit/test-parse.cc \
	tests/unit/test-cidr.cc \
	tests/unit/test-listen.cc
