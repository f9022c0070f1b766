# MW_SYSTEMD_UNITS: where `make install` puts the systemd units of contrib/systemd/.
# --with-systemdsystemunitdir=DIR chooses it, =no skips the units. The default,
# PREFIX/lib/systemd/system, is on systemd's search path for the prefixes /usr and /usr/local
# and stays under the prefix, so that DESTDIR and `make distcheck` need nothing special.
AC_DEFUN([MW_SYSTEMD_UNITS], [
  AC_ARG_WITH([systemdsystemunitdir],
    [AS_HELP_STRING([--with-systemdsystemunitdir=DIR],
      [install the systemd units into DIR (default PREFIX/lib/systemd/system; no: do not)])],
    [], [with_systemdsystemunitdir=yes])
  AS_IF([test "x$with_systemdsystemunitdir" = "xyes"],
    [with_systemdsystemunitdir='${prefix}/lib/systemd/system'])
  AS_IF([test "x$with_systemdsystemunitdir" != "xno"],
    [AC_SUBST([systemdsystemunitdir], [$with_systemdsystemunitdir])])
  AM_CONDITIONAL([SYSTEMD_UNITS], [test "x$with_systemdsystemunitdir" != "xno"])
])
