# tools: the mailwarden admin CLI.
bin_PROGRAMS += tools/mailwarden
tools_mailwarden_SOURCES = \
	tools/check_command.cc \
	tools/cli.cc \
	tools/cli.hh \
	tools/dkim_commands.cc \
	tools/dmarc_command.cc \
	tools/mailwarden.cc \
	tools/state_commands.cc
tools_mailwarden_LDADD = $(MW_LIBS) $(BOOST_PROGRAM_OPTIONS_LIBS)
dist_man_MANS += tools/mailwarden.1
