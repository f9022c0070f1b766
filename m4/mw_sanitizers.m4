# MW_SANITIZERS: --enable-sanitizers builds everything with ASan and UBSan.
AC_DEFUN([MW_SANITIZERS], [
  AC_ARG_ENABLE([sanitizers],
    [AS_HELP_STRING([--enable-sanitizers], [build with AddressSanitizer and UndefinedBehaviorSanitizer])],
    [], [enable_sanitizers=no])
  MW_SAN_CXXFLAGS=""
  MW_SAN_LDFLAGS=""
  AS_IF([test "x$enable_sanitizers" = "xyes"], [
    MW_SAN_CXXFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g"
    # GCC 12 reports false -Wmaybe-uninitialized positives inside libstdc++ (std::regex,
    # std::function) once ASan instruments them; the normal build keeps the warning.
    # (clang, used for the fuzz targets, has no such option.)
    AS_CASE([$($CXX --version 2>/dev/null | head -n 1)],
      [*clang*], [],
      [MW_SAN_CXXFLAGS="$MW_SAN_CXXFLAGS -Wno-maybe-uninitialized"])
    MW_SAN_LDFLAGS="-fsanitize=address,undefined"
    # FORTIFY interferes with ASan's interceptors.
    MW_HARDEN_CPPFLAGS=""
  ])
  AC_SUBST([MW_SAN_CXXFLAGS])
  AC_SUBST([MW_SAN_LDFLAGS])
])
