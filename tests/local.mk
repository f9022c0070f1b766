# tests/: one Boost.Test testrunner (unit tests of every module) plus integration scripts.
check_PROGRAMS += tests/unit/testrunner
tests_unit_testrunner_SOURCES += tests/unit/testrunner.cc
tests_unit_testrunner_CPPFLAGS = $(AM_CPPFLAGS) $(OPENDKIM_CFLAGS) $(OPENSSL_CFLAGS) $(YAMLCPP_CFLAGS) \
	-DBOOST_TEST_DYN_LINK
tests_unit_testrunner_LDADD = $(MW_LIBS) $(YAMLCPP_LIBS) $(BOOST_UNIT_TEST_LIBS)

TESTS += tests/unit/testrunner
# Random order every run; the seed is printed so a failure can be replayed.
AM_TESTS_ENVIRONMENT = \
	BOOST_TEST_RANDOM=1; export BOOST_TEST_RANDOM; \
	BOOST_TEST_REPORT_LEVEL=short; export BOOST_TEST_REPORT_LEVEL; \
	MW_SRCDIR='$(abs_top_srcdir)'; export MW_SRCDIR; \
	MW_BUILDDIR='$(abs_top_builddir)'; export MW_BUILDDIR;

tests_unit_testrunner_SOURCES += \
	tests/unit/child_process.hh \
	tests/unit/policy_client.hh \
	tests/unit/dkim_test_signer.cc \
	tests/unit/dkim_test_signer.hh \
	tests/unit/spf_suite.cc \
	tests/unit/spf_suite.hh \
	tests/unit/test-spf-suite.cc \
	tests/unit/test-spf-check.cc \
	tests/unit/test-config-verdicts.cc \
	tests/unit/spf_generator.cc \
	tests/unit/spf_generator.hh \
	tests/unit/test-spf-differential.cc \
	tests/unit/test-daemons.cc \
	tests/unit/mta_test.hh \
	tests/unit/test-postfix.cc \
	tests/unit/test-sendmail.cc \
	tests/unit/test-tools.cc \
	tests/unit/test-socket-spec.cc

# The pyspf side of tests/unit/test-spf-differential.cc.
EXTRA_DIST += tests/unit/spf_pyspf.py
# DKIM signing: the admin tool's dkim commands and config check on key files.
tests_unit_testrunner_SOURCES += \
	tests/unit/signing_keys.hh \
	tests/unit/test-dkim-tools.cc
EXTRA_DIST += tests/unit/dkimpy-verify.py
