# conf: see Makefile.am
