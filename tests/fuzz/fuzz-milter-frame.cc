// libFuzzer driver for the milter protocol server's reading (see milter_frame_target.hh):
//   ./configure CXX=clang++ --enable-fuzz-targets && make tests/fuzz/fuzz-milter-frame
//   tests/fuzz/fuzz-milter-frame -dict=$srcdir/tests/fuzz/milter-frame.dict -max_total_time=600 \
//       corpus-copy/ $srcdir/tests/fuzz/corpus/milter-frame/
#include "milter_frame_target.hh"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    (void)mailwarden::fuzz::milter_frame_one(
        std::string_view(reinterpret_cast<const char*>(data), size));
    return 0;
}
