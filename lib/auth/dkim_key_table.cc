// See dkim_key_table.hh.
#include "auth/dkim_key_table.hh"

#include "auth/idna.hh"
#include "util/ascii.hh"

#include <algorithm>
#include <map>

namespace mailwarden::auth {

namespace {

bool is_ldh(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

// Dot-separated labels of 1 to 63 letters, digits and '-', not starting or ending with '-'.
bool valid_labels(std::string_view name, std::size_t max_bytes) {
    if (name.empty() || name.size() > max_bytes)
        return false;
    while (true) {
        const std::size_t dot = name.find('.');
        const std::string_view label = name.substr(0, dot);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-' ||
            !std::all_of(label.begin(), label.end(), is_ldh))
            return false;
        if (dot == std::string_view::npos)
            return true;
        name.remove_prefix(dot + 1);
    }
}

std::vector<std::string_view> words(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t at = 0;
    while (true) {
        at = line.find_first_not_of(" \t", at);
        if (at == std::string_view::npos)
            return out;
        const std::size_t end = std::min(line.find_first_of(" \t", at), line.size());
        out.push_back(line.substr(at, end - at));
        at = end;
    }
}

bool fail(std::string* error, std::string text) {
    if (error != nullptr)
        *error = std::move(text);
    return false;
}

// The domain in DNS form: an internationalized one (U-labels) becomes its A-labels
// (auth/idna), so that it meets the From: domain, which is converted the same way.
std::optional<std::string> checked_domain(std::string_view domain, std::string* error) {
    std::optional<std::string> ascii = domain_to_ascii(domain);
    if (!ascii) {
        fail(error,
             "not a valid internationalized domain name (IDNA2008): '" + std::string(domain) + "'");
        return std::nullopt;
    }
    if (!valid_labels(*ascii, 253)) {
        fail(error, "not a domain name: '" + std::string(domain) + "'");
        return std::nullopt;
    }
    return ascii;
}

} // namespace

std::optional<DkimKeyTableEntry> parse_key_table_line(std::string_view line, std::string* error) {
    const auto parts = words(line);
    if (parts.size() != 3) {
        fail(error, "expected DOMAIN SELECTOR KEYFILE, e.g. example.com mail2026 "
                    "/etc/mailwarden/keys/example.com.mail2026.key");
        return std::nullopt;
    }
    DkimKeyTableEntry entry;
    std::string_view domain = parts[0];
    if (domain.starts_with("*.")) {
        entry.subdomains = true;
        domain.remove_prefix(2);
    }
    std::optional<std::string> ascii_domain = checked_domain(domain, error);
    if (!ascii_domain)
        return std::nullopt;
    if (!valid_labels(parts[1], 253)) {
        fail(error,
             "not a selector (labels of letters, digits and '-'): '" + std::string(parts[1]) + "'");
        return std::nullopt;
    }
    if (!parts[2].starts_with('/')) {
        fail(error, "the key file must be an absolute path: '" + std::string(parts[2]) + "'");
        return std::nullopt;
    }
    entry.domain = std::move(*ascii_domain);
    entry.selector = std::string(parts[1]);
    entry.key_file = std::string(parts[2]);
    return entry;
}

std::optional<DkimKeyTable> DkimKeyTable::load(std::span<const std::string> lines,
                                               bool subdomains_use_parent_key, uid_t owner_uid,
                                               std::vector<std::string>* errors) {
    std::vector<Entry> entries;
    std::map<std::string, std::shared_ptr<const DkimPrivateKey>> keys_by_file;
    std::vector<std::string> problems;
    for (const auto& line : lines) {
        std::string error;
        auto parsed = parse_key_table_line(line, &error);
        if (!parsed) {
            problems.push_back("dkim_sign_key = " + line + ": " + error);
            continue;
        }
        auto& key = keys_by_file[parsed->key_file];
        if (!key) {
            auto loaded = DkimPrivateKey::load(parsed->key_file, owner_uid, &error);
            if (!loaded) {
                problems.push_back(error);
                keys_by_file.erase(parsed->key_file);
                continue;
            }
            key = std::make_shared<const DkimPrivateKey>(std::move(*loaded));
        }
        entries.push_back({std::move(*parsed), key, false});
    }
    if (!problems.empty()) {
        if (errors != nullptr)
            *errors = std::move(problems);
        return std::nullopt;
    }
    return DkimKeyTable(std::move(entries), subdomains_use_parent_key);
}

DkimKeyTable::DkimKeyTable(std::vector<Entry> entries, bool subdomains_use_parent_key)
    : entries_(std::move(entries)), subdomains_use_parent_key_(subdomains_use_parent_key) {
    index_patterns();
}

// Per pattern and key type the last entry listed signs.
void DkimKeyTable::index_patterns() {
    for (std::size_t index = 0; index < entries_.size(); ++index) {
        const Entry& entry = entries_[index];
        (entry.line.subdomains ? wildcard_ : exact_)[entry.line.domain].all.push_back(index);
    }
    for (auto* map : {&exact_, &wildcard_}) {
        for (auto& [domain, pattern] : *map) {
            for (auto index = pattern.all.rbegin(); index != pattern.all.rend(); ++index) {
                Entry& entry = entries_[*index];
                entry.signs = std::none_of(
                    pattern.signing.begin(), pattern.signing.end(), [&](std::size_t other) {
                        return entries_[other].key->type() == entry.key->type();
                    });
                if (entry.signs)
                    pattern.signing.push_back(*index);
            }
            std::sort(pattern.signing.begin(), pattern.signing.end(),
                      [this](std::size_t a, std::size_t b) {
                          return entries_[a].key->type() == DkimKeyType::ed25519 &&
                                 entries_[b].key->type() != DkimKeyType::ed25519;
                      });
        }
    }
}

std::pair<const DkimKeyTable::Pattern*, std::string>
DkimKeyTable::find(std::string_view from_domain) const {
    if (entries_.empty())
        return {nullptr, ""};
    if (from_domain.ends_with('.'))
        from_domain.remove_suffix(1);
    std::string domain = util::ascii_lowered(from_domain);
    if (const auto exact = exact_.find(domain); exact != exact_.end())
        return {&exact->second, std::move(domain)};
    for (std::size_t dot = domain.find('.'); dot != std::string::npos;
         dot = domain.find('.', dot + 1)) {
        const std::string_view parent = std::string_view(domain).substr(dot + 1);
        if (const auto wildcard = wildcard_.find(parent); wildcard != wildcard_.end())
            return {&wildcard->second, std::move(domain)};
        if (!subdomains_use_parent_key_)
            continue;
        if (const auto exact = exact_.find(parent); exact != exact_.end())
            return {&exact->second, std::string(parent)};
    }
    return {nullptr, ""};
}

std::vector<DkimSigningKey> DkimKeyTable::keys_for(std::string_view from_domain) const {
    const auto [pattern, domain] = find(from_domain);
    std::vector<DkimSigningKey> keys;
    if (pattern == nullptr)
        return keys;
    for (const std::size_t index : pattern->signing)
        keys.push_back({domain, entries_[index].line.selector, entries_[index].key});
    return keys;
}

DkimKeyTable::Match DkimKeyTable::entries_for(std::string_view from_domain) const {
    const auto [pattern, domain] = find(from_domain);
    Match match{domain, {}};
    if (pattern != nullptr)
        for (const std::size_t index : pattern->all)
            match.entries.push_back(&entries_[index]);
    return match;
}

} // namespace mailwarden::auth
