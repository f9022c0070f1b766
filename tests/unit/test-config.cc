// Unit tests for lib/config: every parse error kind with file/line/key, bounds, list repetition,
// dump round-trip, the sample file, reload, and the table <-> man page <-> sample consistency.
#include "config/config.hh"
#include "config/params.hh"
#include "util/parse.hh"

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <unistd.h>

using namespace mailwarden::config;

namespace mailwarden::config {
// Lets BOOST_TEST print an Action when a comparison fails.
std::ostream& operator<<(std::ostream& out, Action action) {
    return out << action_name(action);
}
} // namespace mailwarden::config
using namespace std::chrono_literals;

namespace {

std::filesystem::path source_dir() {
    if (const char* from_harness = std::getenv("MW_SRCDIR"); from_harness && *from_harness)
        return from_harness;
    return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
}

std::string read_source_file(const std::string& relative) {
    std::ifstream input(source_dir() / relative);
    BOOST_REQUIRE_MESSAGE(input, "cannot open " << (source_dir() / relative));
    std::ostringstream contents;
    contents << input.rdbuf();
    return contents.str();
}

std::string all_errors(const LoadResult& result) {
    std::string text;
    for (const ConfigError& error : result.errors)
        text += error.to_string() + "\n";
    return text;
}

bool same_values(const Config& left, const Config& right) {
    bool same = true;
    for (const ParamDef& param : parameters()) {
        if (left.value(param.name) != right.value(param.name)) {
            BOOST_TEST_MESSAGE(param.name << ": '" << left.text(param.name) << "' vs '"
                                          << right.text(param.name) << "'");
            same = false;
        }
    }
    return same;
}

// A scratch file removed at scope exit.
struct TempFile {
    std::filesystem::path path = std::filesystem::temp_directory_path() /
                                 ("mw-test-config-" + std::to_string(::getpid()) + ".conf");
    void write(std::string_view text) const { std::ofstream(path) << text; }
    ~TempFile() { std::filesystem::remove(path); }
};

struct DocumentedParam {
    std::string section;
    std::string default_text;
    std::string details; // the man page's type/default/bounds/reload line
};

std::string unescape_roff(std::string text) {
    for (const auto& [escaped, plain] : {std::pair{"\\-", "-"}, std::pair{"\\e", "\\"}}) {
        for (auto at = text.find(escaped); at != std::string::npos; at = text.find(escaped, at + 1))
            text.replace(at, 2, plain);
    }
    return text;
}

// Every ".TP / .B name" entry of the PARAMETERS section, under its ".SS [section]".
std::map<std::string, DocumentedParam> man_page_parameters(const std::string& page) {
    std::map<std::string, DocumentedParam> documented;
    std::istringstream lines(page);
    std::string line, previous, section;
    bool in_parameters = false;
    const std::regex default_pattern(R"(default: (\\fB(.*?)\\fR|empty))");
    while (std::getline(lines, line)) {
        if (line.rfind(".SH", 0) == 0)
            in_parameters = line == ".SH PARAMETERS";
        else if (in_parameters && line.rfind(".SS [", 0) == 0)
            section = line.substr(5, line.size() - 6);
        else if (in_parameters && previous == ".TP" && line.rfind(".B ", 0) == 0) {
            std::string details;
            std::getline(lines, details);
            details = unescape_roff(details);
            std::smatch match;
            const bool has_default = std::regex_search(details, match, default_pattern);
            documented[unescape_roff(line.substr(3))] = {
                section, has_default ? match[2].str() : "?", details};
        }
        previous = line;
    }
    return documented;
}

// Every "# name = default" line of the sample, under its "[section]".
std::map<std::string, DocumentedParam> sample_parameters(const std::string& sample) {
    std::map<std::string, DocumentedParam> documented;
    std::istringstream lines(sample);
    std::string line, section;
    const std::regex assignment(R"(^# ([a-z][a-z0-9_]*) =(?: (.*))?$)");
    while (std::getline(lines, line)) {
        std::smatch match;
        if (line.size() > 2 && line.front() == '[' && line.back() == ']')
            section = line.substr(1, line.size() - 2);
        else if (std::regex_match(line, match, assignment))
            documented[match[1].str()] = {section, match[2].str(), ""};
    }
    return documented;
}

void check_documentation(const std::map<std::string, DocumentedParam>& documented,
                         const std::string& where, bool check_details) {
    for (const ParamDef& param : parameters()) {
        const auto entry = documented.find(std::string(param.name));
        if (entry == documented.end()) {
            BOOST_ERROR(param.name << " is in the table but not documented in " << where);
            continue;
        }
        const DocumentedParam& doc = entry->second;
        BOOST_TEST(doc.section == param.section, param.name << ": section in " << where);
        BOOST_TEST(doc.default_text == param.default_text,
                   param.name << ": " << where << " says default '" << doc.default_text
                              << "', the table says '" << param.default_text << "'");
        if (!check_details)
            continue;
        BOOST_TEST(doc.details.rfind(std::string(type_name(param.type)), 0) == 0,
                   param.name << ": type in " << where << ": " << doc.details);
        const std::string reload = param.reloadable ? "; reloadable." : "; needs a restart.";
        BOOST_TEST(doc.details.find(reload) != std::string::npos,
                   param.name << ": reloadability in " << where);
        const std::string bounds = bounds_text(param);
        BOOST_TEST((bounds.empty()
                        ? doc.details.find("range:") == std::string::npos
                        : doc.details.find("range: " + bounds + ";") != std::string::npos),
                   param.name << ": bounds in " << where);
    }
    for (const auto& [name, doc] : documented) {
        if (find_parameter(name) == nullptr)
            BOOST_ERROR(where << " documents " << name << ", which is not in the parameter table");
    }
}

struct ErrorCase {
    std::string_view text;
    int line;
    std::string_view key;
    std::string_view message; // substring
};

} // namespace

