// Reputation (engine/reputation.hh): at MAIL the client's address and network records are
// read when a score may refuse (reputation_tempfail_below, reputation_reject_below), at the
// end of an inbound message they move: good for a DMARC pass, bad for a DMARC fail or a
// refusal (unless allow_domains holds the authenticated domain), and the authenticated
// domain's record with them. Both are operations of the stage's state batch. Clients in
// allow_networks are never refused. Report::reputation: "+0.80", "new", "error". Off
// without a state store. Never throws.
#include "engine/checks/checks.hh"

#include "engine/reputation.hh"
#include "engine/state_keys.hh"

#include <cstdio>

namespace mailwarden::engine::checks {

namespace {

class ReputationCheck final : public Check {
public:
    explicit ReputationCheck(ReputationPolicy policy)
        : Check("rep", hooks_of(Hook::mail, Hook::end_of_message), Direction::inbound),
          policy_(policy) {}

    void prepare(Report& blank) const override { blank.reputation = "new"; }

    void mail(Stage& stage) const override {
        const Report& report = stage.report();
        if (!report.client_allow_listed && policy_.refuses())
            add_client_changes(stage, 0, 0); // a read: nothing moves
    }

    void end_of_message(Stage& stage) const override {
        const Report& report = stage.report();
        const Verdict& verdict = stage.verdict();
        const bool refused = verdict.is_final() || verdict.action == Action::quarantine;
        const bool dmarc_pass = report.dmarc && report.dmarc->result == "pass";
        const bool good = dmarc_pass && !refused;
        const bool bad = (refused || (report.dmarc && report.dmarc->result == "fail")) &&
                         !report.domain_allow_listed;
        if (!good && !bad)
            return;
        add_client_changes(stage, good ? 1 : 0, bad ? 1 : 0);
        if (const std::string domain = report.authenticated_domain(); !domain.empty())
            stage.add_state(state::ReputationChange{.key = reputation_domain_key(domain),
                                                    .good = good ? 1.0 : 0.0,
                                                    .bad = bad ? 1.0 : 0.0,
                                                    .half_life = policy_.half_life});
    }

    void state_answered(Stage& stage, const StateAnswer& answer) const override {
        if (!answer.ok) {
            stage.report().reputation = "error";
            return;
        }
        std::vector<state::Reputation> values; // client address, then network
        for (const auto& outcome : answer.outcomes)
            if (const auto* value = std::get_if<state::Reputation>(&outcome))
                values.push_back(*value);
        if (values.empty())
            return;
        note(stage.report(), values.front());
        if (stage.hook() == Hook::mail)
            if (auto refused = policy_.verdict(values.front(),
                                               values.size() > 1 ? values[1] : state::Reputation{}))
                stage.propose(std::move(*refused));
    }

private:
    // The client's address and network records, read (or moved by good and bad).
    void add_client_changes(Stage& stage, double good, double bad) const {
        const std::string& client_ip = stage.connection().client_ip;
        for (std::string key : {reputation_ip_key(client_ip), reputation_net_key(client_ip)})
            if (!key.empty())
                stage.add_state(state::ReputationChange{.key = std::move(key),
                                                        .good = good,
                                                        .bad = bad,
                                                        .half_life = policy_.half_life});
    }

    void note(Report& report, const state::Reputation& client) const {
        const auto score = reputation_score(client, policy_.min_messages);
        char text[16];
        if (score)
            std::snprintf(text, sizeof text, "%+.2f", *score / 100.0);
        report.reputation = score ? text : "new";
    }

    ReputationPolicy policy_;
};

} // namespace

std::unique_ptr<const Check> reputation(const CheckContext& context) {
    if (!context.store)
        return nullptr;
    return std::make_unique<ReputationCheck>(ReputationPolicy::from_config(context.config));
}

} // namespace mailwarden::engine::checks
