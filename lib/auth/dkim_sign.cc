// See dkim_sign.hh.
#include "auth/dkim_sign.hh"

#include "auth/dkim_header.hh"
#include "auth/dkim_key.hh"
#include "util/ascii.hh"

#include <algorithm>

namespace mailwarden::auth {

namespace {

constexpr std::size_t max_line = 78;
constexpr std::size_t base64_piece = 8; // b= is folded between pieces of this many characters

std::string_view canon_name(DkimBodyHash::Canon canon) {
    return canon == DkimBodyHash::Canon::simple ? "simple" : "relaxed";
}

// A header value built piece by piece, folded (CRLF TAB) before a piece that would make the
// line longer than max_line.
class FoldedValue {
public:
    explicit FoldedValue(std::size_t used) : line_(used) {}
    void append(std::string_view piece, bool space_before) {
        const std::size_t needed = piece.size() + (space_before ? 1 : 0);
        if (line_ > 1 && line_ + needed > max_line) {
            text_ += "\r\n\t";
            line_ = 1;
        } else if (space_before) {
            text_ += ' ';
            ++line_;
        }
        text_ += piece;
        line_ += piece.size();
    }
    const std::string& text() const { return text_; }

private:
    std::string text_;
    std::size_t line_;
};

bool contains_name(std::span<const std::string> names, std::string_view name) {
    return std::any_of(names.begin(), names.end(), [name](const std::string& listed) {
        return util::equal_ignoring_ascii_case(listed, name);
    });
}

} // namespace

std::vector<std::string> signed_header_names(std::span<const std::string> headers,
                                             std::span<const std::string> oversigned) {
    std::vector<std::string> names{"from"};
    for (const auto& group : {headers, oversigned})
        for (const auto& name : group)
            if (!contains_name(names, name))
                names.push_back(util::ascii_lowered(name));
    return names;
}

DkimSigningSession::DkimSigningSession(const DkimSignOptions& options)
    : options_(&options), body_hash_(options.body_canon) {}

void DkimSigningSession::header(std::string_view name, std::string_view value) {
    if (too_large_ || !contains_name(options_->headers, name))
        return;
    if (text_.size() + name.size() + value.size() > max_signed_header_bytes) {
        too_large_ = true;
        return;
    }
    kept_.push_back({text_.size(), name.size(), value.size()});
    text_ += name;
    text_ += value;
}

void DkimSigningSession::body(std::string_view chunk) {
    body_hash_.update(chunk);
}

DkimSignResult DkimSigningSession::sign(std::span<const DkimSigningKey> keys, std::uint64_t now) {
    DkimSignResult result;
    if (keys.empty())
        return result;
    if (too_large_) {
        result.error = "the header fields to sign are larger than " +
                       std::to_string(max_signed_header_bytes / 1024) + " KB";
        return result;
    }
    const std::string body_hash = body_hash_.finish();
    if (body_hash.empty()) {
        result.error = "OpenSSL could not hash the body";
        return result;
    }
    for (const auto& key : keys) {
        std::string error;
        std::string value = signature_value(key, now, body_hash, &error);
        if (value.empty()) {
            result.signatures.clear();
            result.error = std::move(error);
            return result;
        }
        result.signatures.push_back({std::move(value), key.domain, key.selector,
                                     std::string(key.key->algorithm()), key.key->bits()});
    }
    return result;
}

std::string DkimSigningSession::signature_value(const DkimSigningKey& key, std::uint64_t now,
                                                std::string_view body_hash,
                                                std::string* error) const {
    std::vector<HeaderField> fields;
    fields.reserve(kept_.size());
    const std::string_view text(text_);
    for (const auto& kept : kept_)
        fields.push_back({text.substr(kept.offset, kept.name_length),
                          text.substr(kept.offset + kept.name_length, kept.value_length)});
    // h=: each name once per field of that name, oversigned names once more.
    std::vector<std::string> names;
    for (const auto& name : options_->headers) {
        const auto present = static_cast<std::size_t>(
            std::count_if(fields.begin(), fields.end(), [&](const HeaderField& field) {
                return util::equal_ignoring_ascii_case(field.name, name);
            }));
        std::size_t listed = present + (contains_name(options_->oversigned, name) ? 1 : 0);
        if (listed == 0 && util::equal_ignoring_ascii_case(name, "from"))
            listed = 1; // From is always signed (§5.4), present or not

        names.insert(names.end(), listed, name);
    }
    FoldedValue value(dkim_signature_field.size() + 2); // "DKIM-Signature: "
    value.append("v=1;", false);
    value.append("a=" + std::string(key.key->algorithm()) + ";", true);
    value.append("c=" + std::string(canon_name(options_->header_canon)) + "/" +
                     std::string(canon_name(options_->body_canon)) + ";",
                 true);
    value.append("d=" + key.domain + ";", true);
    value.append("s=" + key.selector + ";", true);
    value.append("t=" + std::to_string(now) + ";", true);
    if (options_->lifetime_seconds > 0)
        value.append("x=" + std::to_string(now + options_->lifetime_seconds) + ";", true);
    if (names.empty()) {
        *error = "no header field to sign";
        return "";
    }
    for (std::size_t at = 0; at < names.size(); ++at)
        value.append((at == 0 ? "h=" : "") + names[at] + (at + 1 < names.size() ? ":" : ";"),
                     at == 0);
    value.append("bh=" + encode_base64(body_hash) + ";", true);
    value.append("b=", true);
    // The header hash covers this field as it will be written, b= still empty (§3.7).
    const std::string emptied = " " + value.text();
    const auto header_hash =
        dkim_header_hash(fields, names, options_->header_canon, {dkim_signature_field, emptied});
    const auto signature = header_hash ? key.key->sign_digest(*header_hash) : std::nullopt;
    if (!signature) {
        *error = "the " + std::string(key.key->algorithm()) + " key of selector " + key.selector +
                 " for " + key.domain + " could not sign";
        return "";
    }
    const std::string encoded = encode_base64(*signature);
    for (std::size_t at = 0; at < encoded.size(); at += base64_piece)
        value.append(std::string_view(encoded).substr(at, base64_piece), false);
    return value.text();
}

} // namespace mailwarden::auth
