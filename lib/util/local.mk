# lib/util: see Makefile.am
