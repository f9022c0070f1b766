// See gzip.hh.
#include "util/gzip.hh"

#include <zlib.h>

#include <memory>

namespace mailwarden::util {

namespace {

constexpr int gzip_window_bits = 15 + 16; // 16: a gzip header and trailer, not zlib's
constexpr std::size_t chunk = 64 * 1024;

} // namespace

std::string gzip_compress(std::string_view data) {
    z_stream stream{};
    if (deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, gzip_window_bits, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        return "";
    const std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&stream, deflateEnd);
    std::string out(deflateBound(&stream, static_cast<uLong>(data.size())), '\0');
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    stream.avail_in = static_cast<uInt>(data.size());
    stream.next_out = reinterpret_cast<Bytef*>(out.data());
    stream.avail_out = static_cast<uInt>(out.size());
    if (deflate(&stream, Z_FINISH) != Z_STREAM_END)
        return "";
    out.resize(stream.total_out);
    return out;
}

bool gzip_decompress(std::string_view data, std::string& out, std::size_t max_bytes) {
    out.clear();
    z_stream stream{};
    if (inflateInit2(&stream, gzip_window_bits) != Z_OK)
        return false;
    const std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&stream, inflateEnd);
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    stream.avail_in = static_cast<uInt>(data.size());
    std::string buffer(chunk, '\0');
    while (true) {
        stream.next_out = reinterpret_cast<Bytef*>(buffer.data());
        stream.avail_out = static_cast<uInt>(buffer.size());
        const int rc = inflate(&stream, Z_NO_FLUSH);
        out.append(buffer.data(), buffer.size() - stream.avail_out);
        if (out.size() > max_bytes)
            return false;
        if (rc == Z_STREAM_END)
            return stream.avail_in == 0;
        if (rc != Z_OK)
            return false;
    }
}

} // namespace mailwarden::util
