# tests/dns: mw-testdnsd, the loopback DNS responder the integration tests start.
check_PROGRAMS += tests/dns/mw-testdnsd
tests_dns_mw_testdnsd_SOURCES = tests/dns/mw-testdnsd.cc
tests_dns_mw_testdnsd_LDADD = $(MW_LIBS)

EXTRA_DIST += \
	tests/data/zones/example.zone \
	tests/data/zones/failures.zone \
	tests/data/zones/large.zone

# The DNS unit tests link into the one testrunner. tests/local.mk (included after this file)
# sets tests_unit_testrunner_SOURCES with '=', so '+=' from here is an automake error; the
# nodist_ variant is the only per-program source list still free. EXTRA_DIST ships them.
MW_DNS_UNIT_TESTS = \
	tests/unit/dns_test_server.hh \
	tests/unit/test-dns-zone.cc \
	tests/unit/test-dns-unbound.cc
nodist_tests_unit_testrunner_SOURCES = $(MW_DNS_UNIT_TESTS)
EXTRA_DIST += $(MW_DNS_UNIT_TESTS)
