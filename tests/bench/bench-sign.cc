// bench-sign: DKIM signing cost per ~10 KB message (lib/auth/dkim_sign: header selection,
// relaxed/relaxed canonicalization, hashing, the signature, folding) for Ed25519, RSA-2048 and
// both side by side, each measured against its crypto floor in the same run: what any signer
// must spend in OpenSSL alone (SHA-256 over the body once, SHA-256 over the signed header data
// per signature, the private-key operation per signature, contexts ready). Rounds alternate
// the six measurements, so the ratios hold on a noisy machine; CPU time of this thread, so
// time the thread waits for a core does not count. Bounded: rounds x messages signatures.
//
// usage: bench-sign [--rounds N] [--messages N]
//   --rounds    measurement rounds (default 7, at most 50)
//   --messages  messages per measurement (default 300, at most 5000)
#include "auth/dkim_private_key.hh"
#include "auth/dkim_sign.hh"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

using namespace mailwarden;

namespace {

constexpr std::size_t body_bytes = 10 * 1024;

struct Options {
    std::size_t rounds = 7;
    std::size_t messages = 300;
};

Options parse_options(int argc, char** argv) {
    Options options;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string name = argv[i];
        const auto value = std::stoul(argv[i + 1]);
        if (name == "--rounds")
            options.rounds = std::clamp<std::size_t>(value, 1, 50);
        else if (name == "--messages")
            options.messages = std::clamp<std::size_t>(value, 10, 5000);
        else
            throw std::invalid_argument("unknown option " + name);
    }
    return options;
}

struct Message {
    std::vector<std::pair<std::string, std::string>> headers; // values as received
    std::string body;
};

Message sample_message() {
    Message message;
    message.headers = {{"Received",
                        " from client.example.com (client.example.com [192.0.2.10])\r\n\tby "
                        "mx.example.com (Postfix) with ESMTPSA id 4QkZ3T1x\r\n\tfor "
                        "<bob@example.net>; Sun, 22 Nov 2026 10:00:00 +0000 (UTC)"},
                       {"From", " Alice Example <alice@example.com>"},
                       {"To", " Bob <bob@example.net>, Carol <carol@example.net>"},
                       {"Subject", " Quarterly report: the numbers are in"},
                       {"Date", " Sun, 22 Nov 2026 10:00:00 +0000"},
                       {"Message-ID", " <20261122100000.4QkZ3T1x@example.com>"},
                       {"MIME-Version", " 1.0"},
                       {"Content-Type", " text/plain; charset=utf-8"},
                       {"Content-Transfer-Encoding", " 8bit"},
                       {"User-Agent", " bench-sign"}};
    for (std::size_t line = 0; message.body.size() < body_bytes; ++line)
        message.body += "Line " + std::to_string(line) +
                        " of the report, with words  and a tab\tor two, as mail has.\r\n";
    return message;
}

double thread_cpu_seconds() {
    timespec now{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

// CPU microseconds per call of work, over `count` calls.
double measure(std::size_t count, const std::function<void()>& work) {
    const double started = thread_cpu_seconds();
    for (std::size_t at = 0; at < count; ++at)
        work();
    return (thread_cpu_seconds() - started) * 1e6 / static_cast<double>(count);
}

struct Median {
    double median, min, max;
};
Median summary(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return {values[values.size() / 2], values.front(), values.back()};
}

// The floor: OpenSSL alone, contexts prepared once, the same amount of data hashed.
class CryptoFloor {
public:
    CryptoFloor(const std::string& body, std::size_t header_bytes,
                std::vector<std::shared_ptr<EVP_PKEY>> keys)
        : body_(body), header_data_(header_bytes, 'h'), keys_(std::move(keys)) {
        for (const auto& key : keys_) {
            if (!EVP_PKEY_is_a(key.get(), "RSA")) {
                rsa_contexts_.emplace_back(nullptr, EVP_PKEY_CTX_free);
                continue;
            }
            rsa_contexts_.emplace_back(EVP_PKEY_CTX_new(key.get(), nullptr), EVP_PKEY_CTX_free);
            EVP_PKEY_CTX* context = rsa_contexts_.back().get();
            if (EVP_PKEY_sign_init(context) != 1 ||
                EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_PADDING) != 1 ||
                EVP_PKEY_CTX_set_signature_md(context, EVP_sha256()) != 1)
                throw std::runtime_error("RSA context");
        }
    }

    void sign_one_message() {
        unsigned char digest[32];
        unsigned length = 0;
        EVP_Digest(body_.data(), body_.size(), digest, &length, EVP_sha256(), nullptr);
        for (std::size_t index = 0; index < keys_.size(); ++index) {
            EVP_Digest(header_data_.data(), header_data_.size(), digest, &length, EVP_sha256(),
                       nullptr);
            unsigned char signature[512];
            std::size_t size = sizeof signature;
            if (rsa_contexts_[index]) {
                if (EVP_PKEY_sign(rsa_contexts_[index].get(), signature, &size, digest, 32) != 1)
                    throw std::runtime_error("RSA sign");
                continue;
            }
            EVP_MD_CTX_reset(ed_context_.get());
            if (EVP_DigestSignInit(ed_context_.get(), nullptr, nullptr, nullptr,
                                   keys_[index].get()) != 1 ||
                EVP_DigestSign(ed_context_.get(), signature, &size, digest, 32) != 1)
                throw std::runtime_error("Ed25519 sign");
        }
    }

private:
    const std::string& body_;
    std::string header_data_;
    std::vector<std::shared_ptr<EVP_PKEY>> keys_;
    std::vector<std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)>> rsa_contexts_;
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ed_context_{EVP_MD_CTX_new(),
                                                                        EVP_MD_CTX_free};
};

