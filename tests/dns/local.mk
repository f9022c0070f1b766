# tests/dns: mw-testdnsd, the loopback DNS responder the integration tests start.
check_PROGRAMS += tests/dns/mw-testdnsd
tests_dns_mw_testdnsd_SOURCES = tests/dns/mw-testdnsd.cc
tests_dns_mw_testdnsd_LDADD = $(MW_LIBS)

EXTRA_DIST += \
	tests/data/zones/example.zone \
	tests/data/zones/failures.zone \
	tests/data/zones/large.zone

tests_unit_testrunner_SOURCES += \
	tests/unit/dns_test_server.hh \
	tests/unit/test-dns-zone.cc \
	tests/unit/test-dns-cache.cc \
	tests/unit/test-dns-unbound.cc
