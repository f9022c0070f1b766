// The header half of the DKIM fast path (lib/auth/dkim_header) against libopendkim as the
// oracle: every message is verified twice, with the fast path and with libopendkim alone
// (DkimOptions::fast_path = false), and the results must be equal in every field.
//   - Random layouts: DKIM-Signature fields with tags in any order, folding white space
//     where RFC 6376 allows it and where it does not, optional tags (c= t= q= i=), h= with
//     repeated, absent and oddly cased names, header fields repeated and with white space
//     RFC 6376 relaxed canonicalization treats in its own ways (VT, FF, bare CR/LF, a
//     leading fold, 8-bit bytes). Each is signed with our header hash and the test key;
//     libopendkim's verdict tells whether our canonicalization is its canonicalization.
//   - Hostile edits of signed messages: random bytes inserted, deleted or changed in the
//     DKIM-Signature field and in signed fields, tags repeated or added.
// Seeded (a fixed seed and one per run, both reported) and bounded in count.
#include "auth/dkim_body.hh"
#include "auth/dkim_header.hh"
#include "auth/dkim_key.hh"
#include "auth/dkim_verify.hh"
#include "dkim_test_signer.hh"
#include "dns/fake_resolver.hh"

#include <boost/test/unit_test.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <random>
#include <string>
#include <vector>

using namespace mailwarden;
using auth::DkimBodyHash;
using auth::DkimOptions;
using auth::DkimSignatureResult;
using auth::DkimVerifier;

namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Keys {
    const dkim_test::TestKey& rsa = dkim_test::rsa_2048();
    dkim_test::TestKey rsa1024 = dkim_test::make_key("RSA", 1024);
};
const Keys& keys() {
    static const Keys generated;
    return generated;
}

std::string zone() {
    return dkim_test::txt_line("rsa._domainkey.example.test",
                               "v=DKIM1; k=rsa; p=" + keys().rsa.public_base64) +
           dkim_test::txt_line("rsa._domainkey.sub.example.test",
                               "v=DKIM1; k=rsa; p=" + keys().rsa.public_base64) +
           dkim_test::txt_line("small._domainkey.example.test",
                               "v=DKIM1; k=rsa; p=" + keys().rsa1024.public_base64) +
           dkim_test::txt_line("testing._domainkey.example.test",
                               "v=DKIM1; k=rsa; t=y; p=" + keys().rsa.public_base64) +
           "rsa._domainkey.broken.test SERVFAIL\n";
}

struct PkeyFree {
    void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
struct CtxFree {
    void operator()(EVP_PKEY_CTX* context) const noexcept { EVP_PKEY_CTX_free(context); }
};

// RSASSA-PKCS1-v1_5 signature of a SHA-256 digest with the test key.
std::string rsa_sign(std::span<const unsigned char> digest) {
    static const std::unique_ptr<EVP_PKEY, PkeyFree> key = [] {
        const std::string& pem = keys().rsa.private_pem;
        std::unique_ptr<BIO, decltype(&BIO_free)> bio(
            BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
        return std::unique_ptr<EVP_PKEY, PkeyFree>(
            PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    }();
    std::unique_ptr<EVP_PKEY_CTX, CtxFree> signer(EVP_PKEY_CTX_new(key.get(), nullptr));
    BOOST_REQUIRE(signer && EVP_PKEY_sign_init(signer.get()) == 1);
    EVP_PKEY_CTX_set_rsa_padding(signer.get(), RSA_PKCS1_PADDING);
    EVP_PKEY_CTX_set_signature_md(signer.get(), EVP_sha256());
    std::string signature(512, '\0');
    std::size_t length = signature.size();
    BOOST_REQUIRE(EVP_PKEY_sign(signer.get(), reinterpret_cast<unsigned char*>(signature.data()),
                                &length, digest.data(), digest.size()) == 1);
    signature.resize(length);
    return signature;
}

std::vector<DkimSignatureResult> verify(DkimVerifier& verifier, const Headers& headers,
                                        const std::string& body, std::size_t chunk) {
    auto session = verifier.session();
    for (const auto& [name, value] : headers)
        session.header(name, value);
    session.end_of_headers();
    const std::span<const char> bytes(body);
    for (std::size_t at = 0; at < bytes.size(); at += chunk)
        session.body(bytes.subspan(at, std::min(chunk, bytes.size() - at)));
    return session.end_of_message();
}

std::string show(const std::vector<DkimSignatureResult>& results) {
    std::string text;
    for (const auto& r : results)
        text += "[" + r.result + " " + r.reason + " d=" + r.domain + " s=" + r.selector +
                " a=" + r.algorithm + " bits=" + std::to_string(r.key_bits) + "]";
    return text;
}

std::string visible(const std::string& text) {
    std::string out;
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte >= 0x7f) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02x", byte);
            out += hex;
        } else {
            out += c;
        }
    }
    return out;
}

