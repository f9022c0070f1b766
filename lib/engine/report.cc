// Report rendering: the admin's one-sentence explanation, and the JSON and text forms that
// `mailwarden check` prints (fields in DESIGN.md, "The admin tool's contract").
#include "engine/report.hh"

#include "util/escape.hh"
#include "util/json.hh"

#include <algorithm>
#include <functional>

namespace mailwarden::engine {

namespace {

std::string_view scope_name(auth::SpfScope scope) {
    return scope == auth::SpfScope::helo ? "helo" : "mailfrom";
}

std::string spf_part(const Report& report) {
    if (!report.spf_mailfrom)
        return "SPF not evaluated";
    const auth::SpfResult& spf = *report.spf_mailfrom;
    std::string text = "SPF " + spf.result + " for " + (spf.domain.empty() ? "?" : spf.domain);
    if (spf.result == "pass" && report.dmarc)
        text += report.dmarc->spf_aligned ? " aligned" : " not aligned";
    return text;
}

std::string dkim_part(const Report& report) {
    if (report.dkim.empty())
        return "no DKIM signature";
    std::string text;
    for (const auto& signature : report.dkim) {
        if (!text.empty())
            text += ", ";
        text += "DKIM " + signature.result + " for " +
                (signature.domain.empty() ? "?" : signature.domain);
        if (signature.result == "pass" && report.dmarc)
            text +=
                report.dmarc->dkim_aligned && report.dmarc->aligned_dkim_domain == signature.domain
                    ? " aligned"
                    : " not aligned";
        else if (!signature.reason.empty())
            text += " (" + signature.reason + ")";
    }
    return text;
}

std::string spf_json(const std::optional<auth::SpfResult>& spf,
                     const std::optional<auth::SpfResult>& helo) {
    if (!spf)
        return "null";
    return util::JsonObject()
        .string("result", spf->result)
        .string("scope", scope_name(spf->scope))
        .string("domain", spf->domain)
        .string("identity", spf->identity)
        .string("explanation", spf->explanation)
        .string("reason", spf->reason)
        .string("helo_result", helo ? helo->result : "none")
        .finish();
}

std::string dkim_json(const std::vector<auth::DkimSignatureResult>& signatures) {
    std::string json = "[";
    for (const auto& signature : signatures) {
        if (json.size() > 1)
            json += ", ";
        json += util::JsonObject()
                    .string("result", signature.result)
                    .string("domain", signature.domain)
                    .string("selector", signature.selector)
                    .string("algorithm", signature.algorithm)
                    .number("bits", signature.key_bits)
                    .string("reason", signature.reason)
                    .finish();
    }
    return json + "]";
}

// Each author domain evaluated: the one, or, for a From with several, each of them.
std::string author_domains_json(const Report& report) {
    std::string json = "[";
    const auto add = [&](const auth::DmarcResult& dmarc) {
        if (json.size() > 1)
            json += ", ";
        json += util::JsonObject()
                    .string("domain", dmarc.from_domain)
                    .string("result", dmarc.result)
                    .string("policy", dmarc.policy)
                    .string("disposition", dmarc.disposition)
                    .finish();
    };
    for (const auto& dmarc : report.dmarc_authors)
        add(dmarc);
    if (report.dmarc_authors.empty() && !report.dmarc->from_domain.empty())
        add(*report.dmarc);
    return json + "]";
}

std::string dmarc_json(const Report& report) {
    const std::optional<auth::DmarcResult>& dmarc = report.dmarc;
    if (!dmarc)
        return "null";
    return util::JsonObject()
        .string("result", dmarc->result)
        .string("from_domain", dmarc->from_domain)
        .string("organizational_domain", dmarc->organizational_domain)
        .string("record_domain", dmarc->record_domain)
        .string("discovery_method", dmarc->discovery_method)
        .string("policy", dmarc->policy)
        .string("policy_tag", dmarc->policy_tag)
        .boolean("testing", dmarc->testing)
        .string("disposition", dmarc->disposition)
        .boolean("spf_aligned", dmarc->spf_aligned)
        .boolean("dkim_aligned", dmarc->dkim_aligned)
        .string("reason", dmarc->reason)
        .raw("author_domains", author_domains_json(report))
        .finish();
}

std::string verdict_json(const Verdict& verdict) {
    std::string removed = "[";
    for (const auto& removal : verdict.remove_headers) {
        if (removed.size() > 1)
            removed += ", ";
        removed += util::JsonObject()
                       .string("name", removal.name)
                       .number("index", static_cast<long long>(removal.index))
                       .finish();
    }
    return util::JsonObject()
        .string("action", verdict_action_name(verdict))
        .string("code", verdict.code)
        .string("status", verdict.status)
        .string("text", verdict.text)
        .string("reason", verdict.reason)
        .raw("remove_headers", removed + "]")
        .finish();
}

// {"spf": 0.412, ..., "state": 0.300, "total": 2.140}: milliseconds, in the Engine's order.
std::string timing_json(const Timing& timing) {
    util::JsonObject object;
    timing.for_each_check([&](const Timing::Entry& entry) {
        object.raw(entry.check, milliseconds_text(entry.nanoseconds, 3));
    });
    if (timing.state_round_trips() > 0)
        object.raw("state", milliseconds_text(timing.state_nanoseconds(), 3));
    if (timing.total_nanoseconds() > 0)
        object.raw("total", milliseconds_text(timing.total_nanoseconds(), 3));
    return object.finish();
}

// "spf 0.41 ms, dkim 1.20 ms, state 0.30 ms; 2.1 ms in all"
std::string timing_text(const Timing& timing) {
    std::string text;
    const auto add = [&text](std::string_view name, std::int64_t nanoseconds) {
        text += (text.empty() ? "" : ", ") + std::string(name) + " " +
                milliseconds_text(nanoseconds, 2) + " ms";
    };
    timing.for_each_check([&](const Timing::Entry& entry) { add(entry.check, entry.nanoseconds); });
    if (timing.state_round_trips() > 0)
        add("state", timing.state_nanoseconds());
    if (timing.total_nanoseconds() > 0)
        text += "; " + milliseconds_text(timing.total_nanoseconds(), 1) + " ms in all";
    return text;
}

void add_signing_fields(util::LogRecord& record, const Report& report) {
    if (report.signing == "off")
        return;
    record.kv("sign", report.signing);
    // d= as signed (the keys of one table line's domain: the parent's under
    // dkim_sign_subdomains), else the From domain whose keys were looked up.
    const std::string& domain =
        report.signatures.empty() ? report.signing_domain : report.signatures.front().domain;
    if (!domain.empty())
        record.kv("d", domain);
    std::string selectors;
    for (const auto& signature : report.signatures)
        selectors += (selectors.empty() ? "" : ",") + signature.selector;
    if (!selectors.empty())
        record.kv("s", selectors);
    if (!report.signing_error.empty())
        record.kv("sign_error", report.signing_error);
}

std::string signing_json(const Report& report) {
    std::string signatures = "[";
    for (const auto& signature : report.signatures) {
        if (signatures.size() > 1)
            signatures += ", ";
        signatures +=
            util::JsonObject()
                .string("domain", signature.domain)
                .string("selector", signature.selector)
                .string("algorithm", signature.algorithm)
                .string("header", std::string(auth::dkim_signature_field) + ": " + signature.value)
                .finish();
    }
    return util::JsonObject()
        .string("result", report.signing)
        .string("domain", report.signing_domain)
        .raw("signatures", signatures + "]")
        .string("error", report.signing_error)
        .finish();
}

void add_signing_lines(std::string& text, const Report& report,
                       const std::function<void(std::string_view, const std::string&)>& line) {
    if (report.signing == "off")
        return;
    std::string value = report.signing;
    if (!report.signing_domain.empty())
        value += " (From domain " + report.signing_domain + ")";
    if (!report.signing_error.empty())
        value += ": " + report.signing_error;
    line("Signing", value);
    for (const auto& signature : report.signatures) { // folded as the MTA will pass it on
        text += std::string(auth::dkim_signature_field) + ": ";
        for (std::size_t at = 0; at < signature.value.size();) {
            const std::size_t end =
                std::min(signature.value.find("\r\n", at), signature.value.size());
            text += util::escape_log_value(std::string_view(signature.value).substr(at, end - at),
                                           4000) +
                    "\n";
            at = end + 2;
        }
    }
}

} // namespace

std::string Report::explanation() const {
    if (outbound)
        return "outbound mail (SASL-authenticated or from internal_networks): not checked";
    const bool evaluated = dmarc && !dmarc->from_domain.empty();
    const std::string problem(auth::from_problem_name(from.problem));
    if (from.problem != auth::FromProblem::none && !evaluated)
        return "From header has no single author domain (" + problem + "), " + spf_part(*this) +
               ", " + dkim_part(*this);
    if (!evaluated)
        return spf_part(*this) + ", " + dkim_part(*this);
    std::string text = from.problem == auth::FromProblem::none
                           ? ""
                           : "From header has several author domains (" + problem + "), strictest ";
    text += "DMARC " + dmarc->result + ": From " + dmarc->from_domain;
    if (dmarc->result == "temperror")
        text += ", policy lookup failed (" + dmarc->reason + ")";
    else if (dmarc->policy.empty())
        text += ", no DMARC policy";
    else
        text += ", p=" + dmarc->policy;
    if (!dmarc->policy.empty() && dmarc->testing)
        text += " t=y (disposition " + dmarc->disposition + ")";
    return text + ", " + spf_part(*this) + ", " + dkim_part(*this);
}

std::string Report::authenticated_domain() const {
    if (!dmarc || dmarc->result != "pass")
        return "";
    if (dmarc->dkim_aligned)
        return dmarc->aligned_dkim_domain;
    return spf_mailfrom ? spf_mailfrom->domain : "";
}

std::string report_json(const Report& report) {
    std::string trusted = "[";
    for (const auto& value : report.trusted_authentication_results) {
        if (trusted.size() > 1)
            trusted += ", ";
        trusted += util::json_quote(value);
    }
    return util::JsonObject()
        .raw("spf", spf_json(report.spf_mailfrom, report.spf_helo))
        .raw("dkim", dkim_json(report.dkim))
        .number("dkim_not_evaluated", static_cast<long long>(report.dkim_not_evaluated))
        .raw("dmarc", dmarc_json(report))
        .raw("from", util::JsonObject()
                         .string("problem", auth::from_problem_name(report.from.problem))
                         .string("address", report.from.address)
                         .string("domain", report.from.domain)
                         .finish())
        .boolean("outbound", report.outbound)
        .string("rate", report.rate)
        .string("reputation", report.reputation)
        .string("greylist", report.greylist)
        .raw("signing", signing_json(report))
        .raw("verdict", verdict_json(report.verdict))
        .string("authentication_results", report.authentication_results)
        .raw("trusted_authentication_results", trusted + "]")
        .string("explanation", report.explanation())
        .raw("timing_ms", timing_json(report.timing))
        .finish();
}

std::string report_text(const Report& report) {
    std::string text;
    const auto line = [&](std::string_view label, const std::string& value) {
        text += label;
        text.append(label.size() < 10 ? 10 - label.size() : 1, ' ');
        text += util::escape_log_value(value, 4000); // no terminal escapes from mail
        text += '\n';
    };
    line("Summary", report.explanation());
    if (report.spf_mailfrom) {
        const auth::SpfResult& spf = *report.spf_mailfrom;
        std::string value =
            spf.result + " (" + std::string(scope_name(spf.scope)) + " " + spf.identity + ")";
        if (!spf.reason.empty())
            value += ": " + spf.reason;
        if (report.spf_helo)
            value += "; HELO " + report.spf_helo->result;
        line("SPF", value);
        if (!spf.explanation.empty())
            line("", "explanation: " + spf.explanation);
    }
    for (const auto& signature : report.dkim) {
        std::string value = signature.result + " d=" + signature.domain +
                            " s=" + signature.selector + " " + signature.algorithm;
        if (signature.key_bits != 0)
            value += " " + std::to_string(signature.key_bits) + " bits";
        if (!signature.reason.empty())
            value += ": " + signature.reason;
        line("DKIM", value);
    }
    if (report.dkim.empty() && !report.outbound)
        line("DKIM", "none (no signature)");
    if (report.dkim_not_evaluated > 0)
        line("DKIM", std::to_string(report.dkim_not_evaluated) +
                         " more signatures not evaluated (dkim_max_signatures)");
    if (report.dmarc)
        line("DMARC", report.dmarc->result + " (policy " +
                          (report.dmarc->policy.empty() ? "none published" : report.dmarc->policy) +
                          ", disposition " + report.dmarc->disposition + ")");
    if (report.rate != "off")
        line("Rate", report.rate);
    if (report.reputation != "off" && !report.outbound)
        line("Reputation", report.reputation);
    if (report.greylist != "off")
        line("Greylist", report.greylist);
    const Verdict& verdict = report.verdict;
    std::string decision = std::string(verdict_action_name(verdict));
    if (verdict.action != Action::accept || !verdict.text.empty())
        decision += " " + verdict.code + " " + verdict.status + " " + verdict.text;
    line("Verdict", decision + " [" + verdict.reason + "]");
    for (const auto& removal : verdict.remove_headers)
        line("Remove", removal.name + " #" + std::to_string(removal.index) + " (forged: ours)");
    if (const std::string timing = timing_text(report.timing); !timing.empty())
        line("Timing", timing);
    add_signing_lines(text, report, line);
    if (!report.authentication_results.empty())
        text += "Authentication-Results: " +
                util::escape_log_value(report.authentication_results, 4000) + "\n";
    return text;
}

void add_summary_fields(util::LogRecord& record, const Report& report) {
    if (report.outbound) {
        record.kv("outbound", true);
        add_signing_fields(record, report);
    } else {
        record.kv("spf", report.spf_mailfrom ? report.spf_mailfrom->result : "none");
        std::string dkim = report.dkim.empty() ? "none" : "";
        for (const auto& signature : report.dkim) {
            if (!dkim.empty())
                dkim += ',';
            dkim += signature.result + ":" + (signature.domain.empty() ? "?" : signature.domain);
        }
        record.kv("dkim", dkim);
        if (report.dkim_not_evaluated > 0)
            record.kv("dkim_not_evaluated", report.dkim_not_evaluated);
        record.kv("dmarc", report.dmarc                                     ? report.dmarc->result
                           : report.from.problem != auth::FromProblem::none ? "permerror"
                                                                            : "none");
    }
    record.kv("rate", report.rate);
    if (!report.outbound)
        record.kv("rep", report.reputation);
    if (report.greylist != "off")
        record.kv("grey", report.greylist);
    record.kv("action", verdict_action_name(report.verdict));
    record.kv("reason", report.verdict.reason);
}

} // namespace mailwarden::engine
