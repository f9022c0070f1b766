// DKIM body canonicalization (lib/auth/dkim_body) against RFC 6376 §3.4.3/§3.4.4 examples
// and against libopendkim's own canonicalizer: for hostile random bodies in random chunks,
// our body hash must equal the bh= that libopendkim's signer writes.
#include "auth/dkim_body.hh"
#include "auth/dkim_key.hh"
#include "dkim_test_signer.hh"

#include <boost/test/unit_test.hpp>

#include <openssl/sha.h>

#include <random>
#include <string>
#include <vector>

using mailwarden::auth::DkimBodyHash;
namespace dkim_test = mailwarden::dkim_test;

namespace {

std::string sha256(const std::string& text) {
    std::string digest(SHA256_DIGEST_LENGTH, '\0');
    SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(),
           reinterpret_cast<unsigned char*>(digest.data()));
    return digest;
}

std::string hash_in_chunks(DkimBodyHash::Canon canon, const std::string& body,
                           const std::vector<std::size_t>& cuts = {}) {
    DkimBodyHash hash(canon);
    std::size_t at = 0;
    for (const std::size_t cut : cuts) {
        if (cut > at && cut <= body.size()) {
            hash.update(std::string_view(body).substr(at, cut - at));
            at = cut;
        }
    }
    hash.update(std::string_view(body).substr(at));
    return hash.finish();
}

// The bh= libopendkim's signer computes for `body` with `canon`.
std::string libopendkim_body_hash(const std::string& body, dkim_canon_t canon) {
    dkim_test::Message message = dkim_test::sample_message();
    message.body = body;
    dkim_test::sign(message, {.key = &dkim_test::rsa_2048(), .selector = "s", .body_canon = canon});
    const auto tags = mailwarden::auth::parse_tag_list(message.headers.front().second);
    BOOST_REQUIRE(tags.has_value());
    return mailwarden::auth::decode_base64(tags->at("bh")).value();
}

// RFC 6376 §3.4.4 written the plain way, line by line (for bodies without bare CRs).
std::string reference_relaxed(const std::string& body) {
    std::vector<std::string> lines;
    std::size_t at = 0;
    while (at < body.size()) {
        const std::size_t end = body.find("\r\n", at);
        std::string line = body.substr(at, end == std::string::npos ? std::string::npos : end - at);
        at = end == std::string::npos ? body.size() : end + 2;
        std::string reduced;
        for (const char c : line) {
            const bool wsp = c == ' ' || c == '\t';
            if (!wsp)
                reduced += c;
            else if (reduced.empty() || reduced.back() != ' ')
                reduced += ' ';
        }
        while (!reduced.empty() && reduced.back() == ' ')
            reduced.pop_back();
        lines.push_back(reduced);
    }
    while (!lines.empty() && lines.back().empty())
        lines.pop_back();
    std::string out;
    for (const auto& line : lines)
        out += line + "\r\n";
    return out;
}

// The body with CR, LF and HTAB made visible, for failure messages.
std::string shown(const std::string& body) {
    std::string out;
    for (const char c : body)
        out += c == '\r' ? "\\r" : c == '\n' ? "\\n" : c == '\t' ? "\\t" : std::string(1, c);
    return out;
}

std::string random_body(std::mt19937& random) {
    static const std::vector<std::string> pieces{"a",    "word", " ",        "\t",    "  \t ",
                                                 "\r\n", "\r\n", "\r\n\r\n", ".",     "\xc3\xa9",
                                                 "\r",   "x\r",  " \r",      "\r\r\n"};
    std::string body;
    const std::size_t count = random() % 40;
    for (std::size_t i = 0; i < count; ++i)
        body += pieces[random() % pieces.size()];
    return body;
}

} // namespace

// libopendkim declares a C function dkim_body: the suite is named otherwise.
BOOST_AUTO_TEST_SUITE(dkim_body_canon)

BOOST_AUTO_TEST_CASE(simple_drops_trailing_empty_lines_and_ends_with_one_crlf) {
    using enum DkimBodyHash::Canon;
    BOOST_TEST(hash_in_chunks(simple, "") == sha256("\r\n"));
    BOOST_TEST(hash_in_chunks(simple, "\r\n\r\n") == sha256("\r\n"));
    BOOST_TEST(hash_in_chunks(simple, "a  b \r\n\r\n\r\n") == sha256("a  b \r\n"));
    BOOST_TEST(hash_in_chunks(simple, "a\r\n\r\nb") == sha256("a\r\n\r\nb\r\n"));
    BOOST_TEST(hash_in_chunks(simple, "a\rb\r") == sha256("a\rb\r\r\n"));
}

BOOST_AUTO_TEST_CASE(relaxed_follows_rfc6376_3_4_4) {
    using enum DkimBodyHash::Canon;
    // RFC 6376 §3.4.6 example body: " C \r\nD \t E\r\n\r\n\r\n" -> " C\r\nD E\r\n"
    BOOST_TEST(hash_in_chunks(relaxed, " C \r\nD \t E\r\n\r\n\r\n") == sha256(" C\r\nD E\r\n"));
    BOOST_TEST(hash_in_chunks(relaxed, "") == sha256(""));
    BOOST_TEST(hash_in_chunks(relaxed, " \t \r\n\r\n") == sha256(""));
    BOOST_TEST(hash_in_chunks(relaxed, "a\r\n \r\nb \t") == sha256("a\r\n\r\nb\r\n"));
}

