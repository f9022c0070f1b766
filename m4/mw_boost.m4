# MW_CHECK_BOOST: Boost headers (Asio), Program_options and the Test framework.
AC_DEFUN([MW_CHECK_BOOST], [
  AC_CHECK_HEADER([boost/asio.hpp], [],
    [AC_MSG_ERROR([missing Boost.Asio: apt-get install libboost-dev])])
  AC_CHECK_HEADER([boost/program_options.hpp], [],
    [AC_MSG_ERROR([missing Boost.Program_options: apt-get install libboost-program-options-dev])])
  mw_save_LIBS="$LIBS"
  LIBS="-lboost_program_options $LIBS"
  AC_MSG_CHECKING([for libboost_program_options])
  AC_LINK_IFELSE([AC_LANG_PROGRAM([[#include <boost/program_options.hpp>]],
      [[boost::program_options::options_description d("x"); (void)d;]])],
    [AC_MSG_RESULT([yes])],
    [AC_MSG_RESULT([no]); AC_MSG_ERROR([missing Boost.Program_options: apt-get install libboost-program-options-dev])])
  LIBS="$mw_save_LIBS"
  BOOST_PROGRAM_OPTIONS_LIBS="-lboost_program_options"
  AC_CHECK_HEADER([boost/test/unit_test.hpp], [],
    [AC_MSG_ERROR([missing Boost.Test: apt-get install libboost-test-dev])])
  BOOST_UNIT_TEST_LIBS="-lboost_unit_test_framework"
  AC_MSG_CHECKING([Boost version])
  BOOST_VERSION_FOUND=`echo '#include <boost/version.hpp>
BOOST_LIB_VERSION' | $CXX -E -P - 2>/dev/null | tail -n 1 | tr -d '"'`
  AC_MSG_RESULT([$BOOST_VERSION_FOUND])
  AC_SUBST([BOOST_PROGRAM_OPTIONS_LIBS])
  AC_SUBST([BOOST_UNIT_TEST_LIBS])
])
