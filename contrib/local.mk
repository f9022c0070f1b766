# contrib: the systemd units (made from their .in files with this build's directories) and the
# MTA and logging snippets, installed as examples beside the README.
mw_units = contrib/systemd/mailwarden-milter.service contrib/systemd/mailwarden-policyd.service \
	contrib/systemd/mailwarden-dmarc-report.service
mw_unit_sources = contrib/systemd/mailwarden-milter.service.in \
	contrib/systemd/mailwarden-policyd.service.in \
	contrib/systemd/mailwarden-dmarc-report.service.in
noinst_DATA = $(mw_units)
if SYSTEMD_UNITS
systemdsystemunit_DATA = $(mw_units) contrib/systemd/mailwarden-dmarc-report.timer
endif
CLEANFILES += $(mw_units)
EXTRA_DIST += $(mw_unit_sources) contrib/systemd/mailwarden-dmarc-report.timer

mw_edit_unit = $(SED) \
	-e 's|@bindir[@]|$(bindir)|g' \
	-e 's|@sbindir[@]|$(sbindir)|g' \
	-e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	-e 's|@runstatedir[@]|$(runstatedir)|g'

contrib/systemd/mailwarden-milter.service: $(srcdir)/contrib/systemd/mailwarden-milter.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) contrib/systemd && $(mw_edit_unit) $(srcdir)/contrib/systemd/mailwarden-milter.service.in >$@.tmp && mv $@.tmp $@
contrib/systemd/mailwarden-policyd.service: $(srcdir)/contrib/systemd/mailwarden-policyd.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) contrib/systemd && $(mw_edit_unit) $(srcdir)/contrib/systemd/mailwarden-policyd.service.in >$@.tmp && mv $@.tmp $@
contrib/systemd/mailwarden-dmarc-report.service: $(srcdir)/contrib/systemd/mailwarden-dmarc-report.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) contrib/systemd && $(mw_edit_unit) $(srcdir)/contrib/systemd/mailwarden-dmarc-report.service.in >$@.tmp && mv $@.tmp $@

# Examples, beside the README in $(docdir).
mw_postfix_examplesdir = $(docdir)/examples/postfix
dist_mw_postfix_examples_DATA = contrib/postfix/main.cf contrib/postfix/master.cf
mw_sendmail_examplesdir = $(docdir)/examples/sendmail
dist_mw_sendmail_examples_DATA = contrib/sendmail/mailwarden.mc
mw_logging_examplesdir = $(docdir)/examples/logging
dist_mw_logging_examples_DATA = contrib/logging/rsyslog-mailwarden.conf \
	contrib/logging/logrotate-mailwarden
dist_doc_DATA = README.md