BOOST_AUTO_TEST_SUITE(config)

BOOST_AUTO_TEST_CASE(every_error_kind_names_file_line_and_key) {
    const std::vector<ErrorCase> cases{
        {"[general]\nbogus = 1\n", 2, "bogus", "unknown parameter"},
        {"[general]\n\ndns_timeout = 5s\n", 3, "dns_timeout",
         "belongs in section [dns], not [general]"},
        {"dns_timeout = 5s\n", 1, "dns_timeout",
         "outside any section; it belongs in section [dns]"},
        {"[dns]\njust garbage\n", 2, "", "expected 'name = value' or '[section]'"},
        {"[dns]\n = 5s\n", 2, "", "missing parameter name"},
        {"[nosuch]\n", 1, "", "unknown section [nosuch]"},
        {"[dns\n", 1, "", "malformed section header"},
        {"[dns]\ndns_timeout = 5s\n# c\ndns_timeout = 6s\n", 4, "dns_timeout",
         "given twice (lines 2 and 4)"},
        {"[dns]\ndns_timeout =\n", 2, "dns_timeout", "empty value"},
        {"[dns]\ndns_timeout = soon\n", 2, "dns_timeout", "not a duration"},
        {"[general]\nallow_root = maybe\n", 2, "allow_root", "not a boolean"},
        {"[general]\nlog_level = loud\n", 2, "log_level", "expected one of: error, warning"},
        {"[general]\nsyslog_facility = kern\n", 2, "syslog_facility", "invalid value 'kern'"},
        {"[general]\nuser =\n", 2, "user", "not a valid user name"},
        {"[general]\nauthserv_id = mx example\n", 2, "authserv_id", "not a valid host name"},
        // U-labels are taken (as their A-labels); what IDNA2008 refuses is named as such.
        {"[limits]\nallow_domains = b\xff"
         "cher.test\n",
         2, "allow_domains", "not a valid internationalized domain name (IDNA2008)"},
        {"[limits]\ndeny_domains = a.test x\xe2\x80\x8dy.test\n", 2, "deny_domains",
         "(IDNA2008): 'x"},
        {"[limits]\ndeny_domains = mx_1.test mx.test!\n", 2, "deny_domains",
         "not a valid host name: 'mx.test!'"},
        {"[general]\nmilter_pid_file = run/m.pid\n", 2, "milter_pid_file", "not an absolute path"},
        {"[general]\ninternal_networks = 10.0.0.0/33\n", 2, "internal_networks",
         "out of range 0..32"},
        {"[general]\ninternal_networks = 10.1.0.0/8\n", 2, "internal_networks", "host bits set"},
        {"[milter]\nmilter_socket = inet:99999@127.0.0.1\n", 2, "milter_socket",
         "port '99999' out of range 1..65535"},
        {"[milter]\nmilter_socket = tcp:8891\n", 2, "milter_socket", "expected inet:PORT@ADDR"},
        {"[milter]\nmilter_socket = inet:8891\n", 2, "milter_socket", "expected inet:PORT@ADDR"},
        {"[milter]\nmilter_socket = inet6:8891@127.0.0.1\n", 2, "milter_socket",
         "not an IPv6 address"},
        {"[milter]\nmilter_socket = unix:relative\n", 2, "milter_socket", "not an absolute path"},
        {"[milter]\nmilter_socket_mode = 0999\n", 2, "milter_socket_mode", "octal file mode"},
        {"[policy]\npolicy_socket = inet:10040@localhost\n", 2, "policy_socket",
         "not an IPv4 address"},
        {"[dns]\ndns_servers = resolver.example\n", 2, "dns_servers", "not an IP address"},
        {"[dns]\ndns_servers = 192.0.2.1@0\n", 2, "dns_servers", "out of range 1..65535"},
        {"[actions]\non_dns_error = reject\n", 2, "on_dns_error",
         "invalid value 'reject' (expected one of: tempfail, accept)"},
        {"[state]\nstate_backend = mysql\n", 2, "state_backend", "expected one of: lmdb, redis"},
        {"[limits]\nratelimit = same client_ip 1/1h\nratelimit = same sender 1/1h\n", 3,
         "ratelimit", "the name 'same' is taken (line 2)"},
        // What the SPF verifier refuses at start (RFC 7208 §7.1, §7.3).
        {"[auth]\nspf_explanation = %{x} sent it\n", 2, "spf_explanation", "RFC 7208"},
        {"[auth]\nspf_explanation = %{d0}\n", 2, "spf_explanation", "nonzero digit"},
        {"[auth]\nspf_explanation = %{d!}\n", 2, "spf_explanation", "macro such as"},
        {"[auth]\nspf_explanation = 100%\n", 2, "spf_explanation", "'%' must start"},
    };
    for (const auto& [text, line, key, message] : cases) {
        BOOST_TEST_CONTEXT(text) {
            const LoadResult result = parse_config_text(text, "test.conf");
            BOOST_TEST(!result.config);
            BOOST_REQUIRE_EQUAL(result.errors.size(), 1U);
            const ConfigError& error = result.errors.front();
            BOOST_TEST(error.file == "test.conf");
            BOOST_TEST(error.line == line);
            BOOST_TEST(error.key == key);
            BOOST_TEST(error.message.find(message) != std::string::npos, error.message);
        }
    }
}

