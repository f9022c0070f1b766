# lib/dns: the Resolver interface, its libunbound implementation, the test zone format and
# FakeResolver. The test responder's build lines live in tests/dns/local.mk.
lib_libmailwarden_la_SOURCES += \
	lib/dns/resolver.hh lib/dns/resolver.cc \
	lib/dns/answer_cache.hh lib/dns/answer_cache.cc \
	lib/dns/wire.hh lib/dns/wire.cc \
	lib/dns/zone_file.hh lib/dns/zone_file.cc \
	lib/dns/fake_resolver.hh lib/dns/fake_resolver.cc \
	lib/dns/unbound_resolver.cc

include tests/dns/local.mk
