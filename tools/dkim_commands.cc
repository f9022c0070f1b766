// `mailwarden dkim keygen|testkey`: the two things an admin does with DKIM signing keys.
//
//   keygen DOMAIN SELECTOR [--type rsa|ed25519] [--bits N] [--directory DIR] [-c FILE]
//     writes a new private key to DIR/DOMAIN.SELECTOR.key (mode 0600, given to the user the
//     daemons serve as when run as root; an existing file is never overwritten), prints the
//     DNS TXT record to publish on stdout (zone-file syntax, split into strings of at most 255
//     octets) and the dkim_sign_key line to add on stderr.
//   testkey [DOMAIN] [-c FILE] [--dns ADDR[@PORT]]
//     loads the configured keys as the daemons do, looks up each selector's key record and
//     says whether the published key matches the private key (both key types). With DOMAIN,
//     the keys that would sign that domain's mail; without, every key of an exact domain.
//
// Exit status: keygen 0 written, 1 not written (file exists, cannot write); testkey 0 every
// key published and matching, 1 some key missing, revoked or different, 2 a lookup failed
// (timeout, SERVFAIL); 64 usage, 78 configuration error (EX_CONFIG).
#include "auth/dkim_key_table.hh"
#include "auth/idna.hh"
#include "engine/signing.hh"
#include "tools/cli.hh"
#include "util/daemon.hh"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <iostream>
#include <optional>
#include <sys/stat.h>
#include <unistd.h>

namespace mailwarden::tools {

namespace {

constexpr int exit_not_done = 1;
constexpr int exit_dns_failure = 2;
constexpr int exit_config = 78;

// The TXT record in zone-file syntax, its text split into strings of at most 255 octets.
std::string txt_record(const std::string& owner, const std::string& text) {
    std::string record = owner + ". IN TXT (";
    for (std::size_t at = 0; at < text.size(); at += 255)
        record += " \"" + text.substr(at, 255) + "\"";
    return record + " )";
}

// Creates path with mode 0600 (never replacing a file) and writes text; false after
// reporting. Given to owner when we run as root.
bool write_private_file(const std::string& path, const std::string& text, uid_t owner) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        std::cerr << "mailwarden: " << path << ": " << std::strerror(errno) << '\n';
        return false;
    }
    bool ok = ::fchmod(fd, 0600) == 0 &&
              (::geteuid() != 0 || ::fchown(fd, owner, static_cast<gid_t>(-1)) == 0);
    for (std::size_t done = 0; ok && done < text.size();) {
        const ssize_t written = ::write(fd, text.data() + done, text.size() - done);
        ok = written > 0 || (written < 0 && errno == EINTR);
        done += written > 0 ? static_cast<std::size_t>(written) : 0;
    }
    const int saved = errno;
    ok = ::close(fd) == 0 && ok;
    if (!ok) {
        std::cerr << "mailwarden: " << path << ": " << std::strerror(saved) << '\n';
        ::unlink(path.c_str());
    }
    return ok;
}

int keygen(const std::vector<std::string>& arguments) {
    po::options_description options;
    options.add_options()("domain", po::value<std::string>()->required(), "signing domain")(
        "selector", po::value<std::string>()->required(),
        "selector")("type", po::value<std::string>()->default_value("rsa"),
                    "rsa or ed25519")("bits", po::value<unsigned>(), "RSA key size")(
        "directory", po::value<std::string>()->default_value("."),
        "where to write the key")("config,c", po::value<std::string>(), "configuration file");
    po::positional_options_description positional;
    positional.add("domain", 1).add("selector", 1);
    po::variables_map values;
    if (!parse_arguments(arguments, options, positional, values))
        return exit_usage;
    const auto type = auth::key_type_from_name(values["type"].as<std::string>());
    if (!type)
        return usage_error("dkim keygen: --type is rsa or ed25519");
    if (*type == auth::DkimKeyType::ed25519 && values.count("bits"))
        return usage_error("dkim keygen: --bits is for RSA keys only");
    const unsigned bits = values.count("bits") ? values["bits"].as<unsigned>() : 2048;
    if (*type == auth::DkimKeyType::rsa &&
        (bits < auth::min_signing_rsa_bits || bits > auth::max_signing_rsa_bits))
        return usage_error("dkim keygen: --bits is 2048 to 4096");
    const std::string& selector = values["selector"].as<std::string>();
    std::string error;
    const std::string& given = values["domain"].as<std::string>();
    const auto line = given.starts_with("*.")
                          ? std::nullopt
                          : auth::parse_key_table_line(given + " " + selector + " /key", &error);
    if (!line)
        return usage_error("dkim keygen: " +
                           (error.empty() ? "give a domain, not a *. pattern" : error));
    const std::string& domain = line->domain; // lower case, A-labels: the name DNS knows
    const auto config = load_or_defaults(config_path(values));
    if (!config)
        return exit_config;
    uid_t owner = 0;
    try {
        owner = util::serving_uid((*config)->string("user"), (*config)->boolean("allow_root"));
    } catch (const std::exception& failure) {
        std::cerr << "mailwarden: user: " << failure.what() << '\n';
        return exit_config;
    }
    const auto key = auth::DkimPrivateKey::generate(*type, bits);
    const std::string path =
        std::filesystem::absolute(std::filesystem::path(values["directory"].as<std::string>()) /
                                  (domain + "." + selector + ".key"));
    if (!write_private_file(path, key.pem(), owner))
        return exit_not_done;
    std::cout << txt_record(selector + "._domainkey." + domain, key.key_record()) << '\n';
    std::cerr << "mailwarden: wrote " << path << " (" << auth::key_type_name(*type) << " "
              << key.bits() << " bits, mode 0600). Publish the TXT record above, then add to the "
              << "[signing] section:\n  dkim_sign_key = " << domain << " " << selector << " "
              << path << '\n';
    return exit_ok;
}

