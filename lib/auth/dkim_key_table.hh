// The DKIM key table: which keys sign the mail of which From domain. One entry per line of
// the dkim_sign_key parameter, "DOMAIN SELECTOR KEYFILE" (OpenDKIM's KeyTable and
// SigningTable in one line; the selector is published as SELECTOR._domainkey.DOMAIN):
//   example.com     mail of example.com, signed d=example.com
//   *.example.com   mail of any subdomain X.example.com (at any depth), signed d=X.example.com
//                   (the key must be published under each such subdomain)
// Finding the keys of a From domain D: the entries for exactly D; else, from the nearest
// parent P of D upwards, the entries for *.P (signed d=D) and, when subdomains_use_parent_key
// is set, the entries for exactly P (signed d=P: relaxed DMARC alignment holds). The first
// pattern with entries wins. Of the entries of that pattern, the last one listed of each key
// type signs: an Ed25519 and an RSA key sign side by side; an earlier entry of the same type
// is an old selector that stays published during a rotation (`mailwarden dkim testkey` still
// checks it), never used to sign.
//
// Keys are loaded (dkim_private_key.hh) when the table is built, once per key file; a table
// is immutable and shared by every message of its configuration snapshot, so a reload builds
// a new table while messages in flight keep the old one. Failure is a value: every bad line
// or unusable key gives one error text, and the table is not built.
#pragma once

#include "auth/dkim_private_key.hh"

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mailwarden::auth {

struct DkimKeyTableEntry {
    std::string domain;      // lower-case, without "*."
    bool subdomains = false; // written *.domain
    std::string selector;
    std::string key_file; // absolute path
};

// "DOMAIN SELECTOR KEYFILE" with DOMAIN a host name or *. and one, SELECTOR dot-separated
// labels of letters, digits and '-', KEYFILE an absolute path. A DOMAIN written in U-labels
// is kept as its A-labels (auth/idna.hh), the form From: domains are compared in.
std::optional<DkimKeyTableEntry> parse_key_table_line(std::string_view line, std::string* error);

// A key that signs a message: the d= and s= it signs with, and the key.
struct DkimSigningKey {
    std::string domain;
    std::string selector;
    std::shared_ptr<const DkimPrivateKey> key;
};

class DkimKeyTable {
public:
    struct Entry {
        DkimKeyTableEntry line;
        std::shared_ptr<const DkimPrivateKey> key;
        bool signs = false; // false: an older selector of the same pattern and key type
    };

    DkimKeyTable() = default; // no keys: nothing is signed
    // Every line parsed and every key loaded (key files owned by owner_uid); std::nullopt
    // and one text per problem in *errors otherwise.
    static std::optional<DkimKeyTable> load(std::span<const std::string> lines,
                                            bool subdomains_use_parent_key, uid_t owner_uid,
                                            std::vector<std::string>* errors);
    // For tests: entries with keys already made.
    DkimKeyTable(std::vector<Entry> entries, bool subdomains_use_parent_key);

    bool empty() const { return entries_.empty(); }
    const std::vector<Entry>& entries() const { return entries_; }
    // The keys that sign mail whose From domain is from_domain (any case, a trailing dot
    // ignored); empty when none does. Ed25519 first.
    std::vector<DkimSigningKey> keys_for(std::string_view from_domain) const;
    // Every entry of the pattern keys_for() takes for from_domain (older selectors included,
    // in the order listed) and the d= they sign with (for `mailwarden dkim testkey`).
    struct Match {
        std::string domain;
        std::vector<const Entry*> entries;
    };
    Match entries_for(std::string_view from_domain) const;

private:
    // The entries of one pattern: indexes into entries_, all of them in order, and the
    // signing ones (Ed25519 first).
    struct Pattern {
        std::vector<std::size_t> all, signing;
    };
    void index_patterns();
    // The pattern for from_domain and the d= it signs with; nullptr when none.
    std::pair<const Pattern*, std::string> find(std::string_view from_domain) const;

    std::vector<Entry> entries_;
    bool subdomains_use_parent_key_ = false;
    std::map<std::string, Pattern, std::less<>> exact_, wildcard_; // by domain
};

} // namespace mailwarden::auth
