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

# IDNA2008 (libidn2): the one conversion of mail domains in U-labels to A-labels (RFC 8616).
lib_libmailwarden_la_SOURCES += \
	lib/auth/idna.cc \
	lib/auth/idna.hh
tests_unit_testrunner_SOURCES += tests/unit/test-idna.cc tests/unit/idna_test_names.hh

# Public Suffix List (organizational domain for DMARC).
lib_libmailwarden_la_SOURCES += \
	lib/auth/public_suffix.cc \
	lib/auth/public_suffix.hh
tests_unit_testrunner_SOURCES += tests/unit/test-public-suffix.cc

# DKIM verification on libopendkim, keys looked up through dns::Resolver.
lib_libmailwarden_la_SOURCES += \
	lib/auth/dkim_body.cc \
	lib/auth/dkim_body.hh \
	lib/auth/dkim_header.cc \
	lib/auth/dkim_header.hh \
	lib/auth/dkim_key.cc \
	lib/auth/dkim_key.hh \
	lib/auth/openssl_ptr.hh \
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
	tests/unit/test-dkim-differential.cc \
	tests/unit/test-dkim-sign.cc \
	tests/unit/test-dkim-private-key.cc
# The dkimpy side of the differential test (run by /usr/bin/python3).
EXTRA_DIST += tests/unit/dkim_dkimpy.py

# DMARC (RFC 9989): our record parser, the DNS tree walk on our resolver, alignment.
lib_libmailwarden_la_SOURCES += \
	lib/auth/dmarc.cc \
	lib/auth/dmarc.hh \
	lib/auth/dmarc_authors.cc \
	lib/auth/dmarc_authors.hh \
	lib/auth/dmarc_discovery.cc \
	lib/auth/dmarc_discovery.hh \
	lib/auth/dmarc_record.cc \
	lib/auth/dmarc_record.hh
tests_unit_testrunner_SOURCES += \
	tests/unit/test-dmarc.cc \
	tests/unit/test-dmarc-record.cc \
	tests/unit/test-dmarc-treewalk.cc

# SPF (RFC 7208): record parser, macro expansion and check_host() of our own, on dns::Resolver.
lib_libmailwarden_la_SOURCES += \
	lib/auth/spf.cc \
	lib/auth/spf.hh \
	lib/auth/spf_eval.cc \
	lib/auth/spf_eval.hh \
	lib/auth/spf_macro.cc \
	lib/auth/spf_macro.hh \
	lib/auth/spf_syntax.cc \
	lib/auth/spf_syntax.hh
tests_unit_testrunner_SOURCES += \
	tests/unit/test-spf.cc \
	tests/unit/test-spf-rfc.cc
