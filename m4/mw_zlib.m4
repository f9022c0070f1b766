# MW_CHECK_ZLIB: zlib, for gzip-compressed DMARC aggregate reports.
AC_DEFUN([MW_CHECK_ZLIB], [
  PKG_CHECK_MODULES([ZLIB], [zlib], [],
    [AC_MSG_ERROR([missing zlib: apt-get install zlib1g-dev])])
])
