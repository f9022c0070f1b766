// Public Suffix List loading and lookup (see public_suffix.hh for the contract). Reads only
// the file it is given; fails by returning nullopt with a message, never by throwing on bad
// input.
#include "auth/public_suffix.hh"
#include "util/ascii.hh"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "auth/idna.hh"

namespace mailwarden::auth {
namespace {

bool forbidden_byte(char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte <= 0x20 || byte == 0x7F;
}

// One name, lower-cased with the trailing dot removed ("display", the caller's form) and in
// A-label form ("ascii", what rules are keyed by). Lives on the stack; the heap is used
// only for names holding U-labels.
class NormalizedName {
public:
    bool assign(std::string_view name);
    std::string_view display() const { return {display_.data(), display_size_}; }
    std::string_view ascii() const { return ascii_storage_.empty() ? display() : ascii_storage_; }

private:
    bool convert_to_a_labels();

    std::array<char, max_psl_input_bytes> display_; // no {}: a 1 KB memset per lookup
    std::size_t display_size_ = 0;
    std::string ascii_storage_;
};

bool valid_labels(std::string_view name) {
    if (name.empty() || name.size() > max_psl_name_bytes)
        return false;
    std::size_t label_start = 0;
    for (std::size_t i = 0; i <= name.size(); ++i) {
        if (i < name.size() && name[i] != '.')
            continue;
        const std::size_t length = i - label_start;
        if (length == 0 || length > max_psl_label_bytes)
            return false;
        label_start = i + 1;
    }
    return true;
}

bool NormalizedName::assign(std::string_view name) {
    if (!name.empty() && name.back() == '.')
        name.remove_suffix(1);
    if (name.empty() || name.size() > display_.size())
        return false;
    if (std::any_of(name.begin(), name.end(), forbidden_byte))
        return false;
    std::transform(name.begin(), name.end(), display_.begin(), util::ascii_lower);
    display_size_ = name.size();
    ascii_storage_.clear();
    if (has_non_ascii(display()) && !convert_to_a_labels())
        return false;
    return valid_labels(ascii());
}

bool NormalizedName::convert_to_a_labels() {
    auto ascii = domain_to_ascii(display());
    if (!ascii)
        return false;
    ascii_storage_ = std::move(*ascii);
    return true;
}

// The last `count` labels of a valid name (count >= 1; no leading dot, no empty label).
std::string_view last_labels(std::string_view name, std::size_t count) {
    std::size_t start = name.size();
    for (; count > 0; --count) {
        const std::size_t dot = name.rfind('.', start - 1);
        if (dot == std::string_view::npos)
            return name;
        start = dot;
    }
    return name.substr(start + 1);
}

std::size_t label_count(std::string_view name) {
    return static_cast<std::size_t>(std::count(name.begin(), name.end(), '.')) + 1;
}

} // namespace

bool PublicSuffixList::add_rule(std::string_view rule) {
    std::uint8_t kind = normal_rule;
    if (rule.starts_with('!')) {
        kind = exception_rule;
        rule.remove_prefix(1);
    } else if (rule == "*") {
        return true; // the implicit default rule
    } else if (rule.starts_with("*.")) {
        kind = wildcard_rule;
        rule.remove_prefix(2);
    }
    if (rule.ends_with('.') || rule.find_first_of("*!") != std::string_view::npos)
        return false;
    NormalizedName name;
    if (!name.assign(rule))
        return false;
    std::string_view key = name.ascii();
    if (kind == exception_rule && key.find('.') == std::string_view::npos)
        return false;
    rules_[std::string(key)] |= kind;
    ++rule_count_;
    for (auto dot = key.find('.'); dot != std::string_view::npos; dot = key.find('.')) {
        key.remove_prefix(dot + 1);
        rules_.try_emplace(std::string(key), std::uint8_t{0});
    }
    return true;
}

PublicSuffixList PublicSuffixList::from_text(std::string_view text, PslSections sections) {
    PublicSuffixList list;
    bool in_private_section = false;
    while (!text.empty()) {
        const std::size_t end = std::min(text.find('\n'), text.size());
        std::string_view line = text.substr(0, end);
        text.remove_prefix(std::min(end + 1, text.size()));
        line.remove_prefix(std::min(line.find_first_not_of(" \t\r"), line.size()));
        if (line.starts_with("//")) {
            if (line.find("===BEGIN PRIVATE DOMAINS===") != std::string_view::npos)
                in_private_section = true;
            else if (line.find("===END PRIVATE DOMAINS===") != std::string_view::npos)
                in_private_section = false;
            continue;
        }
        // Only the text up to the first whitespace is the rule (publicsuffix.org format).
        line = line.substr(0, std::min(line.find_first_of(" \t\r"), line.size()));
        if (line.empty() || (in_private_section && sections == PslSections::icann_only))
            continue;
        if (!list.add_rule(line))
            ++list.skipped_lines_;
    }
    return list;
}

std::optional<PublicSuffixList> PublicSuffixList::load(const std::string& path, std::string* error,
                                                       PslSections sections) {
    std::ifstream input(path, std::ios::binary);
    std::ostringstream contents;
    if (input)
        contents << input.rdbuf();
    if (!input || input.bad()) {
        if (error)
            *error = "cannot read public suffix list " + path + ": " + std::strerror(errno);
        return std::nullopt;
    }
    PublicSuffixList list = from_text(contents.view(), sections);
    if (list.rule_count_ == 0) {
        if (error)
            *error = "no usable rule in public suffix list " + path;
        return std::nullopt;
    }
    return list;
}

// Walks the name from its last label leftwards, one probe per label, stopping at the first
// suffix that is neither a rule nor part of one. Returns the public suffix's label count.
std::size_t PublicSuffixList::suffix_label_count(std::string_view ascii_name) const {
    std::size_t longest = 1; // rule "*"
    std::size_t labels = 0;
    for (std::size_t end = ascii_name.size(); end != std::string_view::npos;) {
        const std::size_t dot = ascii_name.rfind('.', end - 1);
        const bool leftmost = dot == std::string_view::npos;
        ++labels;
        const auto entry = rules_.find(ascii_name.substr(leftmost ? 0 : dot + 1));
        if (entry == rules_.end())
            break;
        if (entry->second & exception_rule)
            return labels - 1; // exceptions prevail; their leftmost label is not public
        if (entry->second & normal_rule)
            longest = std::max(longest, labels);
        if ((entry->second & wildcard_rule) && !leftmost)
            longest = std::max(longest, labels + 1);
        end = dot;
    }
    return longest;
}

template <typename Result>
Result PublicSuffixList::with_suffix(std::string_view domain, Result invalid, auto&& make) const {
    NormalizedName name;
    if (!name.assign(domain))
        return invalid;
    const std::size_t suffix_labels = suffix_label_count(name.ascii());
    return make(name.display(), suffix_labels, label_count(name.display()));
}

std::string PublicSuffixList::public_suffix(std::string_view domain) const {
    return with_suffix(domain, std::string(), [](std::string_view name, std::size_t suffix, auto) {
        return std::string(last_labels(name, suffix));
    });
}

std::optional<std::string> PublicSuffixList::registrable_domain(std::string_view domain) const {
    return with_suffix(domain, std::optional<std::string>(),
                       [](std::string_view name, std::size_t suffix,
                          std::size_t total) -> std::optional<std::string> {
                           if (suffix >= total)
                               return std::nullopt;
                           return std::string(last_labels(name, suffix + 1));
                       });
}

std::string PublicSuffixList::organizational_domain(std::string_view domain) const {
    return with_suffix(domain, std::string(),
                       [](std::string_view name, std::size_t suffix, std::size_t total) {
                           return std::string(last_labels(name, std::min(suffix + 1, total)));
                       });
}

} // namespace mailwarden::auth
