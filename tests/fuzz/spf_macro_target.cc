// See spf_macro_target.hh.
#include "spf_macro_target.hh"

#include "auth/spf.hh"
#include "auth/spf_macro.hh"
#include "auth/spf_syntax.hh"
#include "dns/fake_resolver.hh"
#include "dns/zone_file.hh"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

namespace mailwarden::fuzz {

namespace {

constexpr std::size_t max_field_bytes = 2048;

std::vector<std::string_view> split_fields(std::string_view input) {
    std::vector<std::string_view> fields;
    while (fields.size() < 6) {
        const std::size_t end = std::min(input.find('\n'), input.size());
        fields.push_back(input.substr(0, std::min(end, max_field_bytes)));
        input.remove_prefix(std::min(end + 1, input.size()));
    }
    return fields;
}

const char* const fixed_zone = R"zone(
fuzz.test            MX 10 mail.fuzz.test
mail.fuzz.test       A 192.0.2.1
mail.fuzz.test       AAAA 2001:db8::1
1.2.0.192.in-addr.arpa PTR mail.fuzz.test
1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa PTR mail.fuzz.test
inc.fuzz.test        TXT "v=spf1 exists:%{l}.%{o}.%{d2}.%{v}.%{h} ptr:%{d} -all exp=exp.fuzz.test"
red.fuzz.test        TXT "v=spf1 redirect=%{d2}"
slow.fuzz.test       TIMEOUT
)zone";

[[noreturn]] void broken(const char* what, const auth::SpfResult& result) {
    std::fprintf(stderr, "spf fuzz invariant broken: %s (result %s, reason %s)\n", what,
                 result.result.c_str(), result.reason.c_str());
    std::abort();
}

void check(const auth::SpfResult& result) {
    static constexpr std::array<std::string_view, 7> words{
        "pass", "fail", "softfail", "neutral", "none", "temperror", "permerror"};
    bool known = false;
    for (const auto word : words)
        known = known || result.result == word;
    if (!known)
        broken("result is not an RFC 8601 word", result);
    if (!result.explanation.empty() && result.result != "fail")
        broken("explanation without fail", result);
}

// The parser and the expander on their own: they agree with each other, and an expansion
// is bounded and holds no byte the text could not.
void check_parts(std::string_view record, std::string_view explanation,
                 std::string_view local_part) {
    const auto parsed = auth::parse_spf_record(record);
    if (parsed.record.has_value() != !auth::spf_syntax_error(record).has_value())
        broken("parse_spf_record and spf_syntax_error disagree", {});
    const auto client = util::parse_ip("2001:db8::1");
    const std::string sender = std::string(local_part) + "@fuzz.test";
    const auth::SpfMacroValues values{.sender = sender,
                                      .local_part = local_part,
                                      .sender_domain = "fuzz.test",
                                      .domain = "fuzz.test",
                                      .helo = local_part,
                                      .receiver = "mx.fuzz.test",
                                      .client = &*client,
                                      .now = 1,
                                      .validated_name = [] { return std::string("unknown"); }};
    for (const auto use : {auth::SpfMacroUse::domain_spec, auth::SpfMacroUse::explanation}) {
        const auto expanded = auth::expand_spf_macros(explanation, use, values);
        const bool valid = auth::is_spf_explain_string(explanation);
        if (use == auth::SpfMacroUse::explanation ? expanded.has_value() != valid
                                                  : expanded.has_value() && !valid)
            broken("expand_spf_macros and the syntax check disagree", {});
        // Each macro adds at most its value URL-escaped (3 bytes for 1) plus one dot a part.
        const std::size_t bound = explanation.size() * (4 * (sender.size() + 80) + 1);
        if (expanded && expanded->size() > bound)
            broken("expansion longer than its bound", {});
    }
}

} // namespace

std::string spf_macro_one(std::string_view input) {
    const auto fields = split_fields(input);
    check_parts(fields[0], fields[1], fields[2]);
    std::string record(fields[0]);
    if (record.rfind("v=spf1", 0) != 0)
        record = "v=spf1 " + record;
    dns::Zone zone;
    if (const auto error =
            zone.add(std::string(fixed_zone) + dns::zone_txt_line("fuzz.test", record) +
                         dns::zone_txt_line("exp.fuzz.test", fields[1]),
                     "fuzz"))
        broken(error->c_str(), {});
    dns::FakeResolver resolver(std::move(zone));

    auth::SpfOptions options;
    options.time_budget = std::chrono::milliseconds(2000);
    if (!fields[4].empty())
        options.default_explanation = std::string(fields[4]);
    static constexpr std::array<const char*, 4> addresses{"192.0.2.1", "2001:db8::1",
                                                          "198.51.100.7", "::ffff:192.0.2.1"};
    const char* ip =
        addresses[fields[5].empty() ? 0
                                    : static_cast<unsigned char>(fields[5][0]) % addresses.size()];
    std::unique_ptr<auth::SpfVerifier> verifier;
    try {
        verifier = std::make_unique<auth::SpfVerifier>(options, resolver);
    } catch (const std::runtime_error&) {
        return "invalid default explanation"; // `mailwarden config check` refuses it
    }
    const std::string sender = std::string(fields[2]) + "@fuzz.test";
    auto result = verifier->check_mail_from(ip, fields[3], sender);
    check(result);
    check(
        verifier->check_mail_from(ip, "mail.fuzz.test", std::string(fields[2]) + "@inc.fuzz.test"));
    check(verifier->check_helo(ip, fields[3]));
    return result.result;
}

} // namespace mailwarden::fuzz
