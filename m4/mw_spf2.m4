# MW_CHECK_SPF2: libspf2 (Debian ships no pkg-config file for it).
AC_DEFUN([MW_CHECK_SPF2], [
  AC_CHECK_HEADER([spf2/spf.h], [],
    [AC_MSG_ERROR([missing libspf2: apt-get install libspf2-dev])],
    [[#include <netinet/in.h>
]])
  AC_CHECK_LIB([spf2], [SPF_server_new], [SPF2_LIBS="-lspf2"],
    [AC_MSG_ERROR([missing libspf2: apt-get install libspf2-dev])])
  AC_SUBST([SPF2_LIBS])
])
