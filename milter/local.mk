# milter/: mailwarden-milter, our own server of the milter protocol.
sbin_PROGRAMS += milter/mailwarden-milter
# The protocol (framing, dispatch, the steps) without sockets: the unit tests link it too.
milter_protocol_sources = \
	milter/callbacks.cc \
	milter/callbacks.hh \
	milter/context.cc \
	milter/context.hh \
	milter/dispatch.cc \
	milter/dispatch.hh \
	milter/frame.cc \
	milter/frame.hh \
	milter/protocol.cc \
	milter/protocol.hh \
	milter/session.hh
milter_mailwarden_milter_SOURCES = \
	milter/main.cc \
	milter/server.cc \
	milter/server.hh \
	$(milter_protocol_sources)
milter_mailwarden_milter_LDADD = $(MW_LIBS) $(BOOST_PROGRAM_OPTIONS_LIBS)
dist_man_MANS += milter/mailwarden-milter.8

tests_unit_testrunner_SOURCES += \
	$(milter_protocol_sources) \
	tests/unit/milter_frames.hh \
	tests/unit/test-milter-dispatch.cc \
	tests/unit/test-milter-protocol.cc \
	tests/unit/test-milter-server.cc \
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
	tests/integration/milter-reputation.lua \
	tests/integration/milter-spf.lua \
	tests/integration/milter-stop.lua
