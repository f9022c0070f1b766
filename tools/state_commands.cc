// `mailwarden ratelimit|reputation|greylist`: show and change what the daemons keep in the
// state store of the configuration (-c FILE), with the keys the engine makes (engine::rate_key,
// state_keys.hh), so that what is shown is what the next message meets. Reads the ratelimit
// rules and the state_* parameters. Every command runs one batch on the store.
// Exit status: 0 ok, 1 nothing found (no record, no limit for KEY), 64 usage, 75 the store
// cannot be opened or failed (EX_TEMPFAIL), 78 configuration error (EX_CONFIG).
#include "engine/greylisting.hh"
#include "engine/limits.hh"
#include "engine/reputation.hh"
#include "engine/state_keys.hh"
#include "engine/state_store.hh"
#include "state/rules.hh"
#include "tools/cli.hh"
#include "util/ascii.hh"
#include "util/cidr.hh"

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>

namespace mailwarden::tools {

namespace {

constexpr int exit_not_found = 1;
constexpr int exit_tempfail = 75;
constexpr int exit_config = 78;

using config::RateKey;
using state::Millis;

// A state command's words after the subcommand, and its configuration.
struct Invocation {
    std::vector<std::string> words;
    config::ConfigPtr config;
};

// Parses -c and the words (between min_words and max_words of them) and loads the
// configuration; nullopt with *status set after reporting.
std::optional<Invocation> start(const std::string& command,
                                const std::vector<std::string>& arguments, std::size_t min_words,
                                std::size_t max_words, int* status) {
    po::options_description options;
    options.add_options()("config,c", po::value<std::string>(), "configuration file")(
        "word", po::value<std::vector<std::string>>(), "arguments");
    po::positional_options_description positional;
    positional.add("word", -1);
    po::variables_map values;
    *status = exit_usage;
    if (!parse_arguments(arguments, options, positional, values))
        return std::nullopt;
    Invocation invocation;
    if (values.count("word"))
        invocation.words = values["word"].as<std::vector<std::string>>();
    if (invocation.words.size() < min_words || invocation.words.size() > max_words) {
        usage_error(command + ": wrong number of arguments");
        return std::nullopt;
    }
    auto config = load_or_defaults(config_path(values));
    if (!config) {
        *status = exit_config;
        return std::nullopt;
    }
    invocation.config = std::move(*config);
    return invocation;
}

// Runs the operations on the configuration's store: their outcomes, or nullopt after
// reporting why the store could not answer.
std::optional<std::vector<state::Outcome>>
run_batch(const config::Config& config, const std::vector<state::Operation>& batch, Millis now) {
    std::shared_ptr<state::Store> store;
    try {
        store = engine::open_state_store(config, state::OnDamage::refuse);
    } catch (const std::exception& error) {
        std::cerr << "mailwarden: cannot open the state store: " << error.what() << '\n';
        return std::nullopt;
    }
    state::BatchResult result = store->run(batch, now);
    if (!result.ok || result.outcomes.size() != batch.size()) {
        std::cerr << "mailwarden: state store (" << store->backend() << "): " << result.error
                  << '\n';
        return std::nullopt;
    }
    return std::move(result.outcomes);
}

Millis now_millis() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// A duration in whole seconds, rounded up ("0s" only when nothing is left).
std::string seconds(Millis duration) {
    return std::to_string(duration <= 0 ? 0 : (duration + 999) / 1000) + "s";
}

std::string days(Millis duration) {
    return std::to_string(duration / 86'400'000) + " days";
}

const std::string& inspected(const state::Outcome& outcome) {
    static const std::string none;
    const auto* text = std::get_if<std::string>(&outcome);
    return text != nullptr ? *text : none;
}

bool forgotten(const state::Outcome& outcome) {
    const auto* existed = std::get_if<bool>(&outcome);
    return existed != nullptr && *existed;
}

} // namespace

// ---- ratelimit ----

namespace {

// Whether KEY has the form a limit of this kind counts by.
bool key_fits(RateKey kind, std::string_view key) {
    const bool address = util::parse_ip(key).has_value();
    switch (kind) {
    case RateKey::client_ip:
    case RateKey::client_subnet:
        return address;
    case RateKey::sender:
    case RateKey::recipient:
        return key.find('@') != std::string_view::npos;
    case RateKey::sender_domain:
    case RateKey::sasl_user:
        return !address;
    }
    return false;
}

struct LimitBucket {
    const config::RateLimitRule* rule;
    std::string key;
    std::string label; // "NAME KEYKIND"
};

// The buckets of KEY: in the limit named, or in every limit of a kind that fits KEY. Empty
// with *status set after reporting when there is none.
std::vector<LimitBucket> limit_buckets(const std::vector<config::RateLimitRule>& rules,
                                       const std::optional<std::string>& limit,
                                       const std::string& key, int* status) {
    std::vector<LimitBucket> buckets;
    for (const auto& rule : rules) {
        if (limit && rule.name != *limit)
            continue;
        const std::string kind(config::rate_key_name(rule.key));
        std::string stored_key = key_fits(rule.key, key) ? engine::rate_key(rule, key) : "";
        if (limit && stored_key.empty()) {
            *status = usage_error("ratelimit: " + rule.name + " counts by " + kind + ", which '" +
                                  key + "' is not");
            return {};
        }
        if (!stored_key.empty())
            buckets.push_back({&rule, std::move(stored_key), rule.name + " " + kind});
    }
    if (buckets.empty()) {
        std::cerr << "mailwarden: "
                  << (limit ? "no limit is named '" + *limit + "'"
                            : "no configured limit counts '" + key + "'")
                  << '\n';
        *status = exit_not_found;
    }
    return buckets;
}

// "used N of BURST, full again in Xs" from a stored TAT (theoretical arrival time).
std::string bucket_text(const config::RateLimitRule& rule, Millis tat, Millis now) {
    const Millis interval = std::max<Millis>(rule.interval().count(), 1);
    const Millis ahead = std::max<Millis>(tat - now, 0);
    const std::int64_t used = std::min<std::int64_t>((ahead + interval - 1) / interval, rule.burst);
    return "used " + std::to_string(used) + " of " + std::to_string(rule.burst) +
           ", full again in " + seconds(ahead);
}

} // namespace

int ratelimit_command(const std::vector<std::string>& arguments) {
    if (arguments.empty() || (arguments[0] != "show" && arguments[0] != "reset"))
        return usage_error("ratelimit: expected 'ratelimit show|reset [LIMIT] KEY'");
    const bool show = arguments[0] == "show";
    int status = 0;
    const auto invocation =
        start("ratelimit " + arguments[0], {arguments.begin() + 1, arguments.end()}, 1, 2, &status);
    if (!invocation)
        return status;
    std::optional<engine::RateLimits> limits;
    try {
        limits.emplace(*invocation->config);
    } catch (const std::exception& error) {
        std::cerr << "mailwarden: " << error.what() << '\n';
        return exit_config;
    }
    const auto& words = invocation->words;
    const auto buckets =
        limit_buckets(limits->rules(), words.size() == 2 ? std::optional(words[0]) : std::nullopt,
                      words.back(), &status);
    if (buckets.empty())
        return status;
    std::vector<state::Operation> batch;
    for (const auto& bucket : buckets)
        batch.push_back(show ? state::Operation(state::Inspect{bucket.key})
                             : state::Operation(state::Forget{bucket.key}));
    const Millis now = now_millis();
    const auto outcomes = run_batch(*invocation->config, batch, now);
    if (!outcomes)
        return exit_tempfail;
    bool found = false;
    for (std::size_t i = 0; i < buckets.size(); ++i) {
        const LimitBucket& bucket = buckets[i];
        const state::Outcome& outcome = (*outcomes)[i];
        std::string text = "no record";
        if (!show)
            text = forgotten(outcome) ? "removed" : text;
        else if (const auto tat = state::parse_rate(inspected(outcome)))
            text = bucket_text(*bucket.rule, *tat, now);
        found = found || text != "no record";
        std::cout << bucket.label << ": " << text << '\n';
    }
    return found ? exit_ok : exit_not_found;
}

// ---- reputation ----

namespace {

struct ReputationRecord {
    std::string label; // "ip 192.0.2.7", "net 192.0.2.0/24", "domain example.org"
    std::string key;
};

// An address has its own record and its subnet's; anything else is a domain.
std::vector<ReputationRecord> reputation_records(const std::string& subject) {
    if (util::parse_ip(subject))
        return {{"ip " + util::canonical_ip(subject), engine::reputation_ip_key(subject)},
                {"net " + engine::client_subnet(subject), engine::reputation_net_key(subject)}};
    return {{"domain " + engine::domain_key_text(subject), engine::reputation_domain_key(subject)}};
}

std::string reputation_text(const state::Reputation& value) {
    char text[128];
    const double total = value.good + value.bad;
    if (total > 0)
        std::snprintf(text, sizeof text, "good %.2f bad %.2f score %+.2f", value.good, value.bad,
                      (value.good - value.bad) / total);
    else
        std::snprintf(text, sizeof text, "good %.2f bad %.2f no score", value.good, value.bad);
    return text;
}

std::optional<double> parse_count(const std::string& text) {
    double value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || text.empty() ||
        !std::isfinite(value) || value < 0)
        return std::nullopt;
    return value;
}

} // namespace

