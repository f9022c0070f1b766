# MW_WARNINGS: -Wall -Wextra -Wshadow always; -Werror with --enable-werror.
AC_DEFUN([MW_WARNINGS], [
  AC_ARG_ENABLE([werror],
    [AS_HELP_STRING([--enable-werror], [treat compiler warnings as errors (CI uses it)])],
    [], [enable_werror=no])
  MW_WARN_CXXFLAGS="-Wall -Wextra -Wshadow"
  AS_IF([test "x$enable_werror" = "xyes"], [MW_WARN_CXXFLAGS="$MW_WARN_CXXFLAGS -Werror"])
  AC_SUBST([MW_WARN_CXXFLAGS])
])
