// What the [reports] parameters say, in the shapes the report code takes: who reports
// (dmarc_report_email, dmarc_report_org_name, dmarc_report_contact; the defaults derive from
// authserv_id), and the job's intervals and bounds. Shared by the report job (mailwarden dmarc
// report) and the milter's DMARC report check, so both name the reporter alike.
#pragma once

#include "config/config.hh"
#include "report/report_job.hh"

#include <string>

namespace mailwarden::report {

// authserv_id: the configured one, or this host's name when it is empty.
ReporterInfo reporter_info(const config::Config& config, const std::string& authserv_id);

// The job's options (owner left empty: the caller makes one per run).
ReportJobOptions report_job_options(const config::Config& config, const std::string& authserv_id);

} // namespace mailwarden::report
