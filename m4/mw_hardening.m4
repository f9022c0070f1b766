# MW_HARDENING: PIE, RELRO/now, stack protector and FORTIFY, on by default.
AC_DEFUN([MW_HARDENING], [
  AC_ARG_ENABLE([hardening],
    [AS_HELP_STRING([--disable-hardening], [do not build with PIE, RELRO, stack protector, FORTIFY])],
    [], [enable_hardening=yes])
  MW_HARDEN_CPPFLAGS=""
  MW_HARDEN_CXXFLAGS=""
  MW_HARDEN_LDFLAGS=""
  AS_IF([test "x$enable_hardening" = "xyes"], [
    MW_HARDEN_CPPFLAGS="-U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2"
    MW_HARDEN_CXXFLAGS="-fPIE -fstack-protector-strong -fstack-clash-protection"
    MW_HARDEN_LDFLAGS="-pie -Wl,-z,relro -Wl,-z,now"
    mw_save_LDFLAGS="$LDFLAGS"
    LDFLAGS="$LDFLAGS $MW_HARDEN_LDFLAGS"
    AC_MSG_CHECKING([whether the linker accepts PIE and RELRO/now])
    AC_LINK_IFELSE([AC_LANG_PROGRAM([], [])], [AC_MSG_RESULT([yes])],
      [AC_MSG_RESULT([no]); AC_MSG_ERROR([the linker does not support -pie -z relro -z now; use --disable-hardening])])
    LDFLAGS="$mw_save_LDFLAGS"
  ])
  AC_SUBST([MW_HARDEN_CPPFLAGS])
  AC_SUBST([MW_HARDEN_CXXFLAGS])
  AC_SUBST([MW_HARDEN_LDFLAGS])
])
