# lib/engine: what ties config, dns (and later auth and state) together.
lib_libmailwarden_la_SOURCES += \
	lib/engine/config_check.cc \
	lib/engine/config_check.hh \
	lib/engine/resolver_options.cc \
	lib/engine/resolver_options.hh

# Verdicts and the decision table (facts → Verdict), shared by every front-end.
lib_libmailwarden_la_SOURCES += \
	lib/engine/check.cc \
	lib/engine/check.hh \
	lib/engine/check_list.cc \
	lib/engine/checks/authentication_results.cc \
	lib/engine/checks/checks.hh \
	lib/engine/checks/decision_table.cc \
	lib/engine/checks/dkim_sign.cc \
	lib/engine/checks/dkim_verify.cc \
	lib/engine/checks/dmarc.cc \
	lib/engine/checks/dmarc_report.cc \
	lib/engine/checks/from_header.cc \
	lib/engine/checks/greylisting.cc \
	lib/engine/checks/lists.cc \
	lib/engine/checks/rate_limits.cc \
	lib/engine/checks/reputation.cc \
	lib/engine/checks/spf.cc \
	lib/engine/decision.cc \
	lib/engine/decision.hh \
	lib/engine/engine.cc \
	lib/engine/engine.hh \
	lib/engine/engine_holder.cc \
	lib/engine/engine_holder.hh \
	lib/engine/greylisting.cc \
	lib/engine/greylisting.hh \
	lib/engine/limits.cc \
	lib/engine/limits.hh \
	lib/engine/reputation.cc \
	lib/engine/reputation.hh \
	lib/engine/state_store.cc \
	lib/engine/state_store.hh \
	lib/engine/state_keys.cc \
	lib/engine/state_keys.hh \
	lib/engine/message_text.cc \
	lib/engine/message_text.hh \
	lib/engine/report.cc \
	lib/engine/report.hh \
	lib/engine/stage_run.hh \
	lib/engine/timing.cc \
	lib/engine/timing.hh \
	lib/engine/verdict.cc \
	lib/engine/verdict.hh
tests_unit_testrunner_SOURCES += \
	tests/unit/test-decision.cc \
	tests/unit/test-engine.cc \
	tests/unit/test-engine-hooks.cc \
	tests/unit/test-engine-limits.cc \
	tests/unit/test-engine-reports.cc \
	tests/unit/test-check.cc

# DKIM signing of outbound mail: the configuration's keys and options.
lib_libmailwarden_la_SOURCES += \
	lib/engine/signing.cc \
	lib/engine/signing.hh
tests_unit_testrunner_SOURCES += tests/unit/test-signing.cc
