# policy/: mailwarden-policyd, the Postfix policy delegation front-end.
sbin_PROGRAMS += policy/mailwarden-policyd
policy_mailwarden_policyd_SOURCES = \
	policy/client.cc \
	policy/client.hh \
	policy/decision.cc \
	policy/decision.hh \
	policy/main.cc \
	policy/request.cc \
	policy/request.hh \
	policy/server.cc \
	policy/server.hh
policy_mailwarden_policyd_LDADD = $(MW_LIBS) $(BOOST_PROGRAM_OPTIONS_LIBS)
dist_man_MANS += policy/mailwarden-policyd.8

# The protocol parser is pure; the unit and fuzz tests link it directly.
tests_unit_testrunner_SOURCES += policy/request.cc tests/unit/test-policyd.cc
