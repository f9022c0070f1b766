# MW_CHECK_LMDB: lmdb through pkg-config.
AC_DEFUN([MW_CHECK_LMDB], [
  PKG_CHECK_MODULES([LMDB], [lmdb], [],
    [AC_MSG_ERROR([missing lmdb: apt-get install liblmdb-dev])])
])
