# MW_CXX20: C++20 is mandatory.
AC_DEFUN([MW_CXX20], [
  AC_MSG_CHECKING([whether $CXX supports C++20])
  mw_save_CXXFLAGS="$CXXFLAGS"
  CXXFLAGS="$CXXFLAGS -std=c++20"
  AC_COMPILE_IFELSE([AC_LANG_PROGRAM([[
#include <span>
#include <concepts>
#if __cplusplus < 202002L
#error not C++20
#endif
template <std::integral T> T twice(T v) { return v * 2; }
]], [[ return twice(0); ]])],
    [AC_MSG_RESULT([yes])],
    [AC_MSG_RESULT([no])
     AC_MSG_ERROR([a C++20 compiler is required: apt-get install g++ (Debian 12 ships g++ 12)])])
  CXXFLAGS="$mw_save_CXXFLAGS"
  AM_CXXFLAGS="-std=c++20"
  AC_SUBST([AM_CXXFLAGS])
])
