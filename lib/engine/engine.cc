// See engine.hh. The rules a stage runs by are check.hh's; stage_run.hh runs one.
#include "engine/engine.hh"

#include "engine/stage_run.hh"
#include "util/ascii.hh"

#include <algorithm>
#include <stdexcept>
#include <unistd.h>

namespace mailwarden::engine {

namespace {

std::shared_ptr<const auth::PublicSuffixList> load_public_suffixes(const config::Config& config) {
    std::string error;
    auto list = auth::PublicSuffixList::load(config.string("public_suffix_list"), &error);
    if (!list)
        throw std::runtime_error("public_suffix_list: " + error);
    return std::make_shared<const auth::PublicSuffixList>(std::move(*list));
}

constexpr std::size_t slot(Hook hook) {
    return static_cast<std::size_t>(hook);
}

// After a message is refused or over, nothing of it streams to any check.
void stop_streaming(detail::Scope& scope) {
    for (const Hook hook : {Hook::header, Hook::end_of_headers, Hook::body})
        scope.active[slot(hook)] = 0;
}

// Whether a check's header hook asked for this field.
bool wants_field(const Check& check, std::string_view name) {
    const auto& names = check.header_names();
    return names.empty() || std::ranges::any_of(names, [name](std::string_view wanted) {
               return util::equal_ignoring_ascii_case(name, wanted);
           });
}

} // namespace

std::string local_host_name() {
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0')
        return "localhost";
    return name;
}

// --- Engine ----------------------------------------------------------------------------

Engine::Engine(config::ConfigPtr config, dns::Resolver& resolver,
               std::shared_ptr<state::Store> store)
    : Engine(config, resolver, load_public_suffixes(*config), std::move(store)) {}

Engine::Engine(config::ConfigPtr config, dns::Resolver& resolver,
               std::shared_ptr<const auth::PublicSuffixList> public_suffixes,
               std::shared_ptr<state::Store> store)
    : Engine(std::move(config), resolver, std::move(public_suffixes), std::move(store),
             CheckListEdit{}) {}

Engine::Engine(config::ConfigPtr config, dns::Resolver& resolver,
               std::shared_ptr<const auth::PublicSuffixList> public_suffixes,
               std::shared_ptr<state::Store> store, const CheckListEdit& edit)
    : config_(std::move(config)), policy_(DecisionPolicy::from_config(*config_)),
      authserv_id_(config_->string("authserv_id").empty() ? local_host_name()
                                                          : config_->string("authserv_id")),
      public_suffixes_(std::move(public_suffixes)), store_(std::move(store)) {
    const CheckContext context{.config = *config_,
                               .resolver = resolver,
                               .public_suffixes = *public_suffixes_,
                               .store = store_,
                               .policy = policy_,
                               .authserv_id = authserv_id_};
    checks_ = standard_checks(context);
    if (edit)
        edit(checks_, context);
    index_checks();
}

// The per-stage lists, built once: a stage costs only the checks that have its hook.
void Engine::index_checks() {
    if (checks_.size() > max_checks)
        throw std::runtime_error("more than " + std::to_string(max_checks) + " checks");
    for (std::size_t index = 0; index < checks_.size(); ++index) {
        const Check& check = *checks_[index];
        for (std::size_t hook = 0; hook < hook_count; ++hook)
            if (check.has(static_cast<Hook>(hook))) {
                at_[hook].push_back(static_cast<std::uint8_t>(index));
                masks_[hook] |= 1U << index;
            }
        const auto direction = static_cast<unsigned>(check.direction());
        if ((direction & static_cast<unsigned>(Direction::inbound)) != 0)
            inbound_checks_ |= 1U << index;
        if ((direction & static_cast<unsigned>(Direction::outbound)) != 0)
            outbound_checks_ |= 1U << index;
        check.prepare(blank_report_);
    }
}

Connection Engine::connect(ConnectionFacts connection) const {
    Connection started(*this, std::move(connection));
    started.run(Hook::connect);
    return started;
}

MessageEvaluation Engine::evaluate(ConnectionFacts connection) const {
    Connection started = connect(std::move(connection));
    if (!started.facts_.helo.empty())
        started.run(Hook::helo);
    return MessageEvaluation(std::move(started));
}

bool Engine::is_outbound(std::string_view client_ip, std::string_view auth_user) const {
    // No client address: mail submitted on this host (Postfix non_smtpd_milters, sendmail -bm).
    return !auth_user.empty() || client_ip.empty() ||
           config_->cidrs("internal_networks").contains(client_ip);
}

// --- Connection ------------------------------------------------------------------------

Connection::Connection(const Engine& engine, ConnectionFacts facts)
    : engine_(&engine), facts_(std::move(facts)) {
    scope_.report = engine.blank_report_;
    scope_.active = engine.masks_;
}

void Connection::run(Hook hook) {
    StageRun stage(*engine_, hook, scope_, facts_, scope_.states, no_envelope_);
    stage.seed(scope_.carried);
    stage.run();
    if (stage.proposed())
        scope_.carried = std::move(stage.verdict());
}

void Connection::helo(std::string_view name) {
    facts_.helo = std::string(name);
    run(Hook::helo);
}

MessageEvaluation Connection::message() {
    return MessageEvaluation(*this);
}

// --- MessageEvaluation -----------------------------------------------------------------

MessageEvaluation::MessageEvaluation(Connection& connection)
    : connection_(&connection), engine_(connection.engine_) {
    scope_.report = connection.scope_.report;
    connection.scope_.report.timing = {}; // connect and HELO are timed in the first message
    start();
}

MessageEvaluation::MessageEvaluation(Connection&& connection)
    : own_connection_(std::move(connection)), connection_(&*own_connection_),
      engine_(own_connection_->engine_) {
    scope_.report = std::move(connection_->scope_.report); // no other message will need it
    start();
}

void MessageEvaluation::start() {
    scope_.active = engine_->masks_;
}

MessageEvaluation::MessageEvaluation(MessageEvaluation&& other) noexcept
    : own_connection_(std::move(other.own_connection_)),
      connection_(own_connection_ ? &*own_connection_ : other.connection_), engine_(other.engine_),
      envelope_(std::move(other.envelope_)), recipients_accepted_(other.recipients_accepted_),
      scope_(std::move(other.scope_)) {}

MessageEvaluation& MessageEvaluation::operator=(MessageEvaluation&& other) noexcept {
    own_connection_ = std::move(other.own_connection_);
    connection_ = own_connection_ ? &*own_connection_ : other.connection_;
    engine_ = other.engine_;
    envelope_ = std::move(other.envelope_);
    recipients_accepted_ = other.recipients_accepted_;
    scope_ = std::move(other.scope_);
    return *this;
}

MessageEvaluation::~MessageEvaluation() = default;

// One stage with no argument beyond the Stage. MAIL starts from what connect and HELO
// carried, the end of the message from what header and body stages carried.
Verdict MessageEvaluation::run(Hook hook) {
    StageRun stage(*engine_, hook, scope_, connection_->facts_, connection_->scope_.states,
                   envelope_);
    if (hook == Hook::mail && connection_->scope_.carried) {
        std::optional<Verdict> carried = connection_->scope_.carried; // kept for later messages
        stage.seed(carried);
    } else if (hook == Hook::end_of_message || !refuses_at(hook)) {
        stage.seed(scope_.carried);
    }
    stage.run();
    if (!refuses_at(hook) && hook != Hook::end_of_message && stage.proposed())
        scope_.carried = std::move(stage.verdict());
    return std::move(stage.verdict());
}

Verdict MessageEvaluation::mail_from(std::string_view sender, std::string_view auth_user) {
    Report& report = scope_.report;
    report.sender = std::string(sender);
    report.outbound = engine_->is_outbound(connection_->facts_.client_ip, auth_user);
    envelope_.sasl_user = std::string(auth_user);
    const std::uint32_t for_this_mail =
        report.outbound ? engine_->outbound_checks_ : engine_->inbound_checks_;
    for (std::size_t hook = slot(Hook::mail); hook < hook_count; ++hook)
        scope_.active[hook] &= for_this_mail;
    Verdict verdict = run(Hook::mail);
    if (verdict.is_final())
        stop_streaming(scope_);
    return verdict;
}

Verdict MessageEvaluation::recipient(std::string_view address) {
    envelope_.recipient = address;
    Verdict verdict = run(Hook::recipient);
    envelope_.recipient = {};
    if (!verdict.is_final())
        ++recipients_accepted_;
    return verdict;
}

void MessageEvaluation::header(std::string_view name, std::string_view value) {
    StageRun stage(*engine_, Hook::header, scope_, connection_->facts_, connection_->scope_.states,
                   envelope_);
    stage.seed(scope_.carried);
    const CheckList& checks = engine_->checks();
    stage.run([&](const Check& check, Stage& at) { check.header(at, name, value); },
              [&](std::uint8_t index) { return wants_field(*checks[index], name); });
    if (stage.proposed())
        scope_.carried = std::move(stage.verdict());
}

void MessageEvaluation::end_of_headers() {
    run(Hook::end_of_headers);
}

void MessageEvaluation::body(std::span<const char> chunk) {
    StageRun stage(*engine_, Hook::body, scope_, connection_->facts_, connection_->scope_.states,
                   envelope_);
    stage.seed(scope_.carried);
    stage.run([chunk](const Check& check, Stage& at) { check.body(at, chunk); },
              [](std::uint8_t) { return true; });
    if (stage.proposed())
        scope_.carried = std::move(stage.verdict());
}

Verdict MessageEvaluation::end_of_data(std::size_t recipients) {
    envelope_.recipient_count = static_cast<std::int64_t>(recipients);
    return run(Hook::end_of_data);
}

Report MessageEvaluation::end_of_message() {
    envelope_.recipient_count = recipients_accepted_;
    Verdict verdict = run(Hook::end_of_message);
    stop_streaming(scope_);
    // Removals highest index first: each leaves the others in place. Additions only to a
    // message that goes on.
    std::ranges::sort(scope_.removals, [](const HeaderRemoval& a, const HeaderRemoval& b) {
        return a.index > b.index;
    });
    verdict.remove_headers = std::move(scope_.removals);
    if (!verdict.is_final())
        verdict.add_headers = std::move(scope_.additions);
    scope_.removals.clear();
    scope_.additions.clear();
    scope_.report.verdict = std::move(verdict);
    return std::move(scope_.report);
}

} // namespace mailwarden::engine
