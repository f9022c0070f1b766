# lib/dns: see Makefile.am
