// The decision table (rows documented in decision.hh).
#include "engine/decision.hh"

#include "auth/dmarc_authors.hh"

#include <algorithm>
#include <optional>

namespace mailwarden::engine {

namespace {

// A configured failure action applied to one failure class. Action::none means "no action
// here": the caller goes on to the next row.
std::optional<Verdict> apply(Action action, std::string status, std::string text,
                             std::string reason) {
    switch (action) {
    case Action::reject:
        return Verdict::reject(std::move(status), std::move(text), std::move(reason));
    case Action::tempfail:
        return Verdict::tempfail("4.7.0", std::move(text), std::move(reason));
    case Action::quarantine:
        return Verdict::quarantine(std::move(text), std::move(reason));
    default:
        return std::nullopt;
    }
}

Verdict ours(Verdict verdict) {
    verdict.ours = true;
    return verdict;
}

Verdict dns_error(const DecisionPolicy& policy, const MessageFacts& facts) {
    if (policy.on_dns_error != Action::tempfail)
        return ours(Verdict::accept("dmarc_dns_error"));
    const std::string text =
        facts.failed_lookup.empty()
            ? "DNS error while checking the DMARC policy of " +
                  smtp_safe_text(facts.from_domain, 100)
            : "DNS error looking up " + smtp_safe_text(facts.failed_lookup, 200);
    return ours(Verdict::tempfail("4.4.3", text + ", try again later", "dmarc_dns_error"));
}

// Row 7: our DNS trouble could hide a policy that refuses this message.
bool dns_error_may_hide_a_refusal(const MessageFacts& facts) {
    return auth::dmarc_temperror_may_hide_a_refusal(facts.dmarc_result, facts.dmarc_aligned,
                                                    facts.dmarc_policy);
}

std::string spf_fail_text(const EnvelopeFacts& facts) {
    std::string text = "SPF check failed for " + smtp_safe_text(facts.spf_domain, 100);
    if (!facts.spf_explanation.empty())
        text += ": " + smtp_safe_text(facts.spf_explanation);
    return text;
}

} // namespace

DecisionPolicy DecisionPolicy::from_config(const config::Config& config) {
    return DecisionPolicy{.spf_fail = config.action("spf_fail_action"),
                          .spf_temperror = config.action("spf_temperror_action"),
                          .dmarc_reject = config.action("dmarc_reject_action"),
                          .dmarc_quarantine = config.action("dmarc_quarantine_action"),
                          .from_header = config.action("from_header_action"),
                          .on_dns_error = config.action("on_dns_error"),
                          .on_state_error = config.action("on_state_error"),
                          .on_internal_error = config.action("on_internal_error")};
}

Verdict decide_envelope(const DecisionPolicy& policy, const EnvelopeFacts& facts) {
    if (facts.outbound)
        return Verdict::accept("outbound");
    if (facts.spf_result == "fail" && policy.spf_fail == Action::reject)
        return Verdict::reject("5.7.23", spf_fail_text(facts), "spf_fail");
    if (facts.spf_result == "temperror" && policy.spf_temperror == Action::tempfail)
        return ours(Verdict::tempfail("4.4.3",
                                      "temporary DNS error while checking SPF for " +
                                          smtp_safe_text(facts.spf_domain, 100) +
                                          ", try again later",
                                      "spf_temperror"));
    return Verdict::accept();
}

Verdict decide_message(const DecisionPolicy& policy, const MessageFacts& facts) {
    if (Verdict early = decide_envelope(policy, facts.envelope); early.reason != "ok")
        return early; // rows 1-2
    if (facts.from_problem != auth::FromProblem::none) {
        const std::string problem(auth::from_problem_name(facts.from_problem));
        if (auto verdict =
                apply(policy.from_header, "5.7.1",
                      "message has no single valid author (From header: " + problem + ")",
                      "from_" + problem))
            return *verdict;
    }
    const std::string domain = smtp_safe_text(facts.from_domain, 100);
    if (facts.dmarc_result == "fail" && facts.dmarc_disposition == "reject") {
        if (facts.auth_temperror)
            return dns_error(policy, facts);
        if (auto verdict = apply(policy.dmarc_reject, "5.7.1",
                                 "DMARC policy of " + domain + " rejects this unauthenticated mail",
                                 "dmarc_reject"))
            return *verdict;
    }
    if (facts.dmarc_result == "fail" && facts.dmarc_disposition == "quarantine") {
        if (auto verdict = apply(policy.dmarc_quarantine, "5.7.1",
                                 "DMARC policy of " + domain + " quarantines unauthenticated mail",
                                 "dmarc_quarantine"))
            return *verdict;
    }
    if (dns_error_may_hide_a_refusal(facts))
        return dns_error(policy, facts);
    if (facts.envelope.spf_result == "fail" && policy.spf_fail == Action::quarantine)
        return Verdict::quarantine(spf_fail_text(facts.envelope), "spf_fail");
    return Verdict::accept();
}

Verdict internal_error_verdict(const DecisionPolicy& policy) {
    if (policy.on_internal_error == Action::accept)
        return ours(Verdict::accept("internal_error"));
    return ours(Verdict::tempfail("4.3.0", "internal error, try again later", "internal_error"));
}

Verdict rate_limited_verdict(std::string_view limit_name, bool reject,
                             std::int64_t retry_after_ms) {
    const std::string name = smtp_safe_text(limit_name, 32);
    const std::string reason = "ratelimit_" + name;
    if (reject)
        return Verdict::reject("5.7.1", "rate limit " + name + " exceeded", reason);
    const std::int64_t seconds = std::max<std::int64_t>(1, (retry_after_ms + 999) / 1000);
    return Verdict::tempfail(
        "4.7.1", "rate limit " + name + " exceeded, try again in " + std::to_string(seconds) + " s",
        reason);
}

Verdict rate_limit_unreachable_verdict(std::string_view limit_name, std::int64_t cost,
                                       std::int64_t burst) {
    const std::string name = smtp_safe_text(limit_name, 32);
    return Verdict::reject("5.5.3",
                           "too many recipients for rate limit " + name + ": " +
                               std::to_string(cost) + ", it allows at most " +
                               std::to_string(burst) + " at once",
                           "ratelimit_" + name);
}

Verdict state_error_verdict(const DecisionPolicy& policy) {
    if (policy.on_state_error != Action::tempfail)
        return ours(Verdict::accept("state_error"));
    return ours(Verdict::tempfail(
        "4.3.0", "temporary problem with the rate-limit store, try again later", "state_error"));
}

std::string smtp_safe_text(std::string_view text, std::size_t max_bytes) {
    std::string safe;
    safe.reserve(std::min(text.size(), max_bytes));
    for (char c : text) {
        if (safe.size() >= max_bytes)
            break;
        const bool space = c == ' ' || c == '\t' || c == '\r' || c == '\n';
        if (space) {
            if (!safe.empty() && safe.back() != ' ')
                safe += ' ';
        } else {
            safe += (c > ' ' && c < 0x7f) ? c : '?';
        }
    }
    while (!safe.empty() && safe.back() == ' ')
        safe.pop_back();
    return safe;
}

} // namespace mailwarden::engine
