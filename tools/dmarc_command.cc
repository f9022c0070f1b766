// `mailwarden dmarc report`: the DMARC report job (lib/report/report_job.hh) on the state store
// and resolver of the configuration.
//   --print   builds the aggregate reports of one interval (default: today so far) from the
//             rows counted and prints their XML (or, with --output DIR, writes each as the
//             .xml.gz file it would attach); nothing is claimed or sent.
//   --send    sends the reports of every closed interval within dmarc_report_retention (or of
//             --interval) that are not sent yet, then the queued failure reports; one line per
//             report on standard output. Run by mailwarden-dmarc-report.timer.
// --interval: today, yesterday, a UTC day YYYY-MM-DD, or the interval's start in seconds.
// Report mail is DKIM-signed as outbound mail is, when [signing] has a key for the domain of
// dmarc_report_email; a signing failure under on_sign_error = tempfail holds the report for a
// later run (exit 75), under accept it goes unsigned with a warning.
// Exit status: 0 done (or nothing to do), 1 --print found no report, 64 usage, 75 a report
// could not go now and will be tried again (store or DNS trouble, sendmail refused), 78
// configuration error.
#include "config.h"

#include "auth/public_suffix.hh"
#include "engine/engine.hh"
#include "engine/signing.hh"
#include "engine/state_store.hh"
#include "report/report_settings.hh"
#include "tools/cli.hh"
#include "util/escape.hh"
#include "util/gzip.hh"

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <unistd.h>

