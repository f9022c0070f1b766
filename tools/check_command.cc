// `mailwarden check`: runs the engine on one message exactly as the milter would (SPF at MAIL
// FROM, DKIM over the streamed message, DMARC and the decision at the end) and prints what it
// decided, as text for an admin or as one JSON object (DESIGN.md, "The admin tool's
// contract"). The message is read from MESSAGE or stdin ("-" or nothing).
// Exit status: 0 accept, 1 reject, 2 tempfail, 3 quarantine; 64 usage, 66 unreadable message,
// 78 configuration error (EX_CONFIG), like sysexits.h.
#include "engine/engine.hh"
#include "engine/message_text.hh"
#include "engine/report.hh"
#include "engine/state_store.hh"
#include "tools/cli.hh"
#include "util/cidr.hh"

#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

namespace mailwarden::tools {

namespace {

constexpr int exit_no_input = 66;
constexpr int exit_config = 78;
// A message larger than this is refused rather than read into memory.
constexpr std::size_t max_message_bytes = 64 * 1024 * 1024;

std::optional<std::string> read_message(const std::string& path) {
    std::string text;
    if (path == "-") {
        text.assign(std::istreambuf_iterator<char>(std::cin), {});
    } else {
        std::ifstream file(path, std::ios::binary);
        if (!file)
            return std::nullopt;
        text.assign(std::istreambuf_iterator<char>(file), {});
    }
    if (text.size() > max_message_bytes)
        return std::nullopt;
    return text;
}

po::options_description check_options() {
    po::options_description options;
    options.add_options()("client-ip", po::value<std::string>()->required(), "SMTP client address")(
        "helo", po::value<std::string>()->default_value(""), "HELO/EHLO name")(
        "mail-from", po::value<std::string>()->default_value(""), "envelope sender (\"\" = <>)")(
        "rcpt", po::value<std::vector<std::string>>(), "envelope recipient (repeatable)")(
        "auth-user", po::value<std::string>()->default_value(""),
        "SASL user (outbound)")("config,c", po::value<std::string>(), "configuration file")(
        "dns", po::value<std::string>(), "ask this DNS server (ADDR or ADDR@PORT) instead")(
        "format", po::value<std::string>()->default_value("text"),
        "text or json")("no-state", "do not read or update rate-limit and reputation state")(
        "message", po::value<std::string>()->default_value("-"), "message file, - for stdin");
    return options;
}

} // namespace

int check_command(const std::vector<std::string>& arguments) {
    const po::options_description options = check_options();
    po::positional_options_description positional;
    positional.add("message", 1);
    po::variables_map values;
    if (!parse_arguments(arguments, options, positional, values))
        return exit_usage;
    const std::string format = values["format"].as<std::string>();
    if (format != "text" && format != "json")
        return usage_error("--format must be text or json");
    const std::string client_ip = values["client-ip"].as<std::string>();
    if (!util::parse_ip(client_ip))
        return usage_error("--client-ip: not an IP address: '" + client_ip + "'");

    const auto config = load_or_defaults(config_path(values));
    if (!config)
        return exit_config;
    const auto resolver = make_resolver(**config, values);
    if (!resolver)
        return exit_config;
    const std::string path = values["message"].as<std::string>();
    const auto message_text = read_message(path);
    if (!message_text) {
        std::cerr << "mailwarden: cannot read message " << path << " (missing, or over "
                  << max_message_bytes / (1024 * 1024) << " MB)\n";
        return exit_no_input;
    }

    std::shared_ptr<state::Store> store; // only where limits are configured: none is created else
    if (!values.count("no-state") && !(*config)->list("ratelimit").empty()) {
        try {
            store = engine::open_state_store(**config);
        } catch (const std::exception& error) {
            std::cerr << "mailwarden: checking without rate limits: " << error.what() << '\n';
        }
    }
    std::unique_ptr<engine::Engine> checks;
    try {
        checks = std::make_unique<engine::Engine>(*config, *resolver, store);
    } catch (const std::exception& error) {
        std::cerr << "mailwarden: " << error.what() << '\n';
        return exit_config;
    }
    engine::Report report;
    const auto started = engine::TimingClock::now();
    try {
        engine::MessageEvaluation message = checks->evaluate(
            {.client_ip = client_ip, .client_name = "", .helo = values["helo"].as<std::string>()});
        report.verdict = message.mail_from(values["mail-from"].as<std::string>(),
                                           values["auth-user"].as<std::string>());
        if (values.count("rcpt"))
            for (const auto& recipient : values["rcpt"].as<std::vector<std::string>>())
                if (!report.verdict.is_final())
                    report.verdict = message.recipient(recipient);
        if (report.verdict.is_final()) { // the MTA stops at MAIL FROM or RCPT TO
            engine::Report early = message.report_so_far();
            early.verdict = std::move(report.verdict);
            report = std::move(early);
        } else {
            engine::feed_message(message, *message_text);
            report = message.end_of_message();
        }
    } catch (const std::exception& error) {
        std::cerr << "mailwarden: internal error: " << error.what() << '\n';
        report.verdict = engine::internal_error_verdict(checks->policy());
    }
    report.timing.set_total(engine::TimingClock::now() - started);
    std::cout << (format == "json" ? engine::report_json(report) + "\n"
                                   : engine::report_text(report));
    return engine::exit_status(report.verdict);
}

} // namespace mailwarden::tools
