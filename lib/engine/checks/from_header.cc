// The author of the message: the From header fields, kept (at most max_from_headers_kept) as
// they arrive and parsed at the end of the message into Report::from. Always on: DMARC, the
// explanation and the log read it. Reads no parameter; never throws for any header.
#include "engine/checks/checks.hh"

#include "auth/header_from.hh"
#include "util/ascii.hh"

#include <algorithm>

namespace mailwarden::engine::checks {

namespace {

struct Authors final : CheckState {
    std::vector<std::string> values; // the first max_from_headers_kept
    std::size_t seen = 0;
};

// RFC 7489 §6.6.1: several author addresses may be evaluated when they share one domain.
void accept_single_author_domain(auth::HeaderFrom& from) {
    if (from.problem != auth::FromProblem::multiple_addresses || from.domains.empty())
        return;
    if (std::ranges::all_of(from.domains, [&](const std::string& domain) {
            return util::equal_ignoring_ascii_case(domain, from.domains.front());
        }))
        from.problem = auth::FromProblem::none;
}

class FromHeader final : public Check {
public:
    FromHeader()
        : Check("from", hooks_of(Hook::header, Hook::end_of_message), Direction::both, {"From"}) {}

    void header(Stage& stage, std::string_view, std::string_view value) const override {
        Authors& authors = stage.state<Authors>();
        if (++authors.seen <= max_from_headers_kept)
            authors.values.emplace_back(value);
    }

    void end_of_message(Stage& stage) const override {
        const Authors* authors = stage.find_state<Authors>();
        std::vector<std::string_view> values;
        if (authors != nullptr)
            values.assign(authors->values.begin(), authors->values.end());
        auth::HeaderFrom& from = stage.report().from;
        from = auth::parse_header_from(values);
        if (authors != nullptr && authors->seen > max_from_headers_kept) {
            from.problem = auth::FromProblem::multiple_headers;
            from.domains.clear(); // not every author is known: DMARC cannot evaluate each one
        }
        accept_single_author_domain(from);
    }
};

} // namespace

std::unique_ptr<const Check> from_header(const CheckContext&) {
    return std::make_unique<FromHeader>();
}

} // namespace mailwarden::engine::checks