// Bare CRs as libopendkim canonicalizes them (see dkim_body.hh); the random comparison
// with libopendkim below covers them too.
BOOST_AUTO_TEST_CASE(bare_cr_as_libopendkim_treats_it) {
    using enum DkimBodyHash::Canon;
    BOOST_TEST(hash_in_chunks(simple, "\r\r\n") == sha256("\r\n")); // an empty line
    BOOST_TEST(hash_in_chunks(simple, "\r\n\r\rx\r\n") == sha256("\r\n\r\rx\r\n"));
    BOOST_TEST(hash_in_chunks(simple, "x\ry\r\n") == sha256("x\ry\r\n"));
    BOOST_TEST(hash_in_chunks(relaxed, "x\ry\r\n") == sha256("xy\r\n"));
    BOOST_TEST(hash_in_chunks(relaxed, "word \rword\r\n") == sha256("wordword\r\n"));
    BOOST_TEST(hash_in_chunks(relaxed, "x \r y \r\n") == sha256("x y\r\n"));
    BOOST_TEST(hash_in_chunks(relaxed, "a\r\rb\r\n") == sha256("a\rb\r\n"));
    BOOST_TEST(hash_in_chunks(relaxed, "a\r\n\r\n\r \r\n") == sha256("a\r\n\r\n"));
}

BOOST_AUTO_TEST_CASE(any_chunking_gives_the_same_hash) {
    const std::string body = " C \r\nD \t E\r\n\r\nx\ry\r\n\r\n";
    for (const auto canon : {DkimBodyHash::Canon::simple, DkimBodyHash::Canon::relaxed}) {
        const std::string whole = hash_in_chunks(canon, body);
        for (std::size_t cut = 0; cut <= body.size(); ++cut)
            for (std::size_t second = cut; second <= body.size(); ++second)
                BOOST_TEST(hash_in_chunks(canon, body, {cut, second}) == whole,
                           "cuts " << cut << "," << second);
    }
}

// Runs of spaces, tabs and CRLFs at every alignment (the scan takes eight bytes at a time)
// against the plain reference (bare CRs are compared with libopendkim below).
BOOST_AUTO_TEST_CASE(relaxed_matches_the_reference_at_every_alignment) {
    const auto seed = static_cast<unsigned>(std::random_device{}());
    BOOST_TEST_CONTEXT("seed " << seed) {
        std::mt19937 random(seed);
        static const std::vector<std::string> pieces{"a",  "bc",  "defgh", " ",   "  ",
                                                     "\t", " \t", "\r\n",  "x y", "\r\n\r\n"};
        for (int round = 0; round < 2000; ++round) {
            std::string body(random() % 17, 'p');
            const std::size_t count = random() % 30;
            for (std::size_t i = 0; i < count; ++i)
                body += pieces[random() % pieces.size()];
            const std::size_t cut = random() % (body.size() + 1);
            BOOST_TEST(hash_in_chunks(DkimBodyHash::Canon::relaxed, body, {cut}) ==
                           sha256(reference_relaxed(body)),
                       "body [" << shown(body) << "] cut " << cut);
        }
    }
}

BOOST_AUTO_TEST_CASE(large_bodies_pass_the_buffer) {
    const std::string line(10000, 'x');
    const std::string body = line + "\r\n" + line + "   \r\n";
    BOOST_TEST(hash_in_chunks(DkimBodyHash::Canon::relaxed, body, {5000, 15000}) ==
               sha256(line + "\r\n" + line + "\r\n"));
    BOOST_TEST(hash_in_chunks(DkimBodyHash::Canon::simple, body) == sha256(body));
}

// libopendkim's canonicalizer is the oracle: the fast path must agree with the slow path.
BOOST_AUTO_TEST_CASE(agrees_with_libopendkim_on_random_bodies_and_chunkings) {
    const auto seed = static_cast<unsigned>(std::random_device{}());
    BOOST_TEST_CONTEXT("seed " << seed) {
        std::mt19937 random(seed);
        // Bodies end with CRLF, as every body an MTA passes on does (libopendkim's relaxed
        // signer refuses one that does not); bare CRs included. The signer gets each body
        // in one piece (libopendkim's bare-CR handling varies with chunk boundaries).
        std::vector<std::string> bodies{"",       "\r\n",      "\r\n\r\n",
                                        "a\r\n",  "a \r\n",    " a\r\n",
                                        "\t\r\n", " \r\n\r\n", "a\t\t b \r\n\r\n \r\n"};
        for (int i = 0; i < 200; ++i)
            bodies.push_back(random_body(random) + "\r\n");
        for (const auto& body : bodies) {
            for (const auto& [ours, theirs] :
                 {std::pair{DkimBodyHash::Canon::simple, DKIM_CANON_SIMPLE},
                  std::pair{DkimBodyHash::Canon::relaxed, DKIM_CANON_RELAXED}}) {
                const std::vector<std::size_t> cuts{random() % (body.size() + 1),
                                                    random() % (body.size() + 1)};
                BOOST_TEST(
                    hash_in_chunks(ours, body,
                                   {std::min(cuts[0], cuts[1]), std::max(cuts[0], cuts[1])}) ==
                        libopendkim_body_hash(body, theirs),
                    (ours == DkimBodyHash::Canon::simple ? "simple" : "relaxed")
                        << " body [" << shown(body) << "]");
            }
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
