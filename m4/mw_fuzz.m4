# MW_FUZZ_TARGETS: --enable-fuzz-targets builds libFuzzer targets under tests/fuzz/ (needs clang).
AC_DEFUN([MW_FUZZ_TARGETS], [
  AC_ARG_ENABLE([fuzz-targets],
    [AS_HELP_STRING([--enable-fuzz-targets], [build libFuzzer targets (configure with CXX=clang++)])],
    [], [enable_fuzz_targets=no])
  AM_CONDITIONAL([FUZZ_TARGETS], [test "x$enable_fuzz_targets" = "xyes"])
])
