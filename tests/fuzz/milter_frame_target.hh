// Fuzz target for the milter protocol as the server reads it (milter/frame.hh, dispatch.hh):
// the rest of the input after its first byte is cut into pieces of a size taken from that byte,
// fed to a FrameReader as a connection would deliver it, and every frame goes to a Dispatcher whose
// engine answers DNS from a small zone in memory and keeps no state, as far as the Dispatcher takes
// commands. Checks, beyond "no crash": the reader's buffer stays bounded, and what the Dispatcher
// answers is whole frames. Returns the number of frames handled.
#pragma once

#include <cstddef>
#include <string_view>

namespace mailwarden::fuzz {

std::size_t milter_frame_one(std::string_view input);

} // namespace mailwarden::fuzz
