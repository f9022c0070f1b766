# MW_FUZZ_TARGETS: --enable-fuzz-targets builds the libFuzzer drivers under tests/fuzz/.
# Needs clang (configure with CXX=clang++); every object is then compiled with
# -fsanitize=fuzzer-no-link so coverage guides the fuzzer through our code too. Combine with
# --enable-sanitizers to catch memory errors. The target bodies run in `make check` anyway.
AC_DEFUN([MW_FUZZ_TARGETS], [
  AC_ARG_ENABLE([fuzz-targets],
    [AS_HELP_STRING([--enable-fuzz-targets], [build libFuzzer targets (configure with CXX=clang++)])],
    [], [enable_fuzz_targets=no])
  MW_FUZZ_CXXFLAGS=""
  AS_IF([test "x$enable_fuzz_targets" = "xyes"], [
    AC_LANG_PUSH([C++])
    mw_fuzz_saved_CXXFLAGS="$CXXFLAGS"
    CXXFLAGS="$CXXFLAGS -fsanitize=fuzzer-no-link"
    AC_MSG_CHECKING([whether $CXX supports -fsanitize=fuzzer-no-link])
    AC_COMPILE_IFELSE([AC_LANG_PROGRAM([], [])],
      [AC_MSG_RESULT([yes])],
      [AC_MSG_RESULT([no])
       AC_MSG_ERROR([--enable-fuzz-targets needs clang with libFuzzer: apt-get install clang libclang-rt-14-dev, then ./configure CXX=clang++ --enable-fuzz-targets])])
    CXXFLAGS="$mw_fuzz_saved_CXXFLAGS"
    AC_LANG_POP([C++])
    MW_FUZZ_CXXFLAGS="-fsanitize=fuzzer-no-link"
  ])
  AC_SUBST([MW_FUZZ_CXXFLAGS])
  AM_CONDITIONAL([FUZZ_TARGETS], [test "x$enable_fuzz_targets" = "xyes"])
])
