// See report_settings.hh.
#include "report/report_settings.hh"

#include "config.h"

namespace mailwarden::report {

ReporterInfo reporter_info(const config::Config& config, const std::string& authserv_id) {
    ReporterInfo reporter;
    reporter.email = config.string("dmarc_report_email");
    if (reporter.email.empty())
        reporter.email = "postmaster@" + authserv_id;
    const std::string domain = reporter.email.substr(reporter.email.rfind('@') + 1);
    reporter.org_name = config.string("dmarc_report_org_name");
    if (reporter.org_name.empty())
        reporter.org_name = domain;
    reporter.extra_contact_info = config.string("dmarc_report_contact");
    reporter.submitter = domain;
    reporter.generator = PACKAGE_NAME " " PACKAGE_VERSION;
    return reporter;
}

ReportJobOptions report_job_options(const config::Config& config, const std::string& authserv_id) {
    ReportJobOptions options;
    options.reporter = reporter_info(config, authserv_id);
    options.retention = config.duration("dmarc_report_retention").count();
    return options;
}

} // namespace mailwarden::report