BOOST_AUTO_TEST_CASE(dns_timeout_bounded_1s_to_60s) {
    const std::vector<std::pair<std::string_view, bool>> cases{{"999ms", false},   {"1s", true},
                                                               {"60s", true},      {"1m", true},
                                                               {"60001ms", false}, {"2m", false}};
    for (const auto& [value, valid] : cases) {
        BOOST_TEST_CONTEXT(value) {
            const auto result =
                parse_config_text("[dns]\ndns_timeout = " + std::string(value) + "\n", "t.conf");
            BOOST_TEST(result.ok() == valid);
            if (!valid)
                BOOST_TEST(result.errors.at(0).to_string() ==
                           "t.conf:2: dns_timeout: value out of range 1s..60s");
        }
    }
}

BOOST_AUTO_TEST_CASE(integer_and_size_bounds_are_inclusive) {
    const ParamDef integer{.name = "workers",
                           .section = "general",
                           .type = ParamType::integer,
                           .default_text = "4",
                           .min = 1,
                           .max = 600,
                           .help = "h",
                           .doc = "d"};
    const ParamDef size{.name = "map",
                        .section = "state",
                        .type = ParamType::size,
                        .default_text = "1G",
                        .min = 1 << 20,
                        .max = 1LL << 36,
                        .help = "h",
                        .doc = "d"};
    std::string error;
    BOOST_TEST(parse_value(integer, "1", &error).has_value());
    BOOST_TEST(parse_value(integer, "600", &error).has_value());
    BOOST_TEST(!parse_value(integer, "601", &error).has_value());
    BOOST_TEST(error == "value out of range 1..600");
    BOOST_TEST(!parse_value(integer, "0", &error).has_value());
    BOOST_TEST(!parse_value(integer, "99999999999999999999", &error).has_value());
    BOOST_TEST(error.find("not an integer") != std::string::npos);
    BOOST_TEST(parse_value(size, "64G", &error).has_value());
    BOOST_TEST(!parse_value(size, "1023k", &error).has_value());
    BOOST_TEST(error == "value out of range 1M..64G");
    BOOST_TEST(!parse_value(size, "16777215T", &error).has_value());
}

