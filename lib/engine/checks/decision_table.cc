// The decision table (engine/decision.hh) as the engine asks it: at MAIL over what SPF found
// (rows 1-2b), at the end of the message over every authentication result in the Report
// (all rows). It runs after the checks that authenticate and before those that act on its
// verdict (lists, rate limits, reputation), so that a refusal at MAIL counts no rate and a
// refused message moves reputation. Parameters read: the actions of DecisionPolicy. Always
// on; never throws.
#include "engine/checks/checks.hh"

namespace mailwarden::engine::checks {

namespace {

EnvelopeFacts envelope_facts(const Report& report) {
    EnvelopeFacts facts;
    facts.outbound = report.outbound;
    if (!report.outbound && report.spf_mailfrom) {
        facts.spf_result = report.spf_mailfrom->result;
        facts.spf_domain = report.spf_mailfrom->domain;
        facts.spf_explanation = report.spf_mailfrom->explanation;
    }
    return facts;
}

MessageFacts message_facts(const Report& report) {
    MessageFacts facts;
    facts.envelope = envelope_facts(report);
    if (report.outbound)
        return facts;
    facts.from_problem = report.from.problem;
    // The author domain whose DMARC result speaks (the strictest of several).
    facts.from_domain = report.dmarc && !report.dmarc->from_domain.empty()
                            ? report.dmarc->from_domain
                            : report.from.domain;
    if (report.dmarc) {
        facts.dmarc_result = report.dmarc->result;
        facts.dmarc_disposition = report.dmarc->disposition;
        facts.dmarc_policy = report.dmarc->policy;
        facts.dmarc_aligned = report.dmarc->spf_aligned || report.dmarc->dkim_aligned;
        facts.failed_lookup = report.dmarc->failed_lookup;
    }
    // A DNS error softens a DMARC fail only where it could have changed it: for a domain
    // that could align with the From domain (issue 13 item 8).
    facts.auth_temperror = report.dmarc && report.dmarc->temperror_could_align;
    return facts;
}

class DecisionTable final : public Check {
public:
    explicit DecisionTable(const DecisionPolicy& policy)
        : Check("decision", hooks_of(Hook::mail, Hook::end_of_message)), policy_(policy) {}

    void mail(Stage& stage) const override {
        stage.propose(decide_envelope(policy_, envelope_facts(stage.report())));
    }

    void end_of_message(Stage& stage) const override {
        stage.propose(decide_message(policy_, message_facts(stage.report())));
    }

private:
    DecisionPolicy policy_;
};

} // namespace

std::unique_ptr<const Check> decision_table(const CheckContext& context) {
    return std::make_unique<DecisionTable>(context.policy);
}

} // namespace mailwarden::engine::checks
