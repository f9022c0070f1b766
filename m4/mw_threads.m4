# MW_CHECK_THREADS: POSIX threads.
AC_DEFUN([MW_CHECK_THREADS], [
  AC_CHECK_LIB([pthread], [pthread_create], [PTHREAD_LIBS="-lpthread"],
    [AC_MSG_ERROR([missing POSIX threads: apt-get install libc6-dev])])
  AC_SUBST([PTHREAD_LIBS])
])
