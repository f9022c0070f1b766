// See report_ops.hh.
#include "state/report_ops.hh"

#include "util/digest.hh"

#include <charconv>

namespace mailwarden::state {

namespace {

constexpr Millis hour = 3'600'000;

std::string interval_name(Millis interval) {
    return std::to_string(interval / 1000);
}

std::optional<Millis> number(std::string_view text) {
    Millis value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || text.empty())
        return std::nullopt;
    return value;
}

struct ClaimState {
    std::string_view state, owner;
    Millis at = 0; // claimed: the lease's end; sending, sent: when
};

// "claimed OWNER UNTIL", "sending OWNER AT", "sent AT"; nullopt for anything else.
std::optional<ClaimState> parse_claim(std::string_view text) {
    const std::size_t first = text.find(' ');
    if (first == std::string_view::npos)
        return std::nullopt;
    ClaimState claim{text.substr(0, first), "", 0};
    std::string_view rest = text.substr(first + 1);
    if (claim.state != "sent") {
        const std::size_t second = rest.find(' ');
        if (second == std::string_view::npos ||
            (claim.state != "claimed" && claim.state != "sending"))
            return std::nullopt;
        claim.owner = rest.substr(0, second);
        rest = rest.substr(second + 1);
    }
    const auto at = number(rest);
    if (!at)
        return std::nullopt;
    claim.at = *at;
    return claim;
}

} // namespace

std::string report_hash(std::string_view text) {
    return util::hex_digest(util::DigestKind::sha256, text, 16);
}

std::vector<std::string> report_keys(const ReportOperation& operation, Millis now) {
    return std::visit(
        [&](const auto& op) -> std::vector<std::string> {
            using Op = std::decay_t<decltype(op)>;
            if constexpr (std::is_same_v<Op, ReportCount>) {
                const std::string interval = interval_name(op.interval);
                return {"dmarc:n:" + interval, "dmarc:d:" + interval,
                        "dmarc:r:" + interval + ":" + report_hash(op.domain)};
            } else if constexpr (std::is_same_v<Op, ReportDomains>) {
                const std::string interval = interval_name(op.interval);
                return {"dmarc:n:" + interval, "dmarc:d:" + interval};
            } else if constexpr (std::is_same_v<Op, ReportRows>) {
                return {"dmarc:r:" + interval_name(op.interval) + ":" + report_hash(op.domain)};
            } else if constexpr (std::is_same_v<Op, ReportClaim>) {
                return {"dmarc:c:" + interval_name(op.interval)};
            } else if constexpr (std::is_same_v<Op, FailureQueue>) {
                return {"dmarc:fq",
                        "dmarc:fr:" + std::to_string(now / hour) + ":" + report_hash(op.domain)};
            } else {
                static_assert(std::is_same_v<Op, FailureTake>);
                return {"dmarc:fq"};
            }
        },
        operation.operation);
}

ClaimApplied apply_claim(const ReportClaim& claim, const std::optional<std::string_view>& stored,
                         Millis now) {
    const std::optional<ClaimState> parsed = stored ? parse_claim(*stored) : std::nullopt;
    const ClaimState current = parsed.value_or(ClaimState{});
    const bool claimed = current.state == "claimed", sending = current.state == "sending";
    const bool mine = (claimed || sending) && current.owner == claim.owner;
    const bool held_by_another = claimed && !mine && current.at > now;
    const std::string owner = claim.owner.empty() ? "-" : claim.owner;
    if (current.state == "sent")
        return {claim.step == ReportClaim::Step::claim || claim.step == ReportClaim::Step::sending
                    ? ClaimOutcome::sent
                    : ClaimOutcome::lost,
                std::nullopt};
    switch (claim.step) {
    case ReportClaim::Step::claim:
        if (sending)
            return {ClaimOutcome::sending, std::nullopt};
        if (held_by_another)
            return {ClaimOutcome::busy, std::nullopt};
        return {ClaimOutcome::claimed,
                "claimed " + owner + " " + std::to_string(now + claim.lease)};
    case ReportClaim::Step::sending:
        if (claimed && mine && current.at > now)
            return {ClaimOutcome::claimed, "sending " + owner + " " + std::to_string(now)};
        if (sending)
            return {ClaimOutcome::sending, std::nullopt};
        return {held_by_another ? ClaimOutcome::busy : ClaimOutcome::lost, std::nullopt};
    case ReportClaim::Step::sent:
        if (mine)
            return {ClaimOutcome::sent, "sent " + std::to_string(now)};
        return {ClaimOutcome::lost, std::nullopt};
    case ReportClaim::Step::release:
        if (mine)
            return {ClaimOutcome::claimed, std::string()};
        return {ClaimOutcome::lost, std::nullopt};
    }
    return {};
}

} // namespace mailwarden::state
