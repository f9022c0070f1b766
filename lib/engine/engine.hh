// Engine: the checks of one configuration snapshot (engine/check.hh), in order; Connection,
// one SMTP session followed through connect and HELO; MessageEvaluation, one message
// followed through the SMTP stages. Every front-end (milter, policy server, `mailwarden
// check`, the benchmarks) drives the same MessageEvaluation, so they cannot disagree about
// the same facts. MessageEvaluation only orchestrates: at each stage it calls the hooks of
// the checks that have one, in order, sends the stage's state operations to the store in one
// round trip, and gives the front-end the stage's verdict.
//
// Parameters read here: authserv_id, internal_networks and the actions of DecisionPolicy;
// each check reads its own (checks/). The Engine is immutable after construction and shared
// by all threads; a reload builds a new one.
//
// Failure: construction throws std::runtime_error when a library cannot start or the public
// suffix list cannot be read. Evaluations never throw for any input (DNS trouble and broken
// mail are results); an exception escaping one is a bug, which the caller maps to
// internal_error_verdict().
#pragma once

#include "auth/public_suffix.hh"
#include "config/config.hh"
#include "dns/resolver.hh"
#include "engine/check.hh"
#include "engine/decision.hh"
#include "engine/report.hh"
#include "engine/verdict.hh"
#include "state/store.hh"

#include <array>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mailwarden::engine {

class Engine;
class MessageEvaluation;

// One SMTP session: the connect hooks ran when the Engine made it, helo() runs the HELO
// hooks, message() starts each message. Must outlive its messages and stay in place while
// one is in progress. Movable, not copyable; not shared between threads.
class Connection {
public:
    // HELO or EHLO (again).
    void helo(std::string_view name);
    // The next message (MAIL). A final verdict of connect or HELO refuses it at mail_from.
    MessageEvaluation message();
    const ConnectionFacts& facts() const { return facts_; }

private:
    friend class Engine;
    friend class MessageEvaluation;
    Connection(const Engine& engine, ConnectionFacts facts);
    void run(Hook hook); // connect or HELO

    const Engine* engine_;
    ConnectionFacts facts_;
    Envelope no_envelope_; // what connect and HELO hooks see of an envelope: nothing yet
    detail::Scope scope_;
};

// One message. Call in SMTP order: mail_from, recipient..., header..., end_of_headers,
// body..., end_of_message. Movable, not copyable; not shared between threads.
class MessageEvaluation {
public:
    // The MAIL hooks: lists, SPF for HELO and MAIL FROM, rows 1-2b of the decision table
    // (reject at MAIL), then the rate limits and reputation of the MAIL stage.
    Verdict mail_from(std::string_view sender, std::string_view auth_user);
    // The RCPT hooks (rate limits, greylisting); a final verdict refuses this recipient only.
    Verdict recipient(std::string_view address);
    // value: everything after the colon as received (leading space and folding kept).
    void header(std::string_view name, std::string_view value);
    void end_of_headers();
    void body(std::span<const char> chunk); // CRLF line ends, any chunking
    Report end_of_message();
    // For the policy server, which sees no content: the end-of-data hooks (quotas counted by
    // recipients) for a message of `recipients` recipients. Instead of end_of_message, never
    // with it.
    Verdict end_of_data(std::size_t recipients);
    // False when no check needs (the rest of) the body: outbound mail, an unsigned message
    // after end_of_headers. The milter then answers SMFIS_SKIP.
    bool wants_body() const { return scope_.active[static_cast<std::size_t>(Hook::body)] != 0; }
    // What is known so far (the envelope and SPF results after mail_from); for the log line
    // of a message that ends before end_of_message, e.g. rejected at MAIL.
    const Report& report_so_far() const { return scope_.report; }

    MessageEvaluation(MessageEvaluation&& other) noexcept;
    MessageEvaluation& operator=(MessageEvaluation&& other) noexcept;
    MessageEvaluation(const MessageEvaluation&) = delete;
    MessageEvaluation& operator=(const MessageEvaluation&) = delete;
    ~MessageEvaluation();

private:
    friend class Engine;
    friend class Connection;
    explicit MessageEvaluation(Connection& connection);
    explicit MessageEvaluation(Connection&& connection); // owns it (Engine::evaluate)
    void start();
    Verdict run(Hook hook);

    std::optional<Connection> own_connection_;
    Connection* connection_;
    const Engine* engine_;
    Envelope envelope_;
    std::int64_t recipients_accepted_ = 0;
    detail::Scope scope_;
};

class Engine {
public:
    // store: where rate limits, reputation and greylisting are kept; nullptr means no state
    // (mailwarden check --no-state): those checks are off.
    Engine(config::ConfigPtr config, dns::Resolver& resolver,
           std::shared_ptr<state::Store> store = nullptr);
    // For tests and the benchmark: a list already loaded.
    Engine(config::ConfigPtr config, dns::Resolver& resolver,
           std::shared_ptr<const auth::PublicSuffixList> public_suffixes,
           std::shared_ptr<state::Store> store = nullptr);
    // For tests: `edit` changes the standard list of checks before the Engine indexes it.
    using CheckListEdit = std::function<void(CheckList&, const CheckContext&)>;
    Engine(config::ConfigPtr config, dns::Resolver& resolver,
           std::shared_ptr<const auth::PublicSuffixList> public_suffixes,
           std::shared_ptr<state::Store> store, const CheckListEdit& edit);
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    // A new SMTP session: runs the connect hooks.
    Connection connect(ConnectionFacts connection) const;
    // A message whose session the caller does not follow (policy server, mailwarden check):
    // connect, HELO when connection.helo is set, then the message.
    MessageEvaluation evaluate(ConnectionFacts connection) const;

    const config::Config& config() const { return *config_; }
    const DecisionPolicy& policy() const { return policy_; }
    const std::string& authserv_id() const { return authserv_id_; }
    const CheckList& checks() const { return checks_; }
    // The indexes (into checks()) of the checks with a hook at `hook`, in order.
    std::span<const std::uint8_t> checks_at(Hook hook) const {
        return at_[static_cast<std::size_t>(hook)];
    }
    // Whether a recipient can be refused at RCPT (the milter then asks the MTA for a reply).
    bool limits_recipients() const { return !checks_at(Hook::recipient).empty(); }
    bool is_outbound(std::string_view client_ip, std::string_view auth_user) const;

private:
    friend class Connection;
    friend class MessageEvaluation;
    friend class StageRun;
    void index_checks();

    config::ConfigPtr config_;
    DecisionPolicy policy_;
    std::string authserv_id_;
    std::shared_ptr<const auth::PublicSuffixList> public_suffixes_;
    std::shared_ptr<state::Store> store_;
    CheckList checks_;
    std::array<std::vector<std::uint8_t>, hook_count> at_;
    std::array<std::uint32_t, hook_count> masks_{}; // per hook: a bit per check having it
    std::uint32_t inbound_checks_ = 0;              // a bit per check for inbound mail
    std::uint32_t outbound_checks_ = 0;
    Report blank_report_; // as each check's prepare() left it
};

// This host's name for authserv_id when the parameter is empty.
std::string local_host_name();

} // namespace mailwarden::engine
