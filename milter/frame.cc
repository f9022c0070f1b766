// See frame.hh.
#include "milter/frame.hh"

#include <algorithm>
#include <cstring>

namespace mailwarden::milter {

namespace {

constexpr std::size_t length_bytes = 4;
// What the buffer keeps between frames; it grows for a larger frame and shrinks back after.
constexpr std::size_t resting_capacity = 128 * 1024;

} // namespace

FrameReader::FrameReader(std::size_t max_frame) : max_frame_(max_frame) {}

void FrameReader::resize(std::size_t size) {
    auto bigger = std::make_unique_for_overwrite<char[]>(size);
    if (end_ > 0)
        std::memcpy(bigger.get(), buffer_.get(), end_);
    buffer_ = std::move(bigger);
    size_ = size;
}

std::span<char> FrameReader::input_space(std::size_t wanted) {
    if (begin_ == end_)
        begin_ = end_ = 0;
    else if (begin_ > 0) { // frames handed out before are no longer in use
        std::memmove(buffer_.get(), buffer_.get() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
    }
    // At most a whole frame of room at a time: the buffer stays under twice the limit.
    wanted = std::min(wanted, max_frame_ + length_bytes);
    if (size_ > resting_capacity && end_ + wanted <= resting_capacity)
        resize(resting_capacity); // a large frame has passed
    if (size_ < end_ + wanted)
        resize(std::max(end_ + wanted, std::min(2 * size_, max_frame_ + wanted)));
    return {buffer_.get() + end_, size_ - end_};
}

void FrameReader::commit(std::size_t received) {
    end_ = std::min(end_ + received, size_);
}

void FrameReader::reset() {
    begin_ = end_ = 0;
    failed_ = false;
    if (size_ > resting_capacity)
        resize(resting_capacity);
}

void FrameReader::append(std::string_view bytes) {
    while (!bytes.empty()) {
        const std::span<char> space = input_space(bytes.size());
        const std::size_t count = std::min(space.size(), bytes.size());
        std::memcpy(space.data(), bytes.data(), count);
        commit(count);
        bytes.remove_prefix(count);
    }
}

FrameReader::Status FrameReader::next(Frame& frame, std::string* error) {
    if (failed_)
        return Status::error;
    if (end_ - begin_ < length_bytes)
        return Status::need_more;
    const std::size_t length = read_u32(std::string_view(buffer_.get() + begin_, length_bytes));
    if (length == 0 || length > max_frame_) {
        failed_ = true;
        if (error != nullptr)
            *error = length == 0 ? "a packet of length 0"
                                 : "a packet of " + std::to_string(length) +
                                       " octets (the limit is " + std::to_string(max_frame_) + ")";
        return Status::error;
    }
    if (end_ - begin_ < length_bytes + length)
        return Status::need_more;
    const char* start = buffer_.get() + begin_ + length_bytes;
    frame.command = start[0];
    frame.data = std::string_view(start + 1, length - 1);
    begin_ += length_bytes + length;
    return Status::frame;
}

void append_u32(std::string& out, std::uint32_t value) {
    const char bytes[4] = {static_cast<char>(value >> 24), static_cast<char>(value >> 16),
                           static_cast<char>(value >> 8), static_cast<char>(value)};
    out.append(bytes, sizeof bytes);
}

std::uint32_t read_u32(std::string_view data) {
    const auto octet = [&](std::size_t i) {
        return static_cast<std::uint32_t>(static_cast<unsigned char>(data[i]));
    };
    return octet(0) << 24 | octet(1) << 16 | octet(2) << 8 | octet(3);
}

void append_frame(std::string& out, char command, std::string_view data) {
    append_u32(out, static_cast<std::uint32_t>(data.size() + 1));
    out += command;
    out.append(data);
}

bool split_strings(std::string_view data, std::vector<std::string_view>& strings) {
    strings.clear();
    if (data.empty() || data.back() != '\0')
        return false;
    while (!data.empty()) {
        const std::size_t end = data.find('\0');
        strings.push_back(data.substr(0, end));
        data.remove_prefix(end + 1);
    }
    return true;
}

} // namespace mailwarden::milter
