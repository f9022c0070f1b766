# tests/fuzz: fuzz targets. Each target's body links into the testrunner, which runs the
# seed corpus and a bounded number of mutations on every `make check` (so the sanitizer
# build runs them in CI). --enable-fuzz-targets (with CXX=clang++) also builds the
# libFuzzer drivers for long runs; see README, "Fuzzing".
tests_unit_testrunner_SOURCES += \
	tests/fuzz/milter_frame_target.cc \
	tests/fuzz/milter_frame_target.hh \
	tests/fuzz/mutation.cc \
	tests/fuzz/mutation.hh \
	tests/fuzz/policy_request_target.cc \
	tests/fuzz/policy_request_target.hh \
	tests/fuzz/spf_macro_target.cc \
	tests/fuzz/spf_macro_target.hh \
	tests/unit/test-fuzz-milter.cc \
	tests/unit/test-fuzz-spf.cc \
	tests/unit/test-policy-request.cc

EXTRA_DIST += \
	tests/fuzz/milter-frame.dict \
	tests/fuzz/corpus/milter-frame/before-negotiation \
	tests/fuzz/corpus/milter-frame/body-in-end \
	tests/fuzz/corpus/milter-frame/huge-length \
	tests/fuzz/corpus/milter-frame/malformed \
	tests/fuzz/corpus/milter-frame/postfix-session \
	tests/fuzz/corpus/milter-frame/two-sessions-quit-nc \
	tests/fuzz/corpus/milter-frame/version-2-sendmail \
	tests/fuzz/corpus/milter-frame/zero-length \
	tests/fuzz/policy-request.dict \
	tests/fuzz/corpus/policy-request/crlf-and-bad-lines \
	tests/fuzz/corpus/policy-request/two-requests \
	tests/fuzz/spf-macro.dict \
	tests/fuzz/corpus/spf-macro/exists-ir-l1r \
	tests/fuzz/corpus/spf-macro/huge-digits \
	tests/fuzz/corpus/spf-macro/long-expansions \
	tests/fuzz/corpus/spf-macro/mechanisms-ipv6 \
	tests/fuzz/corpus/spf-macro/non-ascii \
	tests/fuzz/corpus/spf-macro/unterminated

if FUZZ_TARGETS
noinst_PROGRAMS += tests/fuzz/fuzz-spf-macro
tests_fuzz_fuzz_spf_macro_SOURCES = \
	tests/fuzz/fuzz-spf-macro.cc \
	tests/fuzz/spf_macro_target.cc \
	tests/fuzz/spf_macro_target.hh
tests_fuzz_fuzz_spf_macro_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_spf_macro_LDADD = $(MW_LIBS)
noinst_PROGRAMS += tests/fuzz/fuzz-policy-request
tests_fuzz_fuzz_policy_request_SOURCES = \
	tests/fuzz/fuzz-policy-request.cc \
	tests/fuzz/policy_request_target.cc \
	tests/fuzz/policy_request_target.hh \
	policy/request.cc
tests_fuzz_fuzz_policy_request_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_policy_request_LDADD = $(MW_LIBS)
noinst_PROGRAMS += tests/fuzz/fuzz-milter-frame
tests_fuzz_fuzz_milter_frame_SOURCES = \
	tests/fuzz/fuzz-milter-frame.cc \
	tests/fuzz/milter_frame_target.cc \
	tests/fuzz/milter_frame_target.hh \
	$(milter_protocol_sources)
tests_fuzz_fuzz_milter_frame_LDFLAGS = -fsanitize=fuzzer
tests_fuzz_fuzz_milter_frame_LDADD = $(MW_LIBS)
endif
