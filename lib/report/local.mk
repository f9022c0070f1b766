# lib/report: DMARC reporting (RFC 9990 aggregate reports, RFC 9991 failure reports): the rows
# the state store counts, the XML, the mail that carries a report, and the report job.
lib_libmailwarden_la_SOURCES += \
	lib/report/aggregate_report.cc \
	lib/report/aggregate_report.hh \
	lib/report/aggregate_row.cc \
	lib/report/aggregate_row.hh \
	lib/report/destinations.cc \
	lib/report/destinations.hh \
	lib/report/failure_report.cc \
	lib/report/failure_report.hh \
	lib/report/message_row.cc \
	lib/report/message_row.hh \
	lib/report/report_job.cc \
	lib/report/report_job.hh \
	lib/report/report_mail.cc \
	lib/report/report_mail.hh \
	lib/report/report_settings.cc \
	lib/report/report_settings.hh \
	lib/report/sendmail.cc \
	lib/report/sendmail.hh
tests_unit_testrunner_SOURCES += \
	tests/unit/test-report-xml.cc \
	tests/unit/test-report-job.cc \
	tests/unit/test-failure-report.cc \
	tests/unit/report_test_util.hh
