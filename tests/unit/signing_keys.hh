// Test helpers for DKIM signing: a private directory, key files written into it with the
// mode and owner a test asks for, and keys generated once per test run (RSA-2048 generation
// is the slow part). Errors throw std::runtime_error.
#pragma once

#include "auth/dkim_private_key.hh"

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

} // namespace mailwarden::signing_test
