# MW_CHECK_OPENSSL: libcrypto through pkg-config (DKIM keys in the tests, libopendkim's peer).
AC_DEFUN([MW_CHECK_OPENSSL], [
  PKG_CHECK_MODULES([OPENSSL], [libcrypto], [],
    [AC_MSG_ERROR([missing libcrypto: apt-get install libssl-dev])])
])