// Both ways; the results must be equal in every field.
struct Oracle {
    dns::FakeResolver resolver = dns::FakeResolver::from_text(zone());
    DkimVerifier fast{DkimOptions{}, resolver};
    DkimVerifier slow{[] {
                          DkimOptions options;
                          options.fast_path = false;
                          return options;
                      }(),
                      resolver};
    std::size_t passes = 0;

    void check(const Headers& headers, const std::string& body, std::size_t chunk = 4096) {
        const auto got = verify(fast, headers, body, chunk);
        const auto expected = verify(slow, headers, body, chunk);
        std::string text;
        for (const auto& [name, value] : headers)
            text += name + ":" + value + "\r\n";
        BOOST_TEST(show(got) == show(expected),
                   "fast " << show(got) << " slow " << show(expected) << " for " << visible(text));
        if (!expected.empty() && expected.front().result == "pass")
            ++passes;
    }
};

// A new seed per run, or MW_TEST_SEED's to repeat one.
unsigned run_seed() {
    if (const char* text = std::getenv("MW_TEST_SEED"))
        return static_cast<unsigned>(std::strtoul(text, nullptr, 10));
    return static_cast<unsigned>(std::random_device{}());
}

template <typename T> const T& pick(std::mt19937& random, const std::vector<T>& choices) {
    return choices[std::uniform_int_distribution<std::size_t>(0, choices.size() - 1)(random)];
}

bool chance(std::mt19937& random, double p) {
    return std::bernoulli_distribution(p)(random);
}

// White space where RFC 6376 allows FWS, sometimes none.
std::string fws(std::mt19937& random) {
    return pick<std::string>(random, {"", "", " ", "  ", "\t", "\r\n ", "\r\n\t", " \r\n  "});
}

// A header value with the white space relaxed canonicalization is about, and more.
std::string odd_value(std::mt19937& random, const std::string& words) {
    std::string value = pick<std::string>(random, {" ", "", "  ", "\t", "\r\n ", " \r\n\t"});
    for (const char c : words) {
        if (c == ' ')
            value += pick<std::string>(
                random, {" ", " ", "  ", "\t", " \t ", "\r\n ", "\v", "\f", " \r ", "\n ", "\r"});
        else
            value += c;
    }
    value += pick<std::string>(random, {"", "", " ", "\t", " \t", "\r\n "});
    if (chance(random, 0.1))
        value += "\xc3\xa9t\xc3\xa9";
    return value;
}

std::string odd_case(std::mt19937& random, std::string name) {
    for (auto& c : name)
        if (chance(random, 0.3))
            c = static_cast<char>(std::isupper(static_cast<unsigned char>(c)) ? std::tolower(c)
                                                                              : std::toupper(c));
    return name;
}

struct Layout {
    Headers headers;
    std::string body;
};