BOOST_AUTO_TEST_CASE(every_error_in_a_file_is_listed) {
    const auto result = parse_config_text(
        "[general]\nbogus = 1\nallow_root = maybe\n[dns]\ndns_timeout = 0s\nnonsense\n", "f");
    BOOST_TEST(result.errors.size() == 4U);
    BOOST_TEST(result.errors.at(0).to_string() == "f:2: bogus: unknown parameter");
    BOOST_TEST(result.errors.at(3).to_string().rfind("f:6: expected", 0) == 0);
}

BOOST_AUTO_TEST_CASE(missing_file_is_an_error_naming_the_file) {
    const auto result = load_config_file("/nonexistent/mailwarden.conf");
    BOOST_REQUIRE_EQUAL(result.errors.size(), 1U);
    BOOST_TEST(result.errors[0].to_string().rfind(
                   "/nonexistent/mailwarden.conf: cannot read configuration file", 0) == 0);
    BOOST_TEST(!load_config_file(std::filesystem::temp_directory_path()).ok());
}

BOOST_AUTO_TEST_CASE(values_comments_and_line_endings) {
    const auto result = parse_config_text("# header\r\n[dns]  # resolver\r\n"
                                          "dns_timeout = 10s   # slow link\r\n"
                                          "dnssec = yes\n"
                                          "dnssec_trust_anchor = /etc/a#b\n"
                                          "[general]\nauthserv_id = mx.example.org\n",
                                          "c.conf");
    BOOST_REQUIRE_MESSAGE(result.ok(), all_errors(result));
    const Config& config = *result.config;
    BOOST_TEST(config.duration("dns_timeout").count() == 10000);
    BOOST_TEST(config.boolean("dnssec"));
    BOOST_TEST(config.string("dnssec_trust_anchor") == "/etc/a#b");
    BOOST_TEST(config.string("authserv_id") == "mx.example.org");
    BOOST_TEST(config.source_path() == "c.conf");
    BOOST_TEST(config.action("on_dns_error") == Action::tempfail);
}

BOOST_AUTO_TEST_CASE(repeated_list_keys_append_after_replacing_the_default) {
    const auto result = parse_config_text("[general]\ninternal_networks = 10.0.0.0/8\n"
                                          "internal_networks = 192.0.2.0/24, 2001:db8::/32\n"
                                          "[dns]\ndns_servers = 192.0.2.53\n"
                                          "dns_servers = 2001:db8::53@5353 192.0.2.54@53\n",
                                          "l.conf");
    BOOST_REQUIRE(result.ok());
    const auto& internal = result.config->cidrs("internal_networks");
    BOOST_TEST(internal.to_string() == "10.0.0.0/8 192.0.2.0/24 2001:db8::/32");
    BOOST_TEST(!internal.contains("127.0.0.1")); // the default was replaced, not extended
    BOOST_TEST(result.config->list("dns_servers") ==
                   (std::vector<std::string>{"192.0.2.53", "2001:db8::53@5353", "192.0.2.54@53"}),
               boost::test_tools::per_element());
    const auto emptied = parse_config_text("[general]\ninternal_networks =\n", "e.conf");
    BOOST_REQUIRE(emptied.ok());
    BOOST_TEST(emptied.config->cidrs("internal_networks").empty());
}

