# MW_CHECK_IDN2: libidn2, for IDNA2008 U-label to A-label conversion of mail domains (RFC 8616).
AC_DEFUN([MW_CHECK_IDN2], [
  PKG_CHECK_MODULES([IDN2], [libidn2 >= 2.0.0], [],
    [AC_MSG_ERROR([missing libidn2: apt-get install libidn2-dev])])
])
