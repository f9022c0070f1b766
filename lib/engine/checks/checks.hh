// The factories of the engine's checks, one module each in this directory. A factory returns
// nullptr when its check is off in this configuration (no parameter asks for it, or the
// state store it needs is missing): an absent check costs nothing. The order they run in is
// check_list.cc's.
#pragma once

#include "engine/check.hh"

#include <memory>

namespace mailwarden::engine::checks {

std::unique_ptr<const Check> from_header(const CheckContext& context);
std::unique_ptr<const Check> network_lists(const CheckContext& context);
std::unique_ptr<const Check> spf(const CheckContext& context);
std::unique_ptr<const Check> dkim_verify(const CheckContext& context);
std::unique_ptr<const Check> dmarc(const CheckContext& context);
std::unique_ptr<const Check> decision_table(const CheckContext& context);
std::unique_ptr<const Check> domain_lists(const CheckContext& context);
std::unique_ptr<const Check> rate_limits(const CheckContext& context);
std::unique_ptr<const Check> greylisting(const CheckContext& context);
std::unique_ptr<const Check> reputation(const CheckContext& context);
std::unique_ptr<const Check> authentication_results(const CheckContext& context);
std::unique_ptr<const Check> dkim_sign(const CheckContext& context);
std::unique_ptr<const Check> dmarc_report(const CheckContext& context);

} // namespace mailwarden::engine::checks