BOOST_AUTO_TEST_CASE(defaults_match_the_design) {
    const ConfigPtr config = default_config();
    BOOST_TEST(config->source_path().empty());
    BOOST_TEST(config->string("syslog_facility") == "mail");
    BOOST_TEST(config->duration("dns_timeout").count() == 5000);
    BOOST_TEST(config->action("on_dns_error") == Action::tempfail);
    BOOST_TEST(config->action("on_state_error") == Action::accept);
    BOOST_TEST(config->action("on_internal_error") == Action::tempfail);
    BOOST_TEST(config->string("milter_socket") == "inet:8891@127.0.0.1");
    BOOST_TEST(config->list("dns_servers").empty());
    // Loopback is internal (outbound) by default; documented in mailwarden.conf(5).
    BOOST_TEST(config->cidrs("internal_networks").contains("127.0.0.1"));
    BOOST_TEST(config->cidrs("internal_networks").contains("::1"));
    BOOST_TEST(!config->cidrs("internal_networks").contains("192.0.2.1"));
    BOOST_TEST(config->string("milter_pid_file") ==
               std::string(RUNSTATEDIR) + "/mailwarden/mailwarden-milter.pid");
    BOOST_TEST(default_config_path() == std::string(SYSCONFDIR) + "/mailwarden/mailwarden.conf");
    BOOST_TEST(action_name(Action::quarantine) == "quarantine");
}

BOOST_AUTO_TEST_CASE(getters_throw_logic_error_on_unknown_name_or_wrong_type) {
    const ConfigPtr config = default_config();
    BOOST_CHECK_THROW(config->boolean("no_such_parameter"), std::logic_error);
    BOOST_CHECK_THROW(config->boolean("dns_timeout"), std::logic_error);
    BOOST_CHECK_THROW(config->string("internal_networks"), std::logic_error);
    BOOST_CHECK_THROW(config->integer("dnssec"), std::logic_error);
    BOOST_CHECK_THROW(config->action("state_backend"), std::logic_error);
}

BOOST_AUTO_TEST_CASE(dump_round_trips_through_the_parser) {
    const auto changed = parse_config_text("[general]\nallow_root = yes\nlog_level = debug\n"
                                           "internal_networks = 10.0.0.0/8 ::1\n"
                                           "[dns]\ndns_timeout = 1500ms\n"
                                           "dns_servers = 192.0.2.53@5353\n"
                                           "[actions]\non_state_error = tempfail\n",
                                           "changed.conf");
    BOOST_REQUIRE(changed.ok());
    for (const ConfigPtr& original : {default_config(), changed.config}) {
        for (bool non_default_only : {false, true}) {
            const std::string dump = dump_config(*original, non_default_only);
            const auto reparsed = parse_config_text(dump, "dump");
            BOOST_REQUIRE_MESSAGE(reparsed.ok(), dump);
            BOOST_TEST(same_values(*original, *reparsed.config), dump);
        }
    }
    BOOST_TEST(dump_config(*default_config(), true).empty());
    BOOST_TEST(dump_config(*changed.config, true) ==
               "[general]\nlog_level = debug\nallow_root = yes\n"
               "internal_networks = 10.0.0.0/8 ::1/128\n\n"
               "[dns]\ndns_servers = 192.0.2.53@5353\ndns_timeout = 1500ms\n\n"
               "[actions]\non_state_error = tempfail\n");
}

BOOST_AUTO_TEST_CASE(dump_shows_a_secret_as_stars_and_redis_values_are_checked) {
    const auto parsed =
        parse_config_text("[state]\nstate_backend = redis\nredis_password = hunter2 two\n"
                          "redis_servers = [::1]:6380 /run/redis/redis.sock 10.0.0.7\n",
                          "redis.conf");
    BOOST_REQUIRE(parsed.ok());
    BOOST_TEST(parsed.config->string("redis_password") == "hunter2 two");
    const std::string dump = dump_config(*parsed.config, true);
    BOOST_TEST(dump.find("hunter2") == std::string::npos, dump);
    BOOST_TEST(dump.find("redis_password = ********\n") != std::string::npos, dump);
    for (const char* bad :
         {"redis_servers = 127.0.0.1:0\n", "redis_servers = a b:c:d\n",
          "redis_prefix = two words\n", "redis_db = -1\n", "redis_timeout = 5ms\n"}) {
        BOOST_TEST(!parse_config_text(std::string("[state]\n") + bad, "bad.conf").ok(), bad);
    }
}

