// See policy_request_target.hh.
#include "policy_request_target.hh"

#include "policy/request.hh"

#include <cstdlib>

namespace mailwarden::fuzz {

std::size_t policy_request_one(std::string_view input) {
    // The first byte picks the chunk size (1..256), so one input covers many splits.
    const std::size_t chunk = input.empty() ? 1 : 1 + static_cast<unsigned char>(input[0]);
    policy::RequestParser parser;
    std::size_t complete = 0;
    while (!input.empty()) {
        std::string_view piece = input.substr(0, chunk);
        input.remove_prefix(piece.size());
        while (!piece.empty()) {
            policy::PolicyRequest request;
            std::string error;
            const auto status = parser.feed(piece, &request, &error);
            if (parser.pending_bytes() > policy::max_line_bytes)
                std::abort();
            if (status == policy::RequestParser::Status::error)
                return complete;
            if (status == policy::RequestParser::Status::complete) {
                ++complete;
                for (const auto& [name, value] : request.attributes)
                    if (value.find('\n') != std::string::npos ||
                        name.find('\n') != std::string::npos)
                        std::abort();
                (void)policy::format_reply(request.get("recipient"));
            }
        }
    }
    return complete;
}

} // namespace mailwarden::fuzz
