# milter: see Makefile.am