BOOST_AUTO_TEST_CASE(sample_conf_parses_to_the_defaults_commented_and_uncommented) {
    const std::string sample = read_source_file("conf/mailwarden.conf");
    const auto as_shipped = parse_config_text(sample, "conf/mailwarden.conf");
    BOOST_REQUIRE(as_shipped.ok());
    BOOST_TEST(same_values(*as_shipped.config, *default_config()));
    // Uncommenting every "# name = default" line must change nothing either.
    const std::regex commented_assignment(R"(^# ([a-z][a-z0-9_]*) =)", std::regex::multiline);
    const std::string uncommented = std::regex_replace(sample, commented_assignment, "$1 =");
    const auto all_set = parse_config_text(uncommented, "uncommented");
    for (const auto& error : all_set.errors)
        BOOST_ERROR(error.to_string());
    BOOST_REQUIRE(all_set.ok());
    BOOST_TEST(same_values(*all_set.config, *default_config()));
}

BOOST_AUTO_TEST_CASE(every_parameter_has_help_doc_known_section_and_valid_default) {
    for (const ParamDef& param : parameters()) {
        BOOST_TEST_CONTEXT(param.name) {
            BOOST_TEST(!param.help.empty());
            BOOST_TEST(param.help.find('\n') == std::string_view::npos);
            BOOST_TEST(!param.doc.empty());
            BOOST_TEST(std::count(sections().begin(), sections().end(), param.section) == 1);
            std::string error;
            BOOST_TEST(parse_value(param, param.default_text, &error).has_value(), error);
            BOOST_TEST(find_parameter(param.name) == &param); // names are unique
        }
    }
}

BOOST_AUTO_TEST_CASE(man_page_documents_every_parameter_with_table_default_and_bounds) {
    const auto documented = man_page_parameters(read_source_file("conf/mailwarden.conf.5"));
    BOOST_TEST(!documented.empty());
    check_documentation(documented, "conf/mailwarden.conf.5", true);
}

BOOST_AUTO_TEST_CASE(sample_conf_lists_every_parameter_with_table_default) {
    const auto documented = sample_parameters(read_source_file("conf/mailwarden.conf"));
    BOOST_TEST(!documented.empty());
    check_documentation(documented, "conf/mailwarden.conf", false);
}

// validate(): what one value alone cannot show, each error naming the parameter. (Every kind
// of refusal, through config check and both daemons, is in test-config-verdicts.cc.)
BOOST_AUTO_TEST_CASE(validate_refuses_what_cannot_work_here_and_names_the_parameter) {
    const std::string fine = "[general]\nuser = nobody\n[state]\nstate_path = " +
                             std::filesystem::temp_directory_path().string() +
                             "/mw-validate/state.mdb\n";
    const auto clean = parse_config_text(fine, "test.conf");
    BOOST_REQUIRE(clean.ok());
    BOOST_TEST(validate(*clean.config).empty());
    const std::vector<std::tuple<std::string, std::string, std::string>> cases{
        {"[state]\nstate_backend = redis\nredis_servers =\n", "redis_servers",
         "needs redis_servers or redis_sentinels"},
        {"[state]\nstate_backend = redis\nredis_sentinels = 127.0.0.1\nredis_master_name =\n",
         "redis_master_name", "need the name of the master"},
        {"[policy]\npolicy_socket = unix:/nonexistent-mw/p.sock\n", "policy_socket",
         "directory /nonexistent-mw does not exist"},
        {"[milter]\nmilter_socket = inet:8891@192.0.2.1\n", "milter_socket",
         "not an address of this host"},
        {"[state]\nstate_path = /etc/passwd/state.mdb\n", "state_path",
         "/etc/passwd is not a directory"},
        {"[state]\nstate_path = /tmp\n", "state_path", "/tmp is a directory"},
    };
    for (const auto& [text, key, message] : cases) {
        BOOST_TEST_CONTEXT(text) {
            const auto loaded = parse_config_text("[general]\nuser = nobody\n" + text, "t.conf");
            BOOST_REQUIRE(loaded.ok());
            const auto errors = validate(*loaded.config);
            BOOST_TEST(std::any_of(errors.begin(), errors.end(), [&](const ConfigError& error) {
                return error.key == key && error.file == "t.conf" &&
                       error.message.find(message) != std::string::npos;
            }));
        }
    }
}

