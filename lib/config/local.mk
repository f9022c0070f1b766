# lib/config: see Makefile.am

# What both daemons share around the configuration: options, loading, logging, signals.
lib_libmailwarden_la_SOURCES += \
	lib/config/daemon_setup.cc \
	lib/config/daemon_setup.hh