// A message with one or two signatures in a random layout, signed with our header hash.
Layout random_signed_message(std::mt19937& random) {
    Layout layout;
    layout.body = pick<std::string>(random, {"Hello Bob,\r\n\r\nthe numbers are in.\r\n", "",
                                             "  x \t y  \r\n\r\n", "line\r\n\r\n\r\n"});
    const std::vector<std::string> names{"From",       "To",       "Subject", "Date",
                                         "Message-ID", "Received", "Cc",      "X-Thing"};
    const std::size_t count = std::uniform_int_distribution<std::size_t>(2, 8)(random);
    layout.headers.emplace_back("From", odd_value(random, "Alice <alice@example.test>"));
    for (std::size_t i = 0; i < count; ++i)
        layout.headers.emplace_back(odd_case(random, pick(random, names)),
                                    odd_value(random, "some words here " + std::to_string(i)));
    const int signatures = chance(random, 0.2) ? 2 : 1;
    for (int n = 0; n < signatures; ++n) {
        const auto header_canon =
            chance(random, 0.5) ? DkimBodyHash::Canon::relaxed : DkimBodyHash::Canon::simple;
        const auto body_canon =
            chance(random, 0.5) ? DkimBodyHash::Canon::relaxed : DkimBodyHash::Canon::simple;
        const auto canon_name = [](DkimBodyHash::Canon canon) {
            return canon == DkimBodyHash::Canon::simple ? std::string("simple") : "relaxed";
        };
        DkimBodyHash body_hash(body_canon);
        body_hash.update(layout.body);
        const std::string bh = auth::encode_base64(body_hash.finish());
        // h=: names present, absent, repeated (over-signing), in any case, folded.
        std::string h;
        const std::size_t signed_count = std::uniform_int_distribution<std::size_t>(1, 6)(random);
        std::vector<std::string> signed_names{"from"};
        for (std::size_t i = 0; i < signed_count; ++i)
            signed_names.push_back(chance(random, 0.05) ? "DKIM-Signature" : pick(random, names));
        std::shuffle(signed_names.begin(), signed_names.end(), random);
        for (const auto& name : signed_names)
            h += (h.empty() ? "" : fws(random) + ":" + fws(random)) + odd_case(random, name);
        std::vector<std::string> tags{"v=1", "a=rsa-sha256", "bh=" + fws(random) + bh, "h=" + h,
                                      "b=AAAA"};
        const bool sub = chance(random, 0.1);
        const std::string selector =
            chance(random, 0.9) ? "rsa" : pick<std::string>(random, {"small", "testing", "absent"});
        const std::string domain = sub ? "sub.example.test" : "example.test";
        tags.push_back("d=" + (chance(random, 0.1) ? odd_case(random, domain) : domain));
        tags.push_back("s=" + (chance(random, 0.1) ? odd_case(random, selector) : selector));
        if (header_canon != DkimBodyHash::Canon::simple ||
            body_canon != DkimBodyHash::Canon::simple || chance(random, 0.5)) {
            std::string c = canon_name(header_canon);
            if (body_canon != DkimBodyHash::Canon::simple || chance(random, 0.5))
                c += "/" + canon_name(body_canon);
            tags.push_back("c=" + c);
        }
        const auto now = static_cast<long long>(std::time(nullptr));
        if (chance(random, 0.5))
            tags.push_back("t=" + std::to_string(pick<long long>(
                                      random, {now - 100, now - 86400, now, now + 3600, 100})));
        if (chance(random, 0.2))
            tags.push_back("q=dns/txt");
        if (chance(random, 0.2))
            tags.push_back(pick<std::string>(random, {"i=@example.test", "i=alice@sub.example.test",
                                                      "i=bob@example.org", "i=x@Example.Test"}));
        std::shuffle(tags.begin(), tags.end(), random);
        std::string value = fws(random);
        for (std::size_t i = 0; i < tags.size(); ++i) {
            const std::size_t equals = tags[i].find('=');
            value += tags[i].substr(0, equals) + (chance(random, 0.03) ? " " : "") + "=" +
                     fws(random) + tags[i].substr(equals + 1) + fws(random);
            if (i + 1 < tags.size() || chance(random, 0.5))
                value += ";" + fws(random);
        }
        const std::string name =
            chance(random, 0.8) ? "DKIM-Signature" : odd_case(random, "dkim-signature");
        layout.headers.insert(layout.headers.begin(), {name, value});
        // Sign with our header hash where we read the field; libopendkim judges.
        std::vector<auth::HeaderField> fields;
        for (const auto& [field_name, field_value] : layout.headers)
            fields.push_back({field_name, field_value});
        const auto read = auth::read_fast_signature(value, static_cast<std::uint64_t>(now));
        if (!read)
            continue;
        const auto digest = auth::dkim_header_hash(fields, 0, *read);
        BOOST_REQUIRE(digest.has_value());
        const std::string b = auth::encode_base64(rsa_sign(*digest));
        const std::size_t b_at = value.find("AAAA", read->b_value_begin);
        layout.headers.front().second.replace(b_at, 4, b);
    }
    return layout;
}

} // namespace

