# MW_CHECK_HIREDIS: hiredis through pkg-config.
AC_DEFUN([MW_CHECK_HIREDIS], [
  PKG_CHECK_MODULES([HIREDIS], [hiredis], [],
    [AC_MSG_ERROR([missing hiredis: apt-get install libhiredis-dev])])
])