// A holder whose reload() lines go to `log`, for the reload tests.
struct LoggedHolder {
    std::vector<std::string> log;
    ConfigHolder holder{
        default_config(),
        [this](mailwarden::util::Severity, std::string_view line) { log.emplace_back(line); }};
};

BOOST_AUTO_TEST_CASE(reload_swaps_valid_file_and_keeps_old_snapshot_on_error) {
    TempFile file;
    LoggedHolder logged;
    auto& [log, holder] = logged;
    const ConfigPtr before = holder.current();

    file.write("[dns]\ndns_timeout = 9s\n");
    BOOST_TEST(holder.reload(file.path));
    const ConfigPtr reloaded = holder.current();
    BOOST_TEST(reloaded != before);
    BOOST_TEST(reloaded->duration("dns_timeout").count() == 9000);
    BOOST_TEST(before->duration("dns_timeout").count() == 5000); // old holders keep theirs
    BOOST_TEST(log.back().find("config reloaded") != std::string::npos);

    log.clear();
    file.write("[dns]\ndns_timeout = 600s\nbogus = 1\n");
    BOOST_TEST(!holder.reload(file.path));
    BOOST_TEST(holder.current() == reloaded);
    BOOST_REQUIRE_EQUAL(log.size(), 3U);
    BOOST_TEST(log[0].find(":2: dns_timeout: value out of range 1s..60s") != std::string::npos);
    BOOST_TEST(log[1].find(":3: bogus: unknown parameter") != std::string::npos);

    log.clear();
    BOOST_TEST(!holder.reload(file.path.string() + ".missing"));
    BOOST_TEST(holder.current() == reloaded);
}

// "config reloaded" comes after the daemon has put the new snapshot to use (its Engine), so
// mail sent once the line is in the log meets the new rules; a snapshot the daemon cannot use
// is not swapped in.
BOOST_AUTO_TEST_CASE(reload_logs_success_only_after_the_daemon_applied_the_snapshot) {
    TempFile file;
    LoggedHolder logged;
    auto& [log, holder] = logged;
    const ConfigPtr before = holder.current();
    file.write("[dns]\ndns_timeout = 9s\n");
    bool applied = false;
    BOOST_TEST(holder.reload(file.path, [&](const ConfigPtr& next) {
        BOOST_TEST(next->duration("dns_timeout").count() == 9000);
        BOOST_TEST(holder.current() == before); // not yet swapped
        BOOST_TEST(log.empty());                // nor logged
        applied = true;
        return true;
    }));
    BOOST_TEST(applied);
    BOOST_TEST(holder.current()->duration("dns_timeout").count() == 9000);
    BOOST_REQUIRE_EQUAL(log.size(), 1U);
    BOOST_TEST(log[0].find("config reloaded") != std::string::npos);

    log.clear();
    const ConfigPtr reloaded = holder.current();
    file.write("[dns]\ndns_timeout = 7s\n");
    BOOST_TEST(!holder.reload(file.path, [](const ConfigPtr&) { return false; }));
    BOOST_TEST(holder.current() == reloaded);
    BOOST_REQUIRE_EQUAL(log.size(), 1U);
    BOOST_TEST(log[0].find("config reload failed: keeping the previous configuration") !=
               std::string::npos);
}

BOOST_AUTO_TEST_CASE(reload_keeps_non_reloadable_parameters_until_restart) {
    TempFile file;
    LoggedHolder logged;
    auto& [log, holder] = logged;
    file.write(
        "[milter]\nmilter_socket = unix:/run/mw.sock\n[actions]\non_state_error = tempfail\n");
    BOOST_TEST(holder.reload(file.path));
    BOOST_TEST(holder.current()->string("milter_socket") == "inet:8891@127.0.0.1");
    BOOST_TEST(holder.current()->action("on_state_error") == Action::tempfail);
    BOOST_REQUIRE_EQUAL(log.size(), 2U);
    BOOST_TEST(log[0].find("milter_socket") != std::string::npos);
    BOOST_TEST(log[0].find("needs a restart") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
