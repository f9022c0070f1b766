# MW_CHECK_OPENDKIM: opendkim through pkg-config.
AC_DEFUN([MW_CHECK_OPENDKIM], [
  PKG_CHECK_MODULES([OPENDKIM], [opendkim], [],
    [AC_MSG_ERROR([missing opendkim: apt-get install libopendkim-dev])])
])
