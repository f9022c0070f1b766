# lib/util: see Makefile.am

# Daemon plumbing and socket specifications (shared by both daemons).
lib_libmailwarden_la_SOURCES += \
	lib/util/daemon.cc \
	lib/util/daemon.hh \
	lib/util/socket_spec.cc \
	lib/util/socket_spec.hh