namespace dkim_header_tests {

BOOST_AUTO_TEST_SUITE(dkim_header)

BOOST_AUTO_TEST_CASE(reads_plain_signatures_and_refuses_the_rest) {
    const std::uint64_t now = 1'800'000'000;
    const std::string bh = "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    const std::string base =
        "v=1; a=rsa-sha256; d=example.test; s=rsa; h=From:To; " + bh + "; b=AAAA";
    const auto fast = auth::read_fast_signature(base, now);
    BOOST_REQUIRE(fast.has_value());
    BOOST_TEST(fast->domain == "example.test");
    BOOST_TEST(fast->selector == "rsa");
    BOOST_TEST(fast->names == (std::vector<std::string>{"From", "To"}));
    BOOST_TEST((fast->header_canon == DkimBodyHash::Canon::simple));
    BOOST_TEST((fast->body_canon == DkimBodyHash::Canon::simple));
    BOOST_TEST(base.substr(fast->b_value_begin, fast->b_value_end - fast->b_value_begin) == "AAAA");
    const std::vector<std::pair<std::string, bool>> cases{
        {base + ";", true},
        {base + "; c=relaxed", true},
        {base + "; c=relaxed/relaxed; t=1700000000; q=dns/txt; i=a@sub.example.test", true},
        {"\r\n\tv=1;\r\n a=rsa-sha256; d=example.test; s=rsa; h=From\r\n\t: To; " + bh +
             "; b=AA\r\n AA",
         true},
        {base + "; l=10", false},                      // body length: libopendkim
        {base + "; t=1700000000; x=1900000000", true}, // expires in the future
        {base + "; x=1800000000", false},              // expires now: libopendkim says expired
        {base + "; x=1700000000", false},              // expired
        {base + "; x=19000000000000", false},          // not a plain timestamp
        {base + "; z=From:a", false},                  // copied headers
        {base + "; foo=bar", false},                   // unknown tag
        {base + "; d=example.test", false},            // repeated tag
        {base + "; t=1900000000", false},              // in the future
        {base + "; t=12", false},                      // smaller than libopendkim's drift
        {base + "; c=RELAXED", false},                 // not as a signer writes it
        {base + "; c=relaxed/", false},
        {base + "; i=a@example.org", false},      // not in d=
        {base + "; i=a=40b@example.test", false}, // would need decoding
        {"v=1; a=rsa-sha1; d=example.test; s=rsa; h=From; " + bh + "; b=AAAA", false},
        {"v=2; a=rsa-sha256; d=example.test; s=rsa; h=From; " + bh + "; b=AAAA", false},
        {"v=1; a=rsa-sha256; d=example.test; s=rsa; h=To; " + bh + "; b=AAAA", false}, // no From
        {"v=1; a=rsa-sha256; d=example.test; s=rsa; h=From::To; " + bh + "; b=AAAA", false},
        {"v=1; a=rsa-sha256; d=exa mple.test; s=rsa; h=From; " + bh + "; b=AAAA", false},
        {"v=1; a=rsa-sha256; d=example.test; s=rsa; h=From; " + bh + "; b =AAAA", false},
        {"v=1; a=rsa-sha256; d=example.test; s=rsa; h=From; " + bh + "; b=", false},
        {"v=1; a=rsa-sha256; d=example.test; s=rsa; h=From; " + bh + "; b=AAA", false},
        {"v=1; a=rsa-sha256; d=example.test; s=rsa; h=From; b=AAAA", false}, // no bh=
        {"v=1; a=rsa-sha256; d=; s=rsa; h=From; " + bh + "; b=AAAA", false},
        {base + "\r\n", false}, // CRLF not followed by WSP
        {base + "\n ", false},  // bare LF
        {base + "\r x", false}, // bare CR
        {base + std::string(1, '\0'), false},
        {base + "; ;", false},
        {";" + base, false},
        {base + "\x80", false},
        {base + "; h=From", false},
    };
    for (const auto& [text, accepted] : cases)
        BOOST_TEST(auth::read_fast_signature(text, now).has_value() == accepted, visible(text));
}

// Random text of tag-list bytes: the reader never fails in any other way than nullopt,
// and what it accepts has a b= range inside the value and the required tags.
BOOST_AUTO_TEST_CASE(random_text_never_breaks_the_reader) {
    std::mt19937 random(99);
    const std::vector<std::string> pieces{"v=1",
                                          "a=rsa-sha256",
                                          "d=example.test",
                                          "s=rsa",
                                          "h=from:to",
                                          "bh=",
                                          "b=",
                                          "AAAA",
                                          "c=relaxed",
                                          "t=1700000000",
                                          ";",
                                          " ",
                                          "\r\n ",
                                          "=",
                                          ":",
                                          "\r",
                                          "\n",
                                          "\0",
                                          "\xff",
                                          "i=@example.test"};
    const std::string bh = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    for (int i = 0; i < 20000; ++i) {
        std::string text;
        const int count = std::uniform_int_distribution<int>(0, 30)(random);
        for (int n = 0; n < count; ++n) {
            text += pick(random, pieces);
            if (text.ends_with("bh="))
                text += bh;
        }
        const auto read = auth::read_fast_signature(text, 1'800'000'000);
        if (!read)
            continue;
        BOOST_TEST(read->b_value_begin <= read->b_value_end);
        BOOST_TEST(read->b_value_end <= text.size());
        BOOST_TEST(!read->domain.empty());
        BOOST_TEST(!read->signature.empty());
    }
}

BOOST_AUTO_TEST_CASE(plain_messages_are_judged_without_libopendkim) {
    Oracle oracle;
    auto message = dkim_test::sample_message();
    dkim_test::sign(message, {.key = &keys().rsa, .selector = "rsa"});
    oracle.check(message.headers, message.body);
    BOOST_TEST(oracle.passes == 1U);
    BOOST_TEST(oracle.fast.messages_without_library() == 1U);
    // Unsigned mail: no results, no library either.
    oracle.check(dkim_test::sample_message().headers, "x\r\n");
    BOOST_TEST(oracle.fast.messages_without_library() == 2U);
    // A key lookup that fails: libopendkim's verdict (the oracle compares), without it.
    auto broken = dkim_test::sample_message();
    dkim_test::sign(broken, {.key = &keys().rsa, .selector = "rsa", .domain = "broken.test"});
    oracle.check(broken.headers, broken.body);
    BOOST_TEST(oracle.fast.messages_without_library() == 3U);
}

BOOST_AUTO_TEST_CASE(random_layouts_signed_with_our_hash_get_libopendkim_verdicts) {
    for (const unsigned seed : {20261123U, run_seed()}) {
        BOOST_TEST_MESSAGE("random layouts, seed " << seed);
        BOOST_TEST_CONTEXT("seed " << seed) {
            std::mt19937 random(seed);
            Oracle oracle;
            constexpr int messages = 400;
            for (int i = 0; i < messages; ++i) {
                const Layout layout = random_signed_message(random);
                oracle.check(layout.headers, layout.body, pick<std::size_t>(random, {1, 5, 4096}));
            }
            BOOST_TEST_MESSAGE("seed " << seed << ": " << oracle.passes << " passes, "
                                       << oracle.fast.messages_without_library()
                                       << " without libopendkim, of " << messages);
            // The generator must mostly produce messages both ways pass, most of them on
            // the fast path without libopendkim.
            BOOST_TEST(oracle.passes > messages / 3);
            BOOST_TEST(oracle.fast.messages_without_library() > messages / 3);
        }
    }
}

BOOST_AUTO_TEST_CASE(hostile_edits_of_signed_messages_get_libopendkim_verdicts) {
    for (const unsigned seed : {7U, run_seed()}) {
        BOOST_TEST_MESSAGE("hostile edits, seed " << seed);
        BOOST_TEST_CONTEXT("seed " << seed) {
            std::mt19937 random(seed);
            Oracle oracle;
            static constexpr char edit_bytes[] = "; =:\r\n\t\v\f\0abhv1AZ+/\x7f\x80\xff";
            const std::vector<char> bytes(edit_bytes, edit_bytes + sizeof edit_bytes - 1);
            for (int i = 0; i < 600; ++i) {
                Layout layout = random_signed_message(random);
                // Edit the DKIM-Signature field or another field: insert, delete or change
                // bytes, repeat or add tags.
                const std::size_t edited = chance(random, 0.7)
                                               ? 0
                                               : std::uniform_int_distribution<std::size_t>(
                                                     0, layout.headers.size() - 1)(random);
                layout.headers.reserve(layout.headers.size() + 3); // `name`, `value` stay valid
                auto& [name, value] = layout.headers[edited];
                const int edits = std::uniform_int_distribution<int>(1, 3)(random);
                for (int e = 0; e < edits; ++e) {
                    const std::size_t at =
                        std::uniform_int_distribution<std::size_t>(0, value.size())(random);
                    switch (std::uniform_int_distribution<int>(0, 5)(random)) {
                    case 0:
                        value.insert(at, 1, pick(random, bytes));
                        break;
                    case 1:
                        if (at < value.size())
                            value.erase(at, 1);
                        break;
                    case 2:
                        if (at < value.size())
                            value[at] = pick(random, bytes);
                        break;
                    case 3:
                        value +=
                            pick<std::string>(random, {"; d=example.test", "; v=1", "; l=0",
                                                       "; x=1", "; t=", "; foo=1", "; h=from"});
                        break;
                    case 4:
                        name = pick<std::string>(random, {"DKIM-Signature", "DKIM-Signature ",
                                                          "dkim-signature", "From", "X;Y"});
                        break;
                    default:
                        layout.headers.emplace_back(
                            pick<std::string>(random, {"From", "Subject", "To"}), " added");
                    }
                }
                oracle.check(layout.headers, layout.body);
            }
        }
    }
}

// libopendkim 2.11 (dkim_canon_selecthdrs) writes one pointer past an array of one pointer
// per header field when h= names every field of the message, DKIM-Signature included, and
// then more: a heap overflow any sender can cause. Such messages, refused by the fast path
// (here: no key) or with fast_path off, must not corrupt memory (the ASan build sees it).
BOOST_AUTO_TEST_CASE(h_naming_every_field_and_more_does_not_overflow_libopendkim) {
    Oracle oracle;
    for (int fields = 1; fields <= 6; ++fields) {
        Headers headers;
        std::string h = "dkim-signature";
        for (int i = 1; i < fields; ++i) {
            headers.emplace_back(i == 1 ? "From" : "X-Field-" + std::to_string(i), " value");
            h += ":" + headers.back().first;
        }
        h += ":from:subject:to";
        headers.insert(headers.begin(),
                       {"DKIM-Signature", " v=1; a=rsa-sha256; d=example.test; s=absent; h=" + h +
                                              "; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; "
                                              "b=AAAA"});
        for (int round = 0; round < 20; ++round)
            oracle.check(headers, "");
    }
}

BOOST_AUTO_TEST_CASE(more_signatures_than_max_signatures_go_to_libopendkim) {
    Oracle oracle;
    auto message = dkim_test::sample_message();
    for (int i = 0; i < 7; ++i)
        dkim_test::sign(message, {.key = &keys().rsa, .selector = "rsa"});
    oracle.check(message.headers, message.body);
    BOOST_TEST(oracle.fast.messages_without_library() == 0U);
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace dkim_header_tests
