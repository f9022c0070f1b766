// See redis_report.hh.
#include "state/redis_report.hh"

#include <charconv>

namespace mailwarden::state {

namespace {

std::string text(std::int64_t value) {
    return std::to_string(value);
}

std::string_view step_name(ReportClaim::Step step) {
    switch (step) {
    case ReportClaim::Step::sending:
        return "sending";
    case ReportClaim::Step::sent:
        return "sent";
    case ReportClaim::Step::release:
        return "release";
    default:
        return "claim";
    }
}

std::optional<std::int64_t> integer(const redisReply& reply, std::int64_t min, std::int64_t max) {
    if (reply.type != REDIS_REPLY_INTEGER || reply.integer < min || reply.integer > max)
        return std::nullopt;
    return reply.integer;
}

std::optional<std::int64_t> decimal(const redisReply* reply) {
    std::int64_t value = 0;
    if (reply == nullptr || reply->type != REDIS_REPLY_STRING ||
        std::from_chars(reply->str, reply->str + reply->len, value).ec != std::errc())
        return std::nullopt;
    return value;
}

// The strings of an array reply, in groups of `group`; nullopt for anything else.
std::optional<std::vector<std::string>> strings(const redisReply& reply, std::size_t group) {
    if (reply.type != REDIS_REPLY_ARRAY || reply.elements % group != 0)
        return std::nullopt;
    std::vector<std::string> out;
    for (std::size_t i = 0; i < reply.elements; ++i) {
        const redisReply* element = reply.element[i];
        if (element == nullptr || element->type != REDIS_REPLY_STRING)
            return std::nullopt;
        out.emplace_back(element->str, element->len);
    }
    return out;
}

std::optional<ReportValue> value_of(const ReportOperation& operation, const redisReply& reply) {
    return std::visit(
        [&](const auto& op) -> std::optional<ReportValue> {
            using Op = std::decay_t<decltype(op)>;
            if constexpr (std::is_same_v<Op, ReportCount>) {
                const auto code = integer(reply, 0, 2);
                if (!code)
                    return std::nullopt;
                return static_cast<ReportCountOutcome>(*code);
            } else if constexpr (std::is_same_v<Op, ReportDomains>) {
                if (!strings(reply, 3))
                    return std::nullopt;
                std::vector<ReportDomainEntry> out;
                for (std::size_t i = 0; i < reply.elements; i += 3) {
                    const auto rows = decimal(reply.element[i + 2]);
                    if (!rows)
                        return std::nullopt;
                    out.push_back(
                        {std::string(reply.element[i]->str, reply.element[i]->len),
                         std::string(reply.element[i + 1]->str, reply.element[i + 1]->len), *rows});
                }
                return out;
            } else if constexpr (std::is_same_v<Op, ReportRows>) {
                if (!strings(reply, 2))
                    return std::nullopt;
                std::vector<ReportRowEntry> out;
                for (std::size_t i = 0; i < reply.elements; i += 2) {
                    const auto count = decimal(reply.element[i + 1]);
                    if (!count)
                        return std::nullopt;
                    out.push_back(
                        {std::string(reply.element[i]->str, reply.element[i]->len), *count});
                }
                return out;
            } else if constexpr (std::is_same_v<Op, ReportClaim>) {
                const auto code = integer(reply, 0, 4);
                if (!code)
                    return std::nullopt;
                return static_cast<ClaimOutcome>(*code);
            } else if constexpr (std::is_same_v<Op, FailureQueue>) {
                const auto code = integer(reply, 0, 2);
                if (!code)
                    return std::nullopt;
                return static_cast<FailureQueueOutcome>(*code);
            } else {
                auto reports = strings(reply, 1);
                if (!reports)
                    return std::nullopt;
                return std::move(*reports);
            }
        },
        operation.operation);
}

} // namespace

ReportCall report_call(const ReportOperation& operation, Millis now) {
    ReportCall call;
    call.keys = report_keys(operation, now);
    std::visit(
        [&](const auto& op) {
            using Op = std::decay_t<decltype(op)>;
            if constexpr (std::is_same_v<Op, ReportCount>) {
                call.script = "report_count";
                call.arguments = {text(now),
                                  text(op.expires_at),
                                  report_hash(op.domain),
                                  op.domain,
                                  op.policy,
                                  op.row,
                                  text(op.max_domain_rows),
                                  text(op.max_interval_rows)};
            } else if constexpr (std::is_same_v<Op, ReportDomains>) {
                call.script = "report_domains";
                call.arguments = {text(now)};
            } else if constexpr (std::is_same_v<Op, ReportRows>) {
                call.script = "report_rows";
                call.arguments = {text(now)};
            } else if constexpr (std::is_same_v<Op, ReportClaim>) {
                call.script = "report_claim";
                call.arguments = {text(now),
                                  report_hash(op.domain),
                                  op.owner.empty() ? "-" : op.owner,
                                  std::string(step_name(op.step)),
                                  text(op.lease),
                                  text(op.expires_at)};
            } else if constexpr (std::is_same_v<Op, FailureQueue>) {
                call.script = "failure_queue";
                call.arguments = {text(now), op.report, text(op.per_hour), text(op.max_queued),
                                  text(op.expires_at)};
            } else {
                call.script = "failure_take";
                call.arguments = {text(now), text(op.max)};
            }
        },
        operation.operation);
    return call;
}

std::optional<Outcome> report_outcome(const ReportOperation& operation, const redisReply& reply) {
    auto value = value_of(operation, reply);
    if (!value)
        return std::nullopt;
    return ReportOutcome{std::move(*value)};
}

} // namespace mailwarden::state
