# conf: the annotated sample configuration and its man page.
dist_man_MANS += conf/mailwarden.conf.5
EXTRA_DIST += conf/mailwarden.conf

# Install the sample once; never overwrite an administrator's file. Uninstall removes it only
# when it is still the unmodified sample. The state directory (state_path's default) is made
# here too, and removed by uninstall only when empty.
mw_confdir = $(sysconfdir)/mailwarden
mw_statedir = $(localstatedir)/lib/mailwarden
install-data-local:
	$(MKDIR_P) '$(DESTDIR)$(mw_confdir)' '$(DESTDIR)$(mw_statedir)'
	if test -f '$(DESTDIR)$(mw_confdir)/mailwarden.conf'; then \
	  echo "keeping existing $(DESTDIR)$(mw_confdir)/mailwarden.conf"; \
	else \
	  $(INSTALL_DATA) '$(srcdir)/conf/mailwarden.conf' '$(DESTDIR)$(mw_confdir)/mailwarden.conf'; \
	fi

uninstall-local:
	if cmp -s '$(srcdir)/conf/mailwarden.conf' '$(DESTDIR)$(mw_confdir)/mailwarden.conf'; then \
	  rm -f '$(DESTDIR)$(mw_confdir)/mailwarden.conf'; \
	fi
	rmdir '$(DESTDIR)$(mw_confdir)' '$(DESTDIR)$(mw_statedir)' 2>/dev/null || :
