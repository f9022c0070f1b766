# lib/state: the Store interface, its rules, and the LMDB and Redis stores.
lib_libmailwarden_la_SOURCES += \
	lib/state/breaker.cc \
	lib/state/breaker.hh \
	lib/state/lmdb_file.cc \
	lib/state/lmdb_file.hh \
	lib/state/lmdb_report.cc \
	lib/state/lmdb_report.hh \
	lib/state/lmdb_store.cc \
	lib/state/lmdb_store.hh \
	lib/state/lmdb_value.hh \
	lib/state/redis_report.cc \
	lib/state/redis_report.hh \
	lib/state/redis_store.cc \
	lib/state/redis_store.hh \
	lib/state/report_ops.cc \
	lib/state/report_ops.hh \
	lib/state/rules.cc \
	lib/state/rules.hh \
	lib/state/state_key.cc \
	lib/state/store.hh
tests_unit_testrunner_SOURCES += \
	tests/unit/redis_server.cc \
	tests/unit/redis_server.hh \
	tests/unit/store_backends.hh \
	tests/unit/test-breaker.cc \
	tests/unit/test-redis-store.cc \
	tests/unit/test-state-rules.cc \
	tests/unit/test-store.cc \
	tests/unit/test-store-report.cc

# The Redis scripts: installed for admins to read (and to run with redis-cli --eval), and
# compiled into the library, each with prelude.lua in front of it.
redisscriptsdir = $(pkgdatadir)/redis
redis_script_names = rate reputation greylist inspect forget put report_count report_domains \
	report_rows report_claim failure_queue failure_take
dist_redisscripts_DATA = \
	lib/state/redis/prelude.lua \
	lib/state/redis/rate.lua \
	lib/state/redis/reputation.lua \
	lib/state/redis/greylist.lua \
	lib/state/redis/inspect.lua \
	lib/state/redis/forget.lua \
	lib/state/redis/put.lua \
	lib/state/redis/report_count.lua \
	lib/state/redis/report_domains.lua \
	lib/state/redis/report_rows.lua \
	lib/state/redis/report_claim.lua \
	lib/state/redis/failure_queue.lua \
	lib/state/redis/failure_take.lua
nodist_lib_libmailwarden_la_SOURCES = lib/state/redis_scripts.inc
BUILT_SOURCES += lib/state/redis_scripts.inc
# Also for a make of a single target, which BUILT_SOURCES does not cover.
$(lib_libmailwarden_la_OBJECTS): lib/state/redis_scripts.inc
CLEANFILES += lib/state/redis_scripts.inc
lib/state/redis_scripts.inc: $(dist_redisscripts_DATA) $(srcdir)/lib/state/local.mk
	$(AM_V_GEN)$(MKDIR_P) lib/state && { \
	  echo '// Generated from lib/state/redis/*.lua by lib/state/local.mk; do not edit.'; \
	  for name in $(redis_script_names); do \
	    echo "constexpr std::string_view $${name}_lua = R\"lua("; \
	    cat $(srcdir)/lib/state/redis/prelude.lua $(srcdir)/lib/state/redis/$$name.lua; \
	    echo ')lua";'; \
	  done; } >$@-t && mv $@-t $@
