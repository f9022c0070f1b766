// See milter_frame_target.hh.
#include "milter_frame_target.hh"

#include "config/config.hh"
#include "dns/fake_resolver.hh"
#include "engine/engine_holder.hh"
#include "milter/dispatch.hh"
#include "milter/frame.hh"

#include <cstdlib>
#include <memory>

namespace mailwarden::fuzz {

namespace {

const engine::EngineHolder& engines() {
    static const auto holder = std::make_unique<engine::EngineHolder>(
        config::parse_config_text("[general]\nauthserv_id = mx.test\ninternal_networks =\n"
                                  "log_level = error\n",
                                  "fuzz.conf")
            .config,
        std::make_shared<dns::FakeResolver>(
            dns::FakeResolver::from_text("example.test TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
                                         "_dmarc.example.test TXT \"v=DMARC1; p=reject\"\n")),
        nullptr);
    return *holder;
}

// The answers must be whole frames.
void check_output(std::string_view output) {
    milter::FrameReader reader;
    reader.append(output);
    milter::Frame frame;
    while (reader.next(frame) == milter::FrameReader::Status::frame) {
    }
    if (reader.pending() != 0)
        std::abort();
}

} // namespace

std::size_t milter_frame_one(std::string_view input) {
    // The first byte picks the piece size (1..256), so one input covers many splits; the
    // connection's bytes follow.
    if (input.empty())
        return 0;
    const std::size_t piece_size = 1 + static_cast<unsigned char>(input[0]);
    input.remove_prefix(1);
    milter::FrameReader reader;
    milter::Dispatcher dispatcher(engines());
    std::size_t frames = 0;
    while (!input.empty()) {
        const std::string_view piece = input.substr(0, piece_size);
        input.remove_prefix(piece.size());
        reader.append(piece);
        if (reader.capacity() > 2 * (milter::max_frame_bytes + 4))
            std::abort();
        milter::Frame frame;
        milter::FrameReader::Status status;
        while ((status = reader.next(frame)) == milter::FrameReader::Status::frame) {
            ++frames;
            const bool carry_on = dispatcher.handle(frame);
            check_output(dispatcher.output());
            dispatcher.output().clear();
            if (!carry_on)
                return frames;
        }
        if (status == milter::FrameReader::Status::error)
            return frames;
    }
    return frames;
}

} // namespace mailwarden::fuzz
