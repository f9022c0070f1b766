// Test helpers for DKIM signing: a private directory, key files written into it with the
// mode and owner a test asks for, and keys generated once per test run (RSA-2048 generation
// is the slow part). Errors throw std::runtime_error.
#pragma once

#include "auth/dkim_private_key.hh"
#include "auth/dkim_verify.hh"
#include "dns/fake_resolver.hh"
#include "engine/message_text.hh"

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace mailwarden::signing_test {

class TempDir {
public:
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "mw-sign-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr)
            throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::filesystem::path& path() const { return path_; }
    std::string file(const std::string& name) const { return (path_ / name).string(); }

private:
    std::filesystem::path path_;
};

// Writes text to path with exactly `mode`, owned by uid (when we may chown).
inline std::string write_file(const std::string& path, const std::string& text, mode_t mode,
                              uid_t uid = ::geteuid()) {
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << text;
        if (!out)
            throw std::runtime_error("cannot write " + path);
    }
    if (::chmod(path.c_str(), mode) != 0)
        throw std::runtime_error("cannot chmod " + path);
    if (uid != ::geteuid() && ::chown(path.c_str(), uid, static_cast<gid_t>(-1)) != 0)
        throw std::runtime_error("cannot chown " + path);
    return path;
}

inline const auth::DkimPrivateKey& rsa_key() {
    static const auth::DkimPrivateKey key = auth::DkimPrivateKey::generate(auth::DkimKeyType::rsa);
    return key;
}

inline const auth::DkimPrivateKey& ed25519_key() {
    static const auth::DkimPrivateKey key =
        auth::DkimPrivateKey::generate(auth::DkimKeyType::ed25519);
    return key;
}

// Our verifier's results for each DKIM-Signature of a whole message text (LF or CRLF), topmost
// first, with the key records of `zone` (dns::FakeResolver's text).
inline std::vector<auth::DkimSignatureResult> verify_with_ours(const std::string& text,
                                                               const std::string& zone) {
    dns::FakeResolver resolver = dns::FakeResolver::from_text(zone);
    auth::DkimVerifier verifier(auth::DkimOptions{}, resolver);
    struct Receiver final : engine::MessageReceiver {
        explicit Receiver(auth::DkimSession started) : session(std::move(started)) {}
        void header(std::string_view name, std::string_view value) override {
            session.header(name, value);
        }
        void end_of_headers() override { session.end_of_headers(); }
        void body(std::string_view chunk) override {
            session.body(std::span(chunk.data(), chunk.size()));
        }
        auth::DkimSession session;
    } receiver(verifier.session());
    engine::feed_message(receiver, text);
    return receiver.session.end_of_message();
}

} // namespace mailwarden::signing_test
