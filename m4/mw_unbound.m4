# MW_CHECK_UNBOUND: libunbound through pkg-config.
AC_DEFUN([MW_CHECK_UNBOUND], [
  PKG_CHECK_MODULES([UNBOUND], [libunbound], [],
    [AC_MSG_ERROR([missing libunbound: apt-get install libunbound-dev])])
])
