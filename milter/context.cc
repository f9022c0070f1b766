// See context.hh.
#include "milter/context.hh"

#include "milter/frame.hh"

namespace mailwarden::milter {

namespace {

// "{i}" → "i"; other names as given.
std::string_view without_braces(std::string_view name) {
    if (name.size() >= 2 && name.front() == '{' && name.back() == '}')
        name = name.substr(1, name.size() - 2);
    return name;
}

} // namespace

std::string_view Context::macro(std::string_view name) const {
    name = without_braces(name);
    for (auto stage = macros_.rbegin(); stage != macros_.rend(); ++stage)
        for (const auto& [macro_name, value] : stage->pairs)
            if (without_braces(macro_name) == name)
                return value;
    return {};
}

bool Context::set_macros(MacroStage stage, std::string_view pairs) {
    Macros& macros = macros_[static_cast<std::size_t>(stage)];
    macros.pairs.clear();
    macros.data.assign(pairs); // keeps its capacity from message to message
    if (!pairs.empty() && pairs.back() != '\0')
        return false;
    std::string_view rest = macros.data;
    while (!rest.empty()) {
        const std::size_t name_end = rest.find('\0');
        const std::size_t value_end = rest.find('\0', name_end + 1);
        if (value_end == std::string_view::npos) { // a name without its value
            macros.pairs.clear();
            return false;
        }
        macros.pairs.emplace_back(rest.substr(0, name_end),
                                  rest.substr(name_end + 1, value_end - name_end - 1));
        rest.remove_prefix(value_end + 1);
    }
    return true;
}

void Context::clear_macros_after(MacroStage stage) {
    for (auto i = static_cast<std::size_t>(stage) + 1; i < macros_.size(); ++i)
        macros_[i].pairs.clear();
}

void Context::reset() {
    for (auto& macros : macros_)
        macros.pairs.clear();
    negotiated = Negotiated{};
    session.reset();
    output.clear();
    macro_lists.clear();
    reply_text_.clear();
}

void Context::set_reply(std::string_view code, std::string_view status, std::string_view text) {
    reply_text_.assign(code);
    reply_text_ += ' ';
    reply_text_ += status;
    if (!text.empty()) {
        reply_text_ += ' ';
        reply_text_ += text;
    }
}

namespace {

// INDEX NAME\0VALUE\0, the data of a header insertion or change.
std::string indexed_header(std::uint32_t index, std::string_view name, std::string_view value) {
    std::string data;
    data.reserve(4 + name.size() + value.size() + 2);
    append_u32(data, index);
    data += name;
    data += '\0';
    data += value;
    data += '\0';
    return data;
}

} // namespace

void Context::insert_header(std::uint32_t index, std::string_view name, std::string_view value) {
    append_frame(output, reply::insert_header, indexed_header(index, name, value));
}

void Context::change_header(std::string_view name, std::uint32_t index, std::string_view value) {
    append_frame(output, reply::change_header, indexed_header(index, name, value));
}

void Context::quarantine(std::string_view reason) {
    std::string data(reason);
    data += '\0';
    append_frame(output, reply::quarantine, data);
}

void Context::set_macro_list(std::uint32_t stage, std::string names) {
    macro_lists.emplace_back(stage, std::move(names));
}

void Context::answer(Status status) {
    const bool with_text =
        !reply_text_.empty() && ((status == Status::reject && reply_text_[0] == '5') ||
                                 (status == Status::tempfail && reply_text_[0] == '4'));
    switch (status) {
    case Status::continue_:
        append_frame(output, reply::continue_);
        break;
    case Status::reject:
    case Status::tempfail:
        if (with_text) {
            std::string data = reply_text_;
            data += '\0';
            append_frame(output, reply::reply_code, data);
        } else {
            append_frame(output, status == Status::reject ? reply::reject : reply::tempfail);
        }
        break;
    case Status::discard:
        append_frame(output, reply::discard);
        break;
    case Status::accept:
        append_frame(output, reply::accept);
        break;
    case Status::skip:
        append_frame(output, negotiated.can_skip ? reply::skip : reply::continue_);
        break;
    case Status::no_reply:
        break;
    }
    reply_text_.clear();
}

} // namespace mailwarden::milter
