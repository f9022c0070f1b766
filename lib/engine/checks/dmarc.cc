// DMARC (auth/dmarc.hh) for inbound mail at the end of the message: the From domain's policy
// and the alignment of what SPF (MAIL FROM only, never HELO: CVE-2019-20790) and DKIM found,
// into Report::dmarc. Not evaluated when the From header has no single author domain (the
// decision table's from_header_action applies). The verdict is the decision table's. Reads
// public_suffix_list (through the Engine); always on; never throws for any message.
#include "engine/checks/checks.hh"

#include "auth/dmarc.hh"

namespace mailwarden::engine::checks {

namespace {

class Dmarc final : public Check {
public:
    explicit Dmarc(const CheckContext& context)
        : Check("dmarc", hooks_of(Hook::end_of_message), Direction::inbound),
          evaluator_(context.resolver, context.public_suffixes) {}

    void end_of_message(Stage& stage) const override {
        Report& report = stage.report();
        if (report.from.problem != auth::FromProblem::none)
            return;
        auth::DmarcInput input;
        input.from_domain = report.from.domain;
        if (report.spf_mailfrom) {
            input.spf_mailfrom_result = report.spf_mailfrom->result;
            input.spf_mailfrom_domain = report.spf_mailfrom->domain;
        }
        for (const auto& signature : report.dkim)
            input.dkim.push_back({signature.result, signature.domain});
        report.dmarc = evaluator_.evaluate(input);
    }

private:
    auth::DmarcEvaluator evaluator_;
};

} // namespace

std::unique_ptr<const Check> dmarc(const CheckContext& context) {
    return std::make_unique<Dmarc>(context);
}

} // namespace mailwarden::engine::checks
