// libFuzzer driver for the policy protocol parser (see policy_request_target.hh). Built with
//   ./configure CXX=clang++ --enable-fuzz-targets && make tests/fuzz/fuzz-policy-request
//   tests/fuzz/fuzz-policy-request -max_total_time=600 corpus-copy/ \
//       $srcdir/tests/fuzz/corpus/policy-request/
#include "policy_request_target.hh"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    (void)mailwarden::fuzz::policy_request_one(
        std::string_view(reinterpret_cast<const char*>(data), size));
    return 0;
}
