// Greylisting (engine/greylisting.hh) at RCPT: the triplet's check as an operation of the
// stage's state batch, and 451 4.7.1 for a first or too early attempt. Inbound mail from
// clients not in allow_networks only. Report::greylist: the word of the last recipient, or
// "error". Off unless greylisting = yes and there is a state store. Never throws.
//
// The smallest check that uses every part of the interface (a hook, a state operation and
// its outcome, a Report field, a verdict): the file to start a new check from.
#include "engine/checks/checks.hh"

#include "engine/greylisting.hh"

namespace mailwarden::engine::checks {

namespace {

class GreylistCheck final : public Check {
public:
    explicit GreylistCheck(Greylisting greylisting)
        : Check("grey", hooks_of(Hook::recipient), Direction::inbound), greylisting_(greylisting) {}

    void recipient(Stage& stage) const override {
        const Report& report = stage.report();
        if (report.client_allow_listed)
            return;
        if (auto check = greylisting_.check(stage.connection().client_ip, report.sender,
                                            stage.envelope().recipient))
            stage.add_state(std::move(*check));
    }

    void state_answered(Stage& stage, const StateAnswer& answer) const override {
        if (!answer.ok) {
            stage.report().greylist = "error";
            return;
        }
        for (const auto& outcome : answer.outcomes)
            if (const auto* greylisted = std::get_if<state::GreylistOutcome>(&outcome)) {
                stage.report().greylist = greylist_word(*greylisted);
                if (auto deferred = greylisting_.verdict(*greylisted))
                    stage.propose(std::move(*deferred));
            }
    }

private:
    Greylisting greylisting_;
};

} // namespace

std::unique_ptr<const Check> greylisting(const CheckContext& context) {
    const Greylisting greylisting = Greylisting::from_config(context.config);
    if (!context.store || !greylisting.enabled)
        return nullptr;
    return std::make_unique<GreylistCheck>(greylisting);
}

} // namespace mailwarden::engine::checks
