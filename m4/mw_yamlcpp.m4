# MW_CHECK_YAMLCPP: yaml-cpp through pkg-config, for the tests that read the SPF conformance
# suite (YAML); the programs themselves do not use it.
AC_DEFUN([MW_CHECK_YAMLCPP], [
  PKG_CHECK_MODULES([YAMLCPP], [yaml-cpp], [],
    [AC_MSG_ERROR([missing yaml-cpp: apt-get install libyaml-cpp-dev])])
])
