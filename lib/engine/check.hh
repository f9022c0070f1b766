// Check: one capability of the engine (SPF, DKIM verification, DMARC, a list, rate limits...)
// as a module with a hook for each SMTP stage it cares about. The Engine builds its ordered
// list of checks from a configuration snapshot (check_list.cc; a check that is off is not in
// it); MessageEvaluation calls, stage by stage, the hooks of the checks that have one, in
// that order, and gives each a Stage: the facts so far, the Report to write results into,
// the stage's one state batch and the stage's verdict.
//
// What a check may rely on, and must keep:
// - A Check is built once per Engine, immutable and shared by every thread. What one message
//   (or connection) needs lives in its state (Stage::state<T>), never in the Check.
// - Only the hooks in hooks() are called; a check costs nothing at the other stages. Header
//   hooks may name the fields they want (header_names); the others are not given to them.
//   From MAIL on, only checks for the message's direction (inbound or outbound) are called.
// - Each hook call and each state round trip is timed (Report::timing, the log's ms=).
// - A check never calls another check: it reads what earlier ones wrote into the Report.
// - Stages where the MTA can still refuse (connect, HELO, MAIL, RCPT, end of data) end at the
//   first final verdict (reject, tempfail): later hooks do not run and the batch is not sent.
//   At header, end of headers, body and end of message every hook runs; their verdict
//   candidates are combined (Stage::propose), those of stages without a reply carried to the
//   next stage that has one (connect and HELO to MAIL, header and body to end of message).
// - State operations added by the hooks of a stage go to the store in one round trip after
//   the last hook; each check then gets the outcomes of its own (state_answered), in order.
// - Hooks never throw for any input: DNS trouble and broken mail are results. An exception is
//   a bug; it leaves the MessageEvaluation and the front-end answers on_internal_error.
#pragma once

#include "config/config.hh"
#include "dns/resolver.hh"
#include "engine/decision.hh"
#include "engine/report.hh"
#include "engine/verdict.hh"
#include "state/store.hh"

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailwarden::auth {
class PublicSuffixList;
}

namespace mailwarden::engine {

// The stages, in SMTP order. end_of_data is the policy server's end of message: it sees no
// content, so it comes instead of header..end_of_message.
enum class Hook : std::uint8_t {
    connect,
    helo,
    mail,
    recipient,
    header,
    end_of_headers,
    body,
    end_of_message,
    end_of_data
};
inline constexpr std::size_t hook_count = 9;
std::string_view hook_name(Hook hook);

using Hooks = std::uint16_t; // a set of Hook, one bit each
constexpr Hooks hook_bit(Hook hook) {
    return static_cast<Hooks>(1U << static_cast<unsigned>(hook));
}
template <typename... Each> constexpr Hooks hooks_of(Each... hooks) {
    return static_cast<Hooks>((hook_bit(hooks) | ... | 0U));
}
// Whether the MTA can refuse at this stage (a final verdict there ends it).
constexpr bool refuses_at(Hook hook) {
    return hook == Hook::connect || hook == Hook::helo || hook == Hook::mail ||
           hook == Hook::recipient || hook == Hook::end_of_data;
}

struct ConnectionFacts {
    std::string client_ip;   // literal address; "" = not a network client (local submission)
    std::string client_name; // reverse name as the MTA verified it; "" = unknown
    std::string helo;
};

// Which mail a check is for, from MAIL on: inbound, outbound (SASL-authenticated or from
// internal_networks, Report::outbound) or both. Before MAIL every connect and HELO hook runs.
enum class Direction : std::uint8_t { inbound = 1, outbound = 2, both = 3 };

// What the MAIL and RCPT stages know beyond the Report's sender and outbound.
struct Envelope {
    std::string sasl_user;      // "" = not authenticated
    std::string_view recipient; // at RCPT: this stage's recipient; "" elsewhere
    // At end of message the recipients accepted; at end of data what the MTA counted.
    std::int64_t recipient_count = 0;
};

// What a check keeps for one message or connection; it derives its own type from this.
struct CheckState {
    virtual ~CheckState() = default;
};
using CheckStates = std::array<std::unique_ptr<CheckState>, max_checks>;

// The store's answer to the operations one check added at a stage.
struct StateAnswer {
    bool ok = true;                           // false: the store failed (on_state_error decides)
    std::span<const state::Outcome> outcomes; // one per operation, in order (empty when !ok)
    std::span<const std::uint32_t> tags;      // the tag given with each operation
};

namespace detail {
// What the hooks of one connection (connect, HELO) or of one message work on.
struct Scope {
    Report report;
    CheckStates states;
    std::array<std::uint32_t, hook_count> active{}; // per hook: a bit per check still called
    std::vector<state::Operation> operations;       // the stage's batch, its checks and tags
    std::vector<std::uint8_t> operation_checks;
    std::vector<std::uint32_t> operation_tags;
    std::vector<HeaderRemoval> removals;
    std::vector<std::pair<std::string, std::string>> additions;
    std::optional<Verdict> carried; // from a stage without a reply to the next with one
};
} // namespace detail

// What a hook sees and may do at one stage. Made by the engine for each stage; a hook gets
// it for the duration of its call only.
class Stage {
public:
    Hook hook() const { return hook_; }
    const ConnectionFacts& connection() const { return *connection_; }
    const Envelope& envelope() const { return *envelope_; }
    Report& report() { return scope_->report; }
    const Report& report() const { return scope_->report; }