std::shared_ptr<EVP_PKEY> openssl_key(const auth::DkimPrivateKey& key) {
    const std::string pem = key.pem();
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
    return {PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free};
}

struct Setup {
    std::string name;
    std::vector<auth::DkimSigningKey> keys;
    std::unique_ptr<CryptoFloor> floor;
    std::vector<double> ours, floors, ratios;
};

} // namespace

int main(int argc, char** argv) try {
    const Options options = parse_options(argc, argv);
    const Message message = sample_message();
    auth::DkimSignOptions sign_options;
    sign_options.oversigned = {"From", "To", "Cc", "Subject", "Date", "Reply-To"};
    sign_options.headers = auth::signed_header_names(
        std::vector<std::string>{"From", "Sender", "Reply-To", "To", "Cc", "Subject", "Date",
                                 "Message-ID", "In-Reply-To", "References", "MIME-Version",
                                 "Content-Type", "Content-Transfer-Encoding", "List-Id",
                                 "List-Unsubscribe"},
        sign_options.oversigned);
    const auto ed = std::make_shared<const auth::DkimPrivateKey>(
        auth::DkimPrivateKey::generate(auth::DkimKeyType::ed25519));
    const auto rsa = std::make_shared<const auth::DkimPrivateKey>(
        auth::DkimPrivateKey::generate(auth::DkimKeyType::rsa, 2048));
    const auth::DkimSigningKey ed_key{"example.com", "ed2026", ed};
    const auth::DkimSigningKey rsa_key{"example.com", "rsa2026", rsa};
    // The signed header data of one signature: the fields h= selects plus the signature field.
    std::size_t header_bytes = 0;
    for (const auto& [name, value] : message.headers)
        if (name != "Received" && name != "User-Agent")
            header_bytes += name.size() + 1 + value.size() + 2;
    header_bytes += 450;
    std::vector<Setup> setups;
    setups.push_back({"ed25519", {ed_key}, {}, {}, {}, {}});
    setups.push_back({"rsa-2048", {rsa_key}, {}, {}, {}, {}});
    setups.push_back({"both", {ed_key, rsa_key}, {}, {}, {}, {}});
    for (auto& setup : setups) {
        std::vector<std::shared_ptr<EVP_PKEY>> keys;
        for (const auto& key : setup.keys)
            keys.push_back(openssl_key(*key.key));
        setup.floor = std::make_unique<CryptoFloor>(message.body, header_bytes, std::move(keys));
    }
    const auto sign_ours = [&](const std::vector<auth::DkimSigningKey>& keys) {
        auth::DkimSigningSession session(sign_options);
        for (const auto& [name, value] : message.headers)
            session.header(name, value);
        session.body(message.body);
        if (session.sign(keys, 1795000000).signatures.size() != keys.size())
            throw std::runtime_error("signing failed");
    };
    for (auto& setup : setups) { // warm up: contexts, caches
        sign_ours(setup.keys);
        setup.floor->sign_one_message();
    }
    for (std::size_t round = 0; round < options.rounds; ++round) {
        for (auto& setup : setups) {
            const double floor =
                measure(options.messages, [&] { setup.floor->sign_one_message(); });
            const double ours = measure(options.messages, [&] { sign_ours(setup.keys); });
            setup.floors.push_back(floor);
            setup.ours.push_back(ours);
            setup.ratios.push_back(ours / floor);
        }
    }
    std::printf("DKIM signing, %zu-byte body, relaxed/relaxed, CPU us per message; %zu rounds of "
                "%zu messages, median (min-max)\n",
                message.body.size(), options.rounds, options.messages);
    std::printf("%-9s %-26s %-26s %s\n", "keys", "mailwarden", "crypto floor", "ratio");
    for (const auto& setup : setups) {
        const auto ours = summary(setup.ours), floor = summary(setup.floors),
                   ratio = summary(setup.ratios);
        std::printf("%-9s %7.1f (%6.1f-%6.1f)     %7.1f (%6.1f-%6.1f)     %.2f (%.2f-%.2f)\n",
                    setup.name.c_str(), ours.median, ours.min, ours.max, floor.median, floor.min,
                    floor.max, ratio.median, ratio.min, ratio.max);
    }
    return 0;
} catch (const std::exception& error) {
    std::fprintf(stderr, "bench-sign: %s\n", error.what());
    return 1;
}