namespace mailwarden::tools {

namespace {

constexpr int exit_nothing = 1;
constexpr int exit_tempfail = 75;
constexpr int exit_config = 78;

using state::Millis;

// The report job's signer: the [signing] keys of the reporter's domain, as the milter signs.
report::MailSigner report_signer(std::shared_ptr<const engine::Signing> signing) {
    if (!signing->enabled())
        return {};
    return [signing](const std::string& mail, std::string* error) -> std::optional<std::string> {
        const auto now = static_cast<std::uint64_t>(std::max<std::time_t>(0, std::time(nullptr)));
        engine::SignedMessage result = engine::sign_message(*signing, mail, now);
        if (result.error.empty())
            return std::move(result.text);
        if (signing->on_error == config::Action::accept) {
            std::cerr << "mailwarden: warning: report mail sent unsigned: "
                      << util::escape_log_value(result.error) << '\n';
            return std::move(result.text);
        }
        *error = result.error;
        return std::nullopt;
    };
}

Millis now_millis() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// The start of the interval named by text; nullopt when it names none.
std::optional<Millis> parse_interval(const std::string& text, const report::ReportJob& job,
                                     Millis now) {
    if (text == "today")
        return job.interval_of(now);
    if (text == "yesterday")
        return job.interval_of(now) - report::one_day;
    std::tm day{};
    if (text.size() == 10 && ::strptime(text.c_str(), "%Y-%m-%d", &day) == text.c_str() + 10)
        return job.interval_of(static_cast<Millis>(::timegm(&day)) * 1000);
    if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos &&
        text.size() <= 12)
        return job.interval_of(std::stoll(text) * 1000);
    return std::nullopt;
}

std::string day_name(Millis interval) {
    const std::time_t seconds = static_cast<std::time_t>(interval / 1000);
    std::tm utc{};
    ::gmtime_r(&seconds, &utc);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%d", &utc);
    return text;
}

std::string job_owner() {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    std::random_device random;
    return std::string(host[0] != '\0' ? host : "localhost") + ":" + std::to_string(::getpid()) +
           ":" + std::to_string(random());
}

std::string joined(const std::vector<std::string>& items) {
    std::string text;
    for (const std::string& item : items)
        text += (text.empty() ? "" : ",") + item;
    return text;
}

int print_reports(report::ReportJob& job, Millis interval, const po::variables_map& values) {
    std::string error;
    auto reports = job.build(interval, now_millis(), &error);
    if (!error.empty()) {
        std::cerr << "mailwarden: state store: " << error << '\n';
        return exit_tempfail;
    }
    const std::string only = values.count("domain") ? values["domain"].as<std::string>() : "";
    std::size_t printed = 0;
    for (const report::AggregateReport& report : reports) {
        if (!only.empty() && report.policy_domain != only)
            continue;
        ++printed;
        std::cerr << report.file_name << '\n';
        if (values.count("output")) {
            const auto path =
                std::filesystem::path(values["output"].as<std::string>()) / report.file_name;
            std::ofstream(path, std::ios::binary) << util::gzip_compress(report.xml);
        } else {
            std::cout << report.xml;
        }
    }
    if (printed == 0)
        std::cerr << "mailwarden: no report for " << day_name(interval) << '\n';
    return printed == 0 ? exit_nothing : exit_ok;
}

bool temporary(report::SendStatus status) {
    using report::SendStatus;
    return status == SendStatus::store_error || status == SendStatus::dns_error ||
           status == SendStatus::failed || status == SendStatus::lost;
}

int send_reports(report::ReportJob& job, const std::vector<Millis>& intervals) {
    int status = exit_ok;
    for (const Millis interval : intervals) {
        std::string error;
        for (const report::DomainResult& result : job.send(interval, now_millis(), &error)) {
            std::cout << "dmarc report: day=" << day_name(interval)
                      << " domain=" << util::escape_log_value(result.domain, 100)
                      << " status=" << report::send_status_name(result.status)
                      << " messages=" << result.messages;
            if (!result.recipients.empty())
                std::cout << " to=" << util::escape_log_value(joined(result.recipients), 300);
            if (!result.detail.empty())
                std::cout << " detail=\"" << util::escape_log_value_quotable(result.detail, 300)
                          << '"';
            std::cout << '\n';
            if (temporary(result.status))
                status = exit_tempfail;
        }
        if (!error.empty()) {
            std::cerr << "mailwarden: " << day_name(interval) << ": " << error << '\n';
            status = exit_tempfail;
        }
    }
    std::string error;
    for (const report::FailureResult& result : job.send_failure_reports(now_millis(), &error))
        std::cout << "dmarc failure report: domain=" << util::escape_log_value(result.domain, 100)
                  << " status=" << (result.sent ? "sent" : "not_sent")
                  << " to=" << util::escape_log_value(joined(result.recipients), 300)
                  << (result.detail.empty()
                          ? ""
                          : " detail=\"" + util::escape_log_value_quotable(result.detail, 300) +
                                "\"")
                  << '\n';
    if (!error.empty()) {
        std::cerr << "mailwarden: failure reports: " << error << '\n';
        status = exit_tempfail;
    }
    return status;
}

int dmarc_report(const std::vector<std::string>& arguments) {
    po::options_description options;
    options.add_options()("print", "print the reports of an interval")(
        "send", "send every report not sent yet")("interval", po::value<std::string>(),
                                                  "today, yesterday, YYYY-MM-DD or seconds")(
        "domain", po::value<std::string>(), "--print: only this policy domain")(
        "output", po::value<std::string>(), "--print: write DIR/FILE.xml.gz instead")(
        "config,c", po::value<std::string>(), "configuration file")(
        "dns", po::value<std::string>(), "ask this DNS server (ADDR or ADDR@PORT) instead");
    po::variables_map values;
    if (!parse_arguments(arguments, options, {}, values))
        return exit_usage;
    if (values.count("print") == values.count("send"))
        return usage_error("dmarc report: give one of --print and --send");
    const auto config = load_or_defaults(config_path(values));
    if (!config)
        return exit_config;
    const auto resolver = make_resolver(**config, values);
    if (!resolver)
        return exit_config;
    std::shared_ptr<state::Store> store;
    try {
        store = engine::open_state_store(**config);
    } catch (const std::exception& error) {
        std::cerr << "mailwarden: cannot open the state store: " << error.what() << '\n';
        return exit_tempfail;
    }
    const std::string authserv_id = (*config)->string("authserv_id").empty()
                                        ? engine::local_host_name()
                                        : (*config)->string("authserv_id");
    report::ReportJobOptions job_options = report::report_job_options(**config, authserv_id);
    job_options.owner = job_owner();
    report::SendmailMailer mailer((*config)->string("dmarc_report_sendmail"),
                                  (*config)->duration("dmarc_report_timeout"));
    const auto method = (*config)->string("dmarc_discovery") == "psl"
                            ? auth::DmarcDiscovery::psl
                            : auth::DmarcDiscovery::treewalk;
    std::string psl_error;
    const auto suffixes =
        method == auth::DmarcDiscovery::psl
            ? auth::PublicSuffixList::load((*config)->string("public_suffix_list"), &psl_error)
            : std::optional(auth::PublicSuffixList::from_text("com\n"));
    if (!suffixes) {
        std::cerr << "mailwarden: public_suffix_list: " << psl_error << '\n';
        return exit_config;
    }
    auto signing = load_signing_or_report(**config);
    if (!signing)
        return exit_config;
    report::ReportJob job(
        *store, *resolver, auth::make_organization_finder(*resolver, *suffixes, method), mailer,
        job_options, report_signer(std::make_shared<const engine::Signing>(std::move(*signing))));
    const Millis now = now_millis();
    std::optional<Millis> interval;
    if (values.count("interval")) {
        interval = parse_interval(values["interval"].as<std::string>(), job, now);
        if (!interval)
            return usage_error("dmarc report: --interval takes today, yesterday, YYYY-MM-DD or "
                               "seconds since the epoch");
    }
    if (values.count("print"))
        return print_reports(job, interval.value_or(job.interval_of(now)), values);
    return send_reports(job, interval ? std::vector<Millis>{*interval} : job.closed_intervals(now));
}

} // namespace

int dmarc_command(const std::vector<std::string>& arguments) {
    if (arguments.empty() || arguments[0] != "report")
        return usage_error("dmarc: expected 'dmarc report --print|--send'");
    return dmarc_report({arguments.begin() + 1, arguments.end()});
}

} // namespace mailwarden::tools
