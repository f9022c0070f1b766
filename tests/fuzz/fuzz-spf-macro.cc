// libFuzzer driver for the SPF target (see spf_macro_target.hh). Built with
//   ./configure CXX=clang++ --enable-fuzz-targets && make tests/fuzz/fuzz-spf-macro
//   tests/fuzz/fuzz-spf-macro -dict=$srcdir/tests/fuzz/spf-macro.dict \
//       -max_total_time=600 corpus-copy/ $srcdir/tests/fuzz/corpus/spf-macro/
#include "spf_macro_target.hh"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    (void)mailwarden::fuzz::spf_macro_one(
        std::string_view(reinterpret_cast<const char*>(data), size));
    return 0;
}
