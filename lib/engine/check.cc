// See check.hh (the Stage a hook works on) and stage_run.hh (how a stage runs).
#include "engine/check.hh"
#include "engine/stage_run.hh"

#include <chrono>

namespace mailwarden::engine {

namespace {

// accept < quarantine, discard < reject, tempfail
int strength(const Verdict& verdict) {
    if (verdict.is_final())
        return 3;
    return verdict.action == Action::quarantine || verdict.action == Action::discard ? 2 : 1;
}

void call_hook(const Check& check, Stage& stage) {
    switch (stage.hook()) {
    case Hook::connect:
        return check.connect(stage);
    case Hook::helo:
        return check.helo(stage);
    case Hook::mail:
        return check.mail(stage);
    case Hook::recipient:
        return check.recipient(stage);
    case Hook::end_of_headers:
        return check.end_of_headers(stage);
    case Hook::end_of_message:
        return check.end_of_message(stage);
    case Hook::end_of_data:
        return check.end_of_data(stage);
    case Hook::header: // these carry more than the Stage: MessageEvaluation calls them
    case Hook::body:
        return;
    }
}

} // namespace

std::string_view hook_name(Hook hook) {
    static constexpr std::array<std::string_view, hook_count> names = {
        "connect", "helo", "mail",           "rcpt",       "header",
        "eoh",     "body", "end_of_message", "end_of_data"};
    return names[static_cast<std::size_t>(hook)];
}

void Stage::propose(Verdict candidate) {
    for (auto& removal : candidate.remove_headers)
        scope_->removals.push_back(std::move(removal));
    for (auto& addition : candidate.add_headers)
        scope_->additions.push_back(std::move(addition));
    candidate.remove_headers.clear();
    candidate.add_headers.clear();
    if (!proposed_ || strength(candidate) > strength(verdict_)) {
        verdict_ = std::move(candidate);
        proposed_ = true;
    }
}

void Stage::add_header(std::string name, std::string value) {
    scope_->additions.emplace_back(std::move(name), std::move(value));
}

void Stage::remove_header(std::string name, std::size_t index) {
    scope_->removals.push_back({std::move(name), index});
}

void Stage::add_state(state::Operation operation, std::uint32_t tag) {
    if (answering_)
        return; // the batch of this stage is gone; see check.hh
    scope_->operations.push_back(std::move(operation));
    scope_->operation_checks.push_back(check_);
    scope_->operation_tags.push_back(tag);
}

void Stage::stop(Hooks hooks) {
    for (std::size_t hook = 0; hook < hook_count; ++hook)
        if ((hooks & (1U << hook)) != 0)
            scope_->active[hook] &= ~(1U << check_);
}

void StageRun::seed(std::optional<Verdict>& carried) {
    if (!carried)
        return;
    stage_.verdict_ = std::move(*carried);
    stage_.proposed_ = true;
    carried.reset();
}

void StageRun::run() {
    run(call_hook, [](std::uint8_t) { return true; });
}

void StageRun::discard_batch() {
    detail::Scope& scope = *stage_.scope_;
    scope.operations.clear();
    scope.operation_checks.clear();
    scope.operation_tags.clear();
}

void StageRun::answer_batch(bool refusing) {
    detail::Scope& scope = *stage_.scope_;
    if (scope.operations.empty())
        return;
    state::BatchResult result;
    TimingClock::time_point last = TimingClock::now();
    if (engine_.store_) {
        const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::system_clock::now().time_since_epoch());
        result = engine_.store_->run(scope.operations, now.count());
    } else {
        result = {.ok = false, .error = "no state store", .outcomes = {}};
    }
    Timing& timing = scope.report.timing;
    TimingClock::time_point now = TimingClock::now();
    timing.add_state(now - last);
    last = now;
    const std::size_t count = scope.operations.size();
    const std::size_t answered = result.ok ? std::min(count, result.outcomes.size()) : 0;
    stage_.answering_ = true;
    for (std::size_t begin = 0; begin < count;) {
        const std::uint8_t index = scope.operation_checks[begin];
        std::size_t end = begin;
        while (end < count && scope.operation_checks[end] == index)
            ++end;
        StateAnswer answer{.ok = result.ok, .outcomes = {}, .tags = {}};
        if (begin < answered) {
            answer.outcomes =
                std::span(result.outcomes).subspan(begin, std::min(end, answered) - begin);
            answer.tags = std::span(scope.operation_tags).subspan(begin, answer.outcomes.size());
        }
        stage_.check_ = index;
        const Check& check = *engine_.checks()[index];
        check.state_answered(stage_, answer);
        now = TimingClock::now();
        timing.add(index, check.name(), now - last);
        last = now;
        begin = end;
        if (refusing && stage_.verdict_.is_final())
            break;
    }
    stage_.answering_ = false;
    discard_batch();
    if (!result.ok)
        if (Verdict refused = state_error_verdict(engine_.policy()); refused.is_final())
            stage_.propose(std::move(refused));
}

} // namespace mailwarden::engine
