# lib/auth: strict parsers for the authentication engine (see Makefile.am). Pure functions
# of header text: no DNS, no libraries.
lib_libmailwarden_la_SOURCES += \
	lib/auth/authres.cc \
	lib/auth/authres.hh \
	lib/auth/header_from.cc \
	lib/auth/header_from.hh
tests_unit_testrunner_SOURCES += \
	tests/unit/test-header-from.cc \
	tests/unit/test-authres.cc

# Public Suffix List (organizational domain for DMARC) and the Punycode encoder it needs.
lib_libmailwarden_la_SOURCES += \
	lib/auth/public_suffix.cc \
	lib/auth/public_suffix.hh \
	lib/auth/punycode.cc \
	lib/auth/punycode.hh
tests_unit_testrunner_SOURCES += tests/unit/test-public-suffix.cc

# DKIM verification on libopendkim, keys looked up through dns::Resolver.
lib_libmailwarden_la_SOURCES += \
	lib/auth/dkim_body.cc \
	lib/auth/dkim_body.hh \
	lib/auth/dkim_header.cc \
	lib/auth/dkim_header.hh \
	lib/auth/dkim_key.cc \
	lib/auth/dkim_key.hh \
	lib/auth/dkim_fast_path.cc \
	lib/auth/dkim_key_lookup.cc \
	lib/auth/dkim_key_table.cc \
	lib/auth/dkim_key_table.hh \
	lib/auth/dkim_library.cc \
	lib/auth/dkim_private_key.cc \
	lib/auth/dkim_private_key.hh \
	lib/auth/dkim_sign.cc \
	lib/auth/dkim_sign.hh \
	lib/auth/dkim_verify.cc \
	lib/auth/dkim_verify.hh \
	lib/auth/dkim_verify_context.hh \
	lib/auth/opendkim_api.hh
tests_unit_testrunner_SOURCES += \
	tests/unit/test-dkim.cc \
	tests/unit/test-dkim-key.cc \
	tests/unit/test-dkim-body.cc \
	tests/unit/test-dkim-header.cc \
	tests/unit/test-dkim-sign.cc \
	tests/unit/test-dkim-private-key.cc

# DMARC on libopendmarc: our DNS and our Public Suffix List, the library parses records.
lib_libmailwarden_la_SOURCES += \
	lib/auth/dmarc.cc \
	lib/auth/dmarc.hh
tests_unit_testrunner_SOURCES += tests/unit/test-dmarc.cc

# SPF on libspf2 with our DNS layer (void lookups, time budget, initial processing).
lib_libmailwarden_la_SOURCES += \
	lib/auth/spf.cc \
	lib/auth/spf.hh \
	lib/auth/spf_syntax.cc \
	lib/auth/spf_syntax.hh
tests_unit_testrunner_SOURCES += tests/unit/test-spf.cc
