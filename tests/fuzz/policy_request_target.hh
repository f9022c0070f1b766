// Fuzz target for the policy protocol parser (policy/request.hh): the input is split into
// chunks at points taken from its first bytes, fed to one RequestParser as a connection
// would deliver it, and every reply is formatted. Checks, beyond "no crash": the parser
// never holds more than max_line_bytes of a line, and a complete request holds no attribute
// value with a newline. Returns the number of complete requests.
#pragma once

#include <cstddef>
#include <string_view>

namespace mailwarden::fuzz {

std::size_t policy_request_one(std::string_view input);

} // namespace mailwarden::fuzz
