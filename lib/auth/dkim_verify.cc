// DKIM verification (see dkim_verify.hh for the contract and result words): the verifier
// and a message's session as its header fields and body arrive. The key lookups, the fast
// path and the libopendkim path are in the files dkim_verify_context.hh names.
#include "auth/dkim_verify.hh"

#include "auth/dkim_verify_context.hh"

#include <stdexcept>
#include <utility>

namespace mailwarden::auth {

using namespace dkim_detail;

namespace {

// See DkimSession::end_of_headers.
constexpr std::string_view unselectable_field_name = "Mailwarden Padding";

// Header bytes kept per message for the fast path; a message with more goes to libopendkim
// as its header fields arrive.
constexpr std::size_t max_kept_header_bytes = 128 * 1024;

} // namespace

// --- DkimVerifier ---------------------------------------------------------------------

void DkimVerifier::Close::operator()(struct dkim_lib* library) const noexcept {
    dkim_close(library);
}

DkimVerifier::DkimVerifier(DkimOptions options, dns::Resolver& resolver)
    : options_(std::make_unique<DkimOptions>(options)),
      dns_service_(std::make_unique<DnsService>(DnsService{resolver, options.dns_timeout})),
      keys_(std::make_unique<PublicKeyCache>()),
      without_library_(std::make_unique<std::atomic<std::size_t>>(0)),
      library_(dkim_init(nullptr, nullptr)) {
    if (!library_)
        throw std::runtime_error("libopendkim: dkim_init failed");
    configure_library(library_.get(), *options_);
    install_dns_hooks(library_.get(), *dns_service_);
}

DkimVerifier::DkimVerifier(DkimVerifier&&) noexcept = default;
DkimVerifier& DkimVerifier::operator=(DkimVerifier&&) noexcept = default;
DkimVerifier::~DkimVerifier() = default;

DkimSession DkimVerifier::session() const {
    auto context = std::make_unique<DkimSession::Context>();
    context->options = options_.get();
    context->dns = dns_service_.get();
    context->keys = keys_.get();
    context->library = library_.get();
    context->without_library = without_library_.get();
    // With the fast path, libopendkim's handle is opened only when a message needs it.
    const bool buffering = options_->fast_path;
    DkimSession session(nullptr, std::move(context), buffering);
    if (!buffering)
        session.open_library();
    return session;
}

std::size_t DkimVerifier::cached_keys() const {
    return keys_->size();
}

std::size_t DkimVerifier::messages_without_library() const {
    return without_library_->load();
}

// --- DkimSession ----------------------------------------------------------------------

void DkimSession::Free::operator()(struct dkim* handle) const noexcept {
    dkim_free(handle);
}

DkimSession::DkimSession(std::unique_ptr<struct dkim, Free> handle,
                         std::unique_ptr<Context> context, bool buffering)
    : handle_(std::move(handle)), context_(std::move(context)), buffering_(buffering) {}

DkimSession::DkimSession(DkimSession&&) noexcept = default;
DkimSession& DkimSession::operator=(DkimSession&&) noexcept = default;
DkimSession::~DkimSession() = default;

// libopendkim's handle for this message; false (and nothing more to verify) when it cannot
// be had.
bool DkimSession::open_library() {
    if (handle_)
        return true;
    DKIM_STAT status = DKIM_STAT_OK;
    handle_.reset(dkim_verify(
        context_->library, reinterpret_cast<const unsigned char*>("mailwarden"), nullptr, &status));
    if (!handle_) {
        hashing_ = false;
        return false;
    }
    dkim_set_user_context(handle_.get(), context_.get());
    return true;
}

void DkimSession::feed_library(std::string_view name, std::string_view value) {
    header_line_.assign(name);
    header_line_ += ':';
    header_line_ += value;
    // A header libopendkim refuses (no name, too long) is simply not part of the hash.
    (void)dkim_header(handle_.get(), reinterpret_cast<unsigned char*>(header_line_.data()),
                      header_line_.size());
}

// The kept header fields go to libopendkim, in order, as if they had just arrived.
void DkimSession::replay_headers() {
    buffering_ = false;
    if (!open_library())
        return;
    const std::string_view text(header_text_);
    for (const auto& span : header_spans_)
        feed_library(
            text.substr(span.offset, span.name_length),
            text.substr(span.offset + span.name_length + 1, span.length - span.name_length - 1));
    header_text_.clear();
    header_spans_.clear();
}

void DkimSession::header(std::string_view name, std::string_view value) {
    if (!hashing_)
        return;
    if (buffering_) {
        if (header_text_.size() + name.size() + value.size() < max_kept_header_bytes) {
            header_spans_.push_back(
                {header_text_.size(), name.size(), name.size() + 1 + value.size()});
            header_text_ += name;
            header_text_ += ':';
            header_text_ += value;
            return;
        }
        replay_headers(); // more than we keep: libopendkim takes this message
        if (!hashing_)
            return;
    }
    feed_library(name, value);
}

void DkimSession::end_of_headers() {
    if (!hashing_)
        return;
    if (buffering_) {
        buffering_ = false;
        if (take_own_headers()) {
            context_->without_library->fetch_add(1, std::memory_order_relaxed);
            return;
        }
        replay_headers();
        if (!hashing_)
            return;
    }
    // libopendkim's header selection (dkim_canon_selecthdrs, 2.11) writes one pointer past
    // an array of one per header field when an h= names every field and then more. A field
    // whose name holds a space can never be named (libopendkim removes white space from h=)
    // and changes no hash: with it the array always has room.
    feed_library(unselectable_field_name, "");
    const ActiveSession active(*context_); // key lookups start here
    const DKIM_STAT status = dkim_eoh(handle_.get());
    if (status == DKIM_STAT_NOSIG)
        hashing_ = false; // unsigned (or every signature ignored): skip the body
    else if (status == DKIM_STAT_OK) {
        choose_body_hashing();
        measure_length_tags(*context_, handle_.get());
    }
}

void DkimSession::body(std::span<const char> chunk) {
    if (!hashing_ || chunk.empty())
        return;
    body_line_open_ = chunk.back() != '\n';
    const std::string_view text(chunk.data(), chunk.size());
    if (context_->simple_body)
        context_->simple_body->update(text);
    if (context_->relaxed_body)
        context_->relaxed_body->update(text);
    if (context_->own_body)
        return;
    auto* bytes = reinterpret_cast<unsigned char*>(const_cast<char*>(chunk.data()));
    (void)dkim_body(handle_.get(), bytes, chunk.size());
    body_tail_ += std::string_view(chunk.data(), chunk.size())
                      .substr(chunk.size() - std::min<std::size_t>(2, chunk.size()));
    body_tail_.erase(0, body_tail_.size() - std::min<std::size_t>(2, body_tail_.size()));
}

std::vector<DkimSignatureResult> DkimSession::end_of_message() {
    std::vector<DkimSignatureResult> results;
    if (!hashing_)
        return results;
    if (body_line_open_) // libopendkim refuses a body without it (and our hashes add it)
        body(std::string_view("\r\n"));
    hashing_ = false;
    if (context_->own_headers)
        return judge_own_headers();
    // libopendkim 2.11 fails (DKIM_STAT_SYNTAX) on a relaxed body whose last line has no CRLF;
    // RFC 6376 §3.4.3/§3.4.4 canonicalize such a body as if the CRLF were there, so give it.
    if (!body_tail_.empty() && body_tail_ != "\r\n") {
        static constexpr unsigned char crlf[] = {'\r', '\n'};
        (void)dkim_body(handle_.get(), const_cast<unsigned char*>(crlf), sizeof crlf);
    }
    {
        const ActiveSession active(*context_);
        (void)dkim_eom(handle_.get(), nullptr); // per-signature outcome is read below
    }
    if (!context_->own_body) // the canonical lengths of measure_length_tags
        for (auto* measured : {&context_->simple_body, &context_->relaxed_body})
            if (*measured)
                (void)(*measured)->finish();
    DKIM_SIGINFO** signatures = nullptr;
    int count = 0;
    if (dkim_getsiglist(handle_.get(), &signatures, &count) != DKIM_STAT_OK ||
        signatures == nullptr)
        return results;
    for (int index = 0; index < count; ++index)
        results.push_back(judge(signatures[index]));
    return results;
}

} // namespace mailwarden::auth