int reputation_command(const std::vector<std::string>& arguments) {
    const std::string subcommand = arguments.empty() ? "" : arguments[0];
    if (subcommand != "show" && subcommand != "set" && subcommand != "forget")
        return usage_error("reputation: expected 'reputation show|set|forget IP|DOMAIN'");
    const std::size_t words = subcommand == "set" ? 3 : 1;
    int status = 0;
    const auto invocation = start("reputation " + subcommand,
                                  {arguments.begin() + 1, arguments.end()}, words, words, &status);
    if (!invocation)
        return status;
    const std::string& subject = invocation->words[0];
    if (subject.empty())
        return usage_error("reputation: empty IP or domain");
    auto records = reputation_records(subject);
    std::vector<state::Operation> batch;
    if (subcommand == "set") {
        const auto good = parse_count(invocation->words[1]);
        const auto bad = parse_count(invocation->words[2]);
        if (!good || !bad)
            return usage_error("reputation set: GOOD and BAD are numbers of 0 or more");
        records.resize(1); // an address's own record, not its subnet's
        batch.push_back(state::SetReputation{
            .key = records[0].key,
            .value = {*good, *bad},
            .half_life = engine::ReputationPolicy::from_config(*invocation->config).half_life});
    } else {
        for (const auto& record : records)
            batch.push_back(subcommand == "show" ? state::Operation(state::Inspect{record.key})
                                                 : state::Operation(state::Forget{record.key}));
    }
    const Millis now = now_millis();
    const auto outcomes = run_batch(*invocation->config, batch, now);
    if (!outcomes)
        return exit_tempfail;
    bool found = false;
    for (std::size_t i = 0; i < records.size(); ++i) {
        std::string text = "no record";
        if (subcommand == "set") {
            text = "set " + reputation_text(std::get<state::Reputation>((*outcomes)[i]));
        } else if (subcommand == "forget") {
            text = forgotten((*outcomes)[i]) ? "removed" : text;
        } else if (const auto stored = state::parse_reputation(inspected((*outcomes)[i]))) {
            text = reputation_text(state::decayed(
                stored->first, stored->second, now,
                engine::ReputationPolicy::from_config(*invocation->config).half_life));
        }
        found = found || text != "no record";
        std::cout << records[i].label << ": " << text << '\n';
    }
    return found ? exit_ok : exit_not_found;
}

