// Rate limits (engine/limits.hh): the `ratelimit =` rules of each stage (MAIL, RCPT, end of
// message or the policy server's end of data) as operations of that stage's state batch, and
// the first limited one as the verdict (451 4.7.1, or 550 5.7.1 with action=reject). Client
// limits count inbound mail from clients not in allow_networks. At the end of the message the
// limits count only mail that is not refused. Report::rate: "ok", "limited:NAME", "error".
// Off without rules or without a state store. Never throws after construction (which throws
// std::runtime_error for two limits with one name).
#include "engine/checks/checks.hh"

#include "engine/limits.hh"

namespace mailwarden::engine::checks {

namespace {

Hooks hooks_for(const RateLimits& limits) {
    Hooks hooks = 0;
    if (limits.any_at(config::RateStage::mail))
        hooks |= hook_bit(Hook::mail);
    if (limits.any_at(config::RateStage::rcpt))
        hooks |= hook_bit(Hook::recipient);
    if (limits.any_at(config::RateStage::end_of_message))
        hooks |= hooks_of(Hook::end_of_message, Hook::end_of_data);
    return hooks;
}

LimitSubject subject_of(const Stage& stage) {
    const Report& report = stage.report();
    return LimitSubject{.inbound = !report.outbound && !report.client_allow_listed,
                        .client_ip = stage.connection().client_ip,
                        .sasl_user = stage.envelope().sasl_user,
                        .sender = report.sender,
                        .recipient = stage.envelope().recipient,
                        .recipients = stage.envelope().recipient_count};
}

class RateLimitChecks final : public Check {
public:
    explicit RateLimitChecks(RateLimits limits)
        : Check("rate", hooks_for(limits)), limits_(std::move(limits)) {}

    void prepare(Report& blank) const override { blank.rate = "ok"; }

    void mail(Stage& stage) const override { add_checks(stage, config::RateStage::mail); }
    void recipient(Stage& stage) const override { add_checks(stage, config::RateStage::rcpt); }
    void end_of_data(Stage& stage) const override {
        add_checks(stage, config::RateStage::end_of_message);
    }
    void end_of_message(Stage& stage) const override {
        if (!stage.verdict().is_final()) // a refused message is not counted
            add_checks(stage, config::RateStage::end_of_message);
    }

    void state_answered(Stage& stage, const StateAnswer& answer) const override {
        if (!answer.ok) {
            stage.report().rate = "error";
            return;
        }
        for (std::size_t i = 0; i < answer.outcomes.size(); ++i) {
            const auto* outcome = std::get_if<state::RateOutcome>(&answer.outcomes[i]);
            if (outcome == nullptr)
                continue;
            if (auto verdict = limits_.verdict(answer.tags[i], *outcome)) {
                constexpr std::string_view prefix = "ratelimit_"; // the reason names the limit
                stage.report().rate = "limited:" + verdict->reason.substr(prefix.size());
                stage.propose(std::move(*verdict));
                return;
            }
        }
    }

private:
    void add_checks(Stage& stage, config::RateStage rate_stage) const {
        const LimitSubject subject = subject_of(stage);
        const auto& rules = limits_.rules();
        for (std::size_t index = 0; index < rules.size(); ++index)
            if (rules[index].stage() == rate_stage)
                if (auto check = limits_.check(index, subject))
                    stage.add_state(std::move(*check), static_cast<std::uint32_t>(index));
    }

    RateLimits limits_;
};

} // namespace

std::unique_ptr<const Check> rate_limits(const CheckContext& context) {
    RateLimits limits(context.config);
    if (!context.store || limits.empty())
        return nullptr;
    return std::make_unique<RateLimitChecks>(std::move(limits));
}

} // namespace mailwarden::engine::checks
