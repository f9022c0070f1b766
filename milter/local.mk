# milter/: mailwarden-milter, the libmilter front-end.
sbin_PROGRAMS += milter/mailwarden-milter
milter_mailwarden_milter_SOURCES = \
	milter/main.cc \
	milter/callbacks.cc \
	milter/callbacks.hh \
	milter/protocol.cc \
	milter/protocol.hh \
	milter/session.hh
milter_mailwarden_milter_CPPFLAGS = $(AM_CPPFLAGS) $(MILTER_CFLAGS)
milter_mailwarden_milter_LDADD = $(MW_LIBS) $(MILTER_LIBS) $(BOOST_PROGRAM_OPTIONS_LIBS)
dist_man_MANS += milter/mailwarden-milter.8

# The protocol helpers need no libmilter; the unit tests link them directly.
tests_unit_testrunner_SOURCES += \
	milter/protocol.cc \
	tests/unit/test-milter-protocol.cc \
	tests/unit/test-milter.cc
EXTRA_DIST += \
	tests/integration/milter-lib.lua \
	tests/integration/milter-abort.lua \
	tests/integration/milter-concurrent.lua \
	tests/integration/milter-dkim.lua \
	tests/integration/milter-dmarc.lua \
	tests/integration/milter-dns-timeout.lua \
	tests/integration/milter-forged.lua \
	tests/integration/milter-large.lua \
	tests/integration/milter-outbound.lua \
	tests/integration/milter-quota.lua \
	tests/integration/milter-ratelimit.lua \
	tests/integration/milter-spf.lua \
	tests/integration/milter-stop.lua
