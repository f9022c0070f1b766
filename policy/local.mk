# policy: see Makefile.am
