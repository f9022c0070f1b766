# MW_CHECK_MILTER: milter through pkg-config.
AC_DEFUN([MW_CHECK_MILTER], [
  PKG_CHECK_MODULES([MILTER], [milter], [],
    [AC_MSG_ERROR([missing milter: apt-get install libmilter-dev])])
])
