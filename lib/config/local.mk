# lib/config: see Makefile.am