    // The stage's verdict so far (accept "ok" until someone proposes one).
    const Verdict& verdict() const { return verdict_; }
    // A candidate replaces the stage's verdict when it is stronger (accept < quarantine <
    // reject/tempfail); among equals the first one stays. Its header changes are kept.
    void propose(Verdict candidate);
    // Header changes of the message, applied at its end: removals always, additions only
    // when the message is not refused. index: 1-based among fields of that name.
    void add_header(std::string name, std::string value);
    void remove_header(std::string name, std::size_t index);

    // An operation for this stage's state batch; the outcome comes back to this check's
    // state_answered with `tag`. Only from a hook (not from state_answered).
    void add_state(state::Operation operation, std::uint32_t tag = 0);

    // This check's state for the message (at connect and HELO: for the connection).
    template <typename T> T* find_state() const {
        return static_cast<T*>(scope_->states[check_].get());
    }
    template <typename T, typename... Args> T& make_state(Args&&... args) {
        auto state = std::make_unique<T>(std::forward<Args>(args)...);
        T& made = *state;
        scope_->states[check_] = std::move(state);
        return made;
    }
    template <typename T> T& state() {
        T* found = find_state<T>();
        return found != nullptr ? *found : make_state<T>();
    }
    // This check's state for the connection, from any stage (e.g. lookups started at connect
    // and used at MAIL).
    template <typename T> T* find_connection_state() const {
        return static_cast<T*>((*connection_states_)[check_].get());
    }
    template <typename T> T& connection_state() {
        auto& slot = (*connection_states_)[check_];
        if (!slot)
            slot = std::make_unique<T>();
        return static_cast<T&>(*slot);
    }

    // This check's hooks in `hooks` are not called again for this message (e.g. the body,
    // once nothing in it can change a result).
    void stop(Hooks hooks);

private:
    friend class StageRun;
    Stage(Hook hook, detail::Scope& scope, const ConnectionFacts& connection,
          CheckStates& connection_states, const Envelope& envelope)
        : hook_(hook), scope_(&scope), connection_(&connection),
          connection_states_(&connection_states), envelope_(&envelope) {}

    Hook hook_;
    detail::Scope* scope_;
    const ConnectionFacts* connection_;
    CheckStates* connection_states_;
    const Envelope* envelope_;
    std::uint8_t check_ = 0; // index of the check whose hook runs
    bool proposed_ = false;
    bool answering_ = false; // in state_answered: add_state is ignored
    Verdict verdict_;
};

// The interface. A check derives from it, gives its name and hooks to the constructor and
// overrides the hooks it named.
class Check {
public:
    virtual ~Check() = default;
    Check(const Check&) = delete;
    Check& operator=(const Check&) = delete;

    // Short, fixed, lowercase: the label of its time in the log line and the metrics.
    std::string_view name() const { return name_; }
    Hooks hooks() const { return hooks_; }
    bool has(Hook hook) const { return (hooks_ & hook_bit(hook)) != 0; }
    // Its hooks from MAIL on are called only for this direction of mail (the others, and
    // their time, are not).
    Direction direction() const { return direction_; }
    // The header fields the header hook is given (case-insensitive); empty: all of them.
    const std::vector<std::string_view>& header_names() const { return header_names_; }

    // Once, when the Engine is built: the words of this check's Report fields before it runs
    // (e.g. rate=ok when limits are configured).
    virtual void prepare(Report& /*blank*/) const {}

    virtual void connect(Stage& /*stage*/) const {}
    virtual void helo(Stage& /*stage*/) const {}
    virtual void mail(Stage& /*stage*/) const {}
    virtual void recipient(Stage& /*stage*/) const {}
    // value: everything after the colon as received (leading space and folding kept).
    virtual void header(Stage& /*stage*/, std::string_view /*name*/,
                        std::string_view /*value*/) const {}
    virtual void end_of_headers(Stage& /*stage*/) const {}
    virtual void body(Stage& /*stage*/, std::span<const char> /*chunk*/) const {}
    virtual void end_of_message(Stage& /*stage*/) const {}
    virtual void end_of_data(Stage& /*stage*/) const {}
    // The store's answer to what this check added at the stage, after every hook of it ran.
    virtual void state_answered(Stage& /*stage*/, const StateAnswer& /*answer*/) const {}

protected:
    // name: a string literal.
    Check(std::string_view name, Hooks hooks, Direction direction = Direction::both,
          std::vector<std::string_view> header_names = {})
        : name_(name), hooks_(hooks), direction_(direction),
          header_names_(std::move(header_names)) {}

private:
    std::string_view name_;
    Hooks hooks_;
    Direction direction_;
    std::vector<std::string_view> header_names_;
};

// What a check's factory may use to build it from the configuration snapshot.
struct CheckContext {
    const config::Config& config;
    dns::Resolver& resolver;
    const auth::PublicSuffixList& public_suffixes;
    const std::shared_ptr<state::Store>& store; // nullptr: no state, checks that need it are off
    const DecisionPolicy& policy;
    const std::string& authserv_id;
};

using CheckList = std::vector<std::unique_ptr<const Check>>;

// The checks of a configuration, in the order they run (check_list.cc).
CheckList standard_checks(const CheckContext& context);

} // namespace mailwarden::engine
