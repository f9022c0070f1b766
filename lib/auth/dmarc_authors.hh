// DMARC for a From with several author domains (RFC 9989 §5.3.1, §11.5): which domains to
// evaluate and which of their results speaks for the message. RFC 9989 leaves such messages
// out of DMARC ("validation is not possible") but lets a receiver go on with it; its §11.5,
// after RFC 7489 §6.6.1, recommends evaluating each author domain and applying the strictest
// policy among the checks that fail, with a bound on the number of domains (an unbounded list
// is a denial of service). Pure functions; never throw except std::bad_alloc.
//
// Decisions:
//   - At most max_author_domains distinct domains are evaluated; with more, none is (the
//     evaluation would be incomplete, §11.5): the message's result is permerror.
//   - The result that speaks for the message is the strictest one, in this order:
//       1 fail with disposition reject (nothing can be stricter);
//       2 temperror that may hide a refusal (no aligned pass, policy reject or unknown):
//         §5.3.6 makes it neither pass nor fail, and the policy it hides may be stricter than
//         any fail below, so the receiver's DNS-error handling decides (as for one domain);
//       3 fail with disposition quarantine, 4 fail with disposition none (§11.5: the
//         strictest policy among the checks that fail);
//       5 any other temperror, 6 permerror, 7 none, 8 pass: pass only when every author
//         domain passes, since our header must not call the From authenticated for a
//         domain that is not.
//     Ties go to the first domain in From order.
#pragma once

#include "auth/dmarc.hh"

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mailwarden::auth {

inline constexpr std::size_t max_author_domains = 5; // distinct author domains evaluated

// The distinct domains (compared without regard to ASCII case) in first-seen order.
std::vector<std::string_view> distinct_author_domains(std::span<const std::string> domains);

// Our DNS trouble may hide a policy that refuses the message: a temperror without an aligned
// pass, whose policy is reject or could not be read ("").
bool dmarc_temperror_may_hide_a_refusal(std::string_view result, bool aligned,
                                        std::string_view policy);

// The index of the result that speaks for the message (order above); results is not empty.
std::size_t strictest_dmarc_result(std::span<const DmarcResult> results);

// The message's result when it has more than max_author_domains author domains.
DmarcResult too_many_author_domains(std::size_t count);

} // namespace mailwarden::auth
