// Verdict constructors and the mapping to mailwarden check's exit status.
#include "engine/verdict.hh"

namespace mailwarden::engine {

namespace {

Verdict make(Action action, std::string code, std::string status, std::string text,
             std::string reason) {
    Verdict verdict;
    verdict.action = action;
    verdict.code = std::move(code);
    verdict.status = std::move(status);
    verdict.text = std::move(text);
    verdict.reason = std::move(reason);
    return verdict;
}

} // namespace

Verdict Verdict::accept(std::string reason) {
    Verdict verdict;
    verdict.reason = std::move(reason);
    return verdict;
}

Verdict Verdict::reject(std::string status, std::string text, std::string reason) {
    return make(Action::reject, "550", std::move(status), std::move(text), std::move(reason));
}

Verdict Verdict::tempfail(std::string status, std::string text, std::string reason) {
    return make(Action::tempfail, "451", std::move(status), std::move(text), std::move(reason));
}

Verdict Verdict::quarantine(std::string text, std::string reason) {
    return make(Action::quarantine, "250", "2.0.0", std::move(text), std::move(reason));
}

std::string_view verdict_action_name(const Verdict& verdict) {
    return config::action_name(verdict.action);
}

int exit_status(const Verdict& verdict) {
    switch (verdict.action) {
    case Action::reject:
        return 1;
    case Action::tempfail:
        return 2;
    case Action::quarantine:
        return 3;
    default:
        return 0;
    }
}

} // namespace mailwarden::engine
