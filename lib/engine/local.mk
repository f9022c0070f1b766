# lib/engine: what ties config, dns (and later auth and state) together.
lib_libmailwarden_la_SOURCES += \
	lib/engine/resolver_options.cc \
	lib/engine/resolver_options.hh
