# lib/config: the parameter table (params.cc) and everything derived from it, plus what
# both daemons share around the configuration (options, loading, logging, signals).
lib_libmailwarden_la_SOURCES += \
	lib/config/config.hh \
	lib/config/params.hh \
	lib/config/param_checks.cc \
	lib/config/param_checks.hh \
	lib/config/params.cc \
	lib/config/rate_limit.cc \
	lib/config/rate_limit.hh \
	lib/config/values.cc \
	lib/config/config.cc \
	lib/config/holder.cc \
	lib/config/validate.cc \
	lib/config/daemon_setup.cc \
	lib/config/daemon_setup.hh
tests_unit_testrunner_SOURCES += tests/unit/test-config.cc tests/unit/test-rate-limit.cc
