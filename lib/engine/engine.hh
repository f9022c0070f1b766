// Engine: the authentication checks of one configuration snapshot, and MessageEvaluation, one
// message followed through the SMTP stages. Every front-end (milter, policy server,
// `mailwarden check`, the benchmark) drives the same MessageEvaluation, so they cannot
// disagree about the same facts.
//
// Parameters read: authserv_id, trusted_authserv_ids, internal_networks, spf_time_budget,
// dkim_max_signatures, dkim_min_key_bits, dkim_sha1, dkim_body_length, dns_timeout,
// public_suffix_list and the actions of DecisionPolicy. The Engine is immutable after
// construction and shared by all threads; a reload builds a new one.
//
// Failure: construction throws std::runtime_error when a library cannot start or the public
// suffix list cannot be read. Evaluations never throw for any input (DNS trouble and broken
// mail are results); an exception escaping one is a bug, which the caller maps to
// internal_error_verdict().
#pragma once

#include "auth/dkim_verify.hh"
#include "auth/dmarc.hh"
#include "auth/header_from.hh"
#include "auth/public_suffix.hh"
#include "auth/spf.hh"
#include "config/config.hh"
#include "dns/resolver.hh"
#include "engine/decision.hh"
#include "engine/greylisting.hh"
#include "engine/limits.hh"
#include "engine/reputation.hh"
#include "engine/verdict.hh"
#include "state/store.hh"

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mailwarden::engine {

// Bounds on what one message may make us keep, each enforced and named in a test.
inline constexpr std::size_t max_from_headers_kept = 8; // more are multiple_headers anyway
inline constexpr std::size_t max_trusted_authres_kept = 8;

struct ConnectionFacts {
    std::string client_ip;   // literal address; "" = not a network client (local submission)
    std::string client_name; // reverse name as the MTA verified it; "" = unknown
    std::string helo;
};

struct Report {
    bool outbound = false;
    std::string sender;                          // MAIL FROM address as given ("" = <>)
    std::optional<auth::SpfResult> spf_helo;     // unset when not evaluated (outbound)
    std::optional<auth::SpfResult> spf_mailfrom; // ditto
    std::vector<auth::DkimSignatureResult> dkim; // empty: unsigned (or outbound)
    auth::HeaderFrom from;
    std::optional<auth::DmarcResult> dmarc;                  // unset: not evaluated
    std::vector<std::string> trusted_authentication_results; // values, trusted_authserv_ids
    std::string authentication_results; // our A-R header value, unfolded ("" = none)
    // Rate limits: "off" (none configured, or no store), "ok", "limited:NAME", or "error" (the
    // store failed; on_state_error decided).
    std::string rate = "off";
    // The client address's reputation after this message: "+0.80" (score / 100), "new" (too
    // few outcomes yet), "off" (no store) or "error".
    std::string reputation = "off";
    // Greylisting of the last recipient: "off", "first_seen", "too_early", "passed", "known",
    // or "error".
    std::string greylist = "off";
    Verdict verdict;

    // One sentence for an admin, e.g. "DMARC fail: From example.com, p=reject, SPF pass for
    // other.org not aligned, no DKIM signature".
    std::string explanation() const;
};

class Engine;

// One message. Call in SMTP order: mail_from, recipient..., header..., end_of_headers,
// body..., end_of_message. Movable, not copyable; not shared between threads.
class MessageEvaluation {
public:
    // SPF for HELO and MAIL FROM; answers rows 1-2 of the decision table (reject at MAIL),
    // then the rate limits of the MAIL stage.
    Verdict mail_from(std::string_view sender, std::string_view auth_user);
    // The rate limits of the RCPT stage; a final verdict refuses this recipient only.
    Verdict recipient(std::string_view address);
    // value: everything after the colon as received (leading space and folding kept).
    void header(std::string_view name, std::string_view value);
    void end_of_headers();
    void body(std::span<const char> chunk); // CRLF line ends, any chunking
    Report end_of_message();
    // For the policy server, which sees no content: the end-of-message rate limits (quotas
    // counted by recipients) for a message of `recipients` recipients. Instead of
    // end_of_message, never with it.
    Verdict end_of_data(std::size_t recipients);
    // False when no check needs (the rest of) the body: outbound mail, an unsigned message
    // after end_of_headers. The milter then answers SMFIS_SKIP.
    bool wants_body() const { return dkim_ && dkim_->wants_body(); }
    // What is known so far (the envelope and SPF results after mail_from); for the log line
    // of a message that ends before end_of_message, e.g. rejected at MAIL.
    const Report& report_so_far() const { return report_; }

private:
    friend class Engine;
    MessageEvaluation(const Engine& engine, ConnectionFacts connection);
    void evaluate_dmarc();
    void build_authentication_results();
    std::optional<Verdict> consult_state(config::RateStage stage, bool with_limits,
                                         std::vector<state::Operation> extra,
                                         std::vector<state::Outcome>* extra_outcomes);
    std::vector<state::Operation> client_reputation(double good, double bad) const;
    std::vector<state::Operation> reputation_updates(const Verdict& verdict,
                                                     const std::string& domain) const;
    std::string authenticated_domain() const;
    void note_reputation(const std::vector<state::Reputation>& values);

    const Engine* engine_;
    ConnectionFacts connection_;
    std::optional<auth::DkimSession> dkim_;
    Report report_;
    std::vector<std::string> from_values_;
    std::size_t from_headers_seen_ = 0;
    std::size_t authres_headers_seen_ = 0;
    std::size_t recipients_ = 0;
    LimitSubject subject_;
};

class Engine {
public:
    // store: where rate limits are counted; nullptr means no state (mailwarden check
    // --no-state): limits are off.
    Engine(config::ConfigPtr config, dns::Resolver& resolver,
           std::shared_ptr<state::Store> store = nullptr);
    // For tests and the benchmark: a list already loaded.
    Engine(config::ConfigPtr config, dns::Resolver& resolver,
           std::shared_ptr<const auth::PublicSuffixList> public_suffixes,
           std::shared_ptr<state::Store> store = nullptr);
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    MessageEvaluation evaluate(ConnectionFacts connection) const;

    const config::Config& config() const { return *config_; }
    const DecisionPolicy& policy() const { return policy_; }
    const std::string& authserv_id() const { return authserv_id_; }
    // Whether a recipient can be refused at RCPT (the milter then asks the MTA for a reply).
    bool limits_recipients() const {
        return store_ && (limits_.any_at(config::RateStage::rcpt) || greylisting_.enabled);
    }

private:
    friend class MessageEvaluation;
    bool is_outbound(std::string_view client_ip, std::string_view auth_user) const;

    config::ConfigPtr config_;
    DecisionPolicy policy_;
    std::string authserv_id_;
    std::vector<std::string> trusted_authserv_ids_;
    std::shared_ptr<const auth::PublicSuffixList> public_suffixes_;
    std::unique_ptr<auth::SpfVerifier> spf_;
    std::unique_ptr<auth::DkimVerifier> dkim_;
    std::unique_ptr<auth::DmarcEvaluator> dmarc_;
    RateLimits limits_;
    ReputationPolicy reputation_;
    Greylisting greylisting_;
    std::shared_ptr<state::Store> store_;
};

// This host's name for authserv_id when the parameter is empty.
std::string local_host_name();

} // namespace mailwarden::engine
