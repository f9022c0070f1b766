// StageRun: one stage of one connection or message, run by the rules of check.hh: the hooks
// of the checks that have one, in the Engine's order (skipping those a check stopped, and
// header fields a check did not ask for), then the stage's state batch in one round trip and
// each check's answer, then the stage's verdict. Internal to the engine (Connection and
// MessageEvaluation use it). Never throws itself; a hook's exception passes through.
#pragma once

#include "engine/check.hh"
#include "engine/engine.hh"

namespace mailwarden::engine {

class StageRun {
public:
    StageRun(const Engine& engine, Hook hook, detail::Scope& scope,
             const ConnectionFacts& connection, CheckStates& connection_states,
             const Envelope& envelope)
        : engine_(engine), stage_(hook, scope, connection, connection_states, envelope) {}
    StageRun(const StageRun&) = delete;
    StageRun& operator=(const StageRun&) = delete;

    // Starts from an earlier candidate (check.hh: carried from a stage without a reply).
    void seed(std::optional<Verdict>& carried);
    // Calls the hooks (call(check, stage) for each check that has this hook, is still
    // active and wants(index)), then answers the batch.
    template <typename Call, typename Wants> void run(Call&& call, Wants&& wants);
    // Every hook of this stage that has no argument beyond the Stage.
    void run();

    bool proposed() const { return stage_.proposed_; }
    Verdict& verdict() { return stage_.verdict_; }

private:
    void answer_batch(bool refusing);
    void discard_batch();

    const Engine& engine_;
    Stage stage_;
};

template <typename Call, typename Wants> void StageRun::run(Call&& call, Wants&& wants) {
    detail::Scope& scope = *stage_.scope_;
    const Hook hook = stage_.hook_;
    const bool refusing = refuses_at(hook);
    if (refusing && stage_.verdict_.is_final())
        return; // refused before this stage (connect, HELO)
    const std::uint32_t& active = scope.active[static_cast<std::size_t>(hook)];
    const CheckList& checks = engine_.checks();
    TimingClock::time_point last{}; // one clock reading between two hooks
    for (const std::uint8_t index : engine_.checks_at(hook)) {
        if ((active & (1U << index)) == 0 || !wants(index))
            continue;
        if (last == TimingClock::time_point{})
            last = TimingClock::now();
        stage_.check_ = index;
        call(*checks[index], stage_);
        const TimingClock::time_point now = TimingClock::now();
        scope.report.timing.add(index, checks[index]->name(), now - last);
        last = now;
        if (refusing && stage_.verdict_.is_final()) {
            discard_batch();
            return;
        }
    }
    answer_batch(refusing);
}

} // namespace mailwarden::engine