enum class Finding { matches, problem, dns_failure };

// Looks up one selector's record and says how it compares with the key.
Finding test_one(dns::Resolver& resolver, const std::string& domain,
                 const auth::DkimKeyTable::Entry& entry) {
    const std::string name = entry.line.selector + "._domainkey." + domain;
    std::cout << domain << " " << entry.line.selector << " ("
              << auth::key_type_name(entry.key->type()) << " " << entry.key->bits() << " bits, "
              << (entry.signs ? "signs" : "older selector, does not sign") << "): ";
    const dns::Answer answer = resolver.query(name, dns::RrType::txt);
    using dns::Status;
    if (answer.status == Status::nxdomain || answer.status == Status::nodata ||
        (answer.status == Status::ok && answer.records.empty())) {
        std::cout << "no key record at " << name << '\n';
        return Finding::problem;
    }
    if (answer.status != Status::ok) {
        std::cout << "lookup of " << name << " failed (" << dns::status_name(answer.status)
                  << ")\n";
        return Finding::dns_failure;
    }
    if (answer.records.size() != 1) {
        std::cout << answer.records.size() << " TXT records at " << name
                  << "; verifiers need exactly one\n";
        return Finding::problem;
    }
    const auto comparison = entry.key->compare_with_record(answer.records.front().text);
    if (comparison == auth::PublishedKey::matches) {
        std::cout << "the published key matches\n";
        return Finding::matches;
    }
    std::cout << "NOT usable: " << auth::published_key_text(comparison) << " at " << name
              << "; publish:\n  " << txt_record(name, entry.key->key_record()) << '\n';
    return Finding::problem;
}

int testkey(const std::vector<std::string>& arguments) {
    po::options_description options;
    options.add_options()("domain", po::value<std::string>(), "test the keys of this domain")(
        "config,c", po::value<std::string>(), "configuration file")(
        "dns", po::value<std::string>(), "ask this server (ADDR or ADDR@PORT) instead");
    po::positional_options_description positional;
    positional.add("domain", 1);
    po::variables_map values;
    if (!parse_arguments(arguments, options, positional, values))
        return exit_usage;
    const auto config = load_or_defaults(config_path(values));
    if (!config)
        return exit_config;
    const auto signing = load_signing_or_report(**config);
    if (!signing)
        return exit_config;
    if (signing->keys.empty()) {
        std::cerr << "mailwarden: no dkim_sign_key is configured\n";
        return exit_config;
    }
    std::vector<std::pair<std::string, const auth::DkimKeyTable::Entry*>> tested;
    if (values.count("domain")) {
        // The table holds A-labels; a name given in U-labels is looked up as its A-labels.
        const std::string& given = values["domain"].as<std::string>();
        const auto match = signing->keys.entries_for(auth::domain_to_ascii(given).value_or(given));
        if (match.entries.empty()) {
            std::cout << "no key signs the mail of " << values["domain"].as<std::string>() << '\n';
            return exit_not_done;
        }
        for (const auto* entry : match.entries)
            tested.emplace_back(match.domain, entry);
    } else {
        for (const auto& entry : signing->keys.entries()) {
            if (!entry.line.subdomains)
                tested.emplace_back(entry.line.domain, &entry);
            else
                std::cout << "*." << entry.line.domain << " " << entry.line.selector
                          << ": name a subdomain to test it (mailwarden dkim testkey SUBDOMAIN)\n";
        }
    }
    const auto resolver = make_resolver(**config, values);
    if (!resolver)
        return exit_config;
    int status = exit_ok;
    for (const auto& [domain, entry] : tested) {
        const Finding finding = test_one(*resolver, domain, *entry);
        if (finding == Finding::dns_failure)
            status = exit_dns_failure;
        else if (finding == Finding::problem && status == exit_ok)
            status = exit_not_done;
    }
    return status;
}

} // namespace

int dkim_command(const std::vector<std::string>& arguments) {
    if (arguments.empty())
        return usage_error("dkim: missing subcommand (keygen or testkey)");
    const std::vector<std::string> rest(arguments.begin() + 1, arguments.end());
    if (arguments[0] == "keygen")
        return keygen(rest);
    if (arguments[0] == "testkey")
        return testkey(rest);
    return usage_error("dkim: unknown subcommand '" + arguments[0] + "'");
}

} // namespace mailwarden::tools
