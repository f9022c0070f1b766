# MW_CHECK_OPENDMARC: libopendmarc (Debian ships no pkg-config file for it).
AC_DEFUN([MW_CHECK_OPENDMARC], [
  AC_CHECK_HEADER([opendmarc/dmarc.h], [],
    [AC_MSG_ERROR([missing libopendmarc: apt-get install libopendmarc-dev])])
  AC_CHECK_LIB([opendmarc], [opendmarc_policy_library_init], [OPENDMARC_LIBS="-lopendmarc"],
    [AC_MSG_ERROR([missing libopendmarc: apt-get install libopendmarc-dev])])
  AC_SUBST([OPENDMARC_LIBS])
])
