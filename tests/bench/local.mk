# tests/bench: benchmarks, built by `make` and run by hand (see README, "Performance").
noinst_PROGRAMS += tests/bench/bench-engine
tests_bench_bench_engine_SOURCES = \
	tests/bench/bench-engine.cc \
	tests/unit/dkim_test_signer.cc \
	tests/unit/dkim_test_signer.hh
tests_bench_bench_engine_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/unit $(OPENDKIM_CFLAGS) $(OPENSSL_CFLAGS)
tests_bench_bench_engine_LDADD = $(MW_LIBS)

noinst_PROGRAMS += tests/bench/bench-mail
tests_bench_bench_mail_SOURCES = \
	tests/bench/bench-mail.cc \
	tests/unit/dkim_test_signer.cc \
	tests/unit/dkim_test_signer.hh
tests_bench_bench_mail_CPPFLAGS = $(tests_bench_bench_engine_CPPFLAGS)
tests_bench_bench_mail_LDADD = $(MW_LIBS)

noinst_PROGRAMS += tests/bench/bench-store
tests_bench_bench_store_SOURCES = tests/bench/bench-store.cc
tests_bench_bench_store_LDADD = $(MW_LIBS)

noinst_PROGRAMS += tests/bench/bench-policyd
tests_bench_bench_policyd_SOURCES = tests/bench/bench-policyd.cc
tests_bench_bench_policyd_LDADD = $(PTHREAD_LIBS)
EXTRA_DIST += tests/bench/milter-bench.sh tests/bench/policyd-bench.sh tests/bench/store-bench.sh tests/private-redis.sh

noinst_PROGRAMS += tests/bench/bench-sign
tests_bench_bench_sign_SOURCES = tests/bench/bench-sign.cc
tests_bench_bench_sign_CPPFLAGS = $(AM_CPPFLAGS) $(OPENSSL_CFLAGS)
tests_bench_bench_sign_LDADD = $(MW_LIBS)
