# conf: the annotated sample configuration and its man page.
dist_man_MANS += conf/mailwarden.conf.5
EXTRA_DIST += conf/mailwarden.conf

# Install the sample once; never overwrite an administrator's file. Uninstall removes it only
# when it is still the unmodified sample.
mw_confdir = $(sysconfdir)/mailwarden
install-data-local:
	$(MKDIR_P) '$(DESTDIR)$(mw_confdir)'
	if test -f '$(DESTDIR)$(mw_confdir)/mailwarden.conf'; then \
	  echo "keeping existing $(DESTDIR)$(mw_confdir)/mailwarden.conf"; \
	else \
	  $(INSTALL_DATA) '$(srcdir)/conf/mailwarden.conf' '$(DESTDIR)$(mw_confdir)/mailwarden.conf'; \
	fi

uninstall-local:
	if cmp -s '$(srcdir)/conf/mailwarden.conf' '$(DESTDIR)$(mw_confdir)/mailwarden.conf'; then \
	  rm -f '$(DESTDIR)$(mw_confdir)/mailwarden.conf'; \
	fi