// ---- greylist ----

namespace {

std::string greylist_text(std::string_view stored, Millis now,
                          const engine::Greylisting& greylisting) {
    if (stored == "pass")
        return "passed (known for " + days(greylisting.pass_lifetime) + " after its last message)";
    const auto first_seen = state::parse_greylist_seen(stored);
    if (!first_seen)
        return "no record";
    const Millis waiting = *first_seen + greylisting.delay - now;
    return "first seen " + seconds(now - *first_seen) + " ago, " +
           (waiting > 0 ? "passes in " + seconds(waiting) : "passes on its next retry");
}

} // namespace

int greylist_command(const std::vector<std::string>& arguments) {
    const std::string subcommand = arguments.empty() ? "" : arguments[0];
    if (subcommand != "show" && subcommand != "allow")
        return usage_error("greylist: expected 'greylist show|allow CLIENT_IP SENDER RECIPIENT'");
    int status = 0;
    const auto invocation =
        start("greylist " + subcommand, {arguments.begin() + 1, arguments.end()}, 3, 3, &status);
    if (!invocation)
        return status;
    const auto& words = invocation->words;
    const std::string key = engine::greylist_key(words[0], words[1], words[2]);
    if (key.empty())
        return usage_error("greylist: not an IP address: '" + words[0] + "'");
    const bool show = subcommand == "show";
    const engine::Greylisting greylisting = engine::Greylisting::from_config(*invocation->config);
    const std::vector<state::Operation> batch{
        show ? state::Operation(state::Inspect{key})
             : state::Operation(
                   state::AllowGreylist{.key = key, .pass_lifetime = greylisting.pass_lifetime})};
    const Millis now = now_millis();
    const auto outcomes = run_batch(*invocation->config, batch, now);
    if (!outcomes)
        return exit_tempfail;
    const std::string text = show ? greylist_text(inspected(outcomes->front()), now, greylisting)
                                  : "allowed for " + days(greylisting.pass_lifetime);
    std::cout << engine::client_subnet(words[0]) << " <" << util::ascii_lowered(words[1]) << "> <"
              << util::ascii_lowered(words[2]) << ">: " << text << '\n';
    return text == "no record" ? exit_not_found : exit_ok;
}

} // namespace mailwarden::tools
