# milter/: mailwarden-milter, the libmilter front-end.
sbin_PROGRAMS += milter/mailwarden-milter
milter_mailwarden_milter_SOURCES = \
	milter/main.cc \
	milter/callbacks.cc \
	milter/callbacks.hh \
	milter/session.hh
milter_mailwarden_milter_CPPFLAGS = $(AM_CPPFLAGS) $(MILTER_CFLAGS)
milter_mailwarden_milter_LDADD = $(MW_LIBS) $(MILTER_LIBS) $(BOOST_PROGRAM_OPTIONS_LIBS)
dist_man_MANS += milter/mailwarden-milter.8
