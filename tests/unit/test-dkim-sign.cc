// Unit tests of DKIM signing (lib/auth/dkim_sign, dkim_key_table): the key table's syntax and
// lookup, the signature's tags, header list and folding, and signatures of every kind of
// message verified twice, by our verifier (lib/auth/dkim_verify) and by dkimpy (Debian's
// python3-dkim, an independent implementation, through tests/unit/dkimpy-verify.py).
#include "auth/dkim_key.hh"
#include "auth/dkim_sign.hh"
#include "auth/dkim_verify.hh"
#include "child_process.hh"
#include "dkim_test_signer.hh"
#include "dns/fake_resolver.hh"
#include "signing_keys.hh"

#include <boost/test/unit_test.hpp>

#include <ctime>
#include <functional>
#include <map>
#include <sstream>

using namespace mailwarden;
using auth::DkimKeyTable;
using auth::DkimKeyType;
using auth::DkimSigningKey;
using auth::DkimSigningSession;
using auth::DkimSignOptions;
using Canon = auth::DkimBodyHash::Canon;
using dkim_test::Message;
using signing_test::TempDir;

namespace {

const std::vector<std::string> default_headers = {"From",         "To",
                                                  "Cc",           "Subject",
                                                  "Date",         "Message-ID",
                                                  "Reply-To",     "In-Reply-To",
                                                  "References",   "MIME-Version",
                                                  "Content-Type", "Content-Transfer-Encoding",
                                                  "List-Id",      "List-Unsubscribe"};
const std::vector<std::string> default_oversigned = {"From",    "To",   "Cc",
                                                     "Subject", "Date", "Reply-To"};

DkimSignOptions options_with(Canon header, Canon body, std::uint64_t lifetime = 0) {
    DkimSignOptions options;
    options.header_canon = header;
    options.body_canon = body;
    options.headers = auth::signed_header_names(default_headers, default_oversigned);
    options.oversigned = default_oversigned;
    options.lifetime_seconds = lifetime;
    return options;
}

std::shared_ptr<const auth::DkimPrivateKey> shared(const auth::DkimPrivateKey& key) {
    return std::make_shared<const auth::DkimPrivateKey>(key);
}

std::vector<DkimSigningKey> both_keys(const std::string& domain = "example.test") {
    return {{domain, "ed", shared(signing_test::ed25519_key())},
            {domain, "rsa", shared(signing_test::rsa_key())}};
}

std::uint64_t now() {
    return static_cast<std::uint64_t>(std::time(nullptr));
}

// Signs `message` and puts the signatures on top of it, as the milter does.
auth::DkimSignResult sign(Message& message, const DkimSignOptions& options,
                          const std::vector<DkimSigningKey>& keys, std::size_t chunk = 4096) {
    return dkim_test::sign_with_ours(message, options, keys, chunk);
}

std::string zone() {
    return dkim_test::txt_line("ed._domainkey.example.test",
                               signing_test::ed25519_key().key_record()) +
           dkim_test::txt_line("rsa._domainkey.example.test", signing_test::rsa_key().key_record());
}

// Our verifier's results for a message given as header fields and a body source.
std::vector<std::string> our_results(const Message& headers_only,
                                     const std::function<void(auth::DkimSession&)>& feed_body) {
    dns::FakeResolver resolver = dns::FakeResolver::from_text(zone());
    auth::DkimVerifier verifier(auth::DkimOptions{}, resolver);
    auto session = verifier.session();
    for (const auto& [name, value] : headers_only.headers)
        session.header(name, value);
    session.end_of_headers();
    feed_body(session);
    std::vector<std::string> words;
    for (const auto& result : session.end_of_message())
        words.push_back(result.result + (result.reason.empty() ? "" : " " + result.reason));
    return words;
}

std::vector<std::string> our_results(const Message& message) {
    return our_results(message, [&message](auth::DkimSession& session) {
        session.body(std::span(message.body.data(), message.body.size()));
    });
}

// dkimpy's verdict per message file and signature index: "pass" or "fail REASON".
std::map<std::string, std::vector<std::string>>
dkimpy_results(const TempDir& dir, const std::vector<std::string>& files) {
    const std::string keys = dir.file("keys.txt");
    signing_test::write_file(
        keys,
        "ed._domainkey.example.test " + signing_test::ed25519_key().key_record() + "\n" +
            "rsa._domainkey.example.test " + signing_test::rsa_key().key_record() + "\n",
        0600);
    std::vector<std::string> argv = {
        "/usr/bin/python3", (test::source_directory() / "tests/unit/dkimpy-verify.py").string(),
        keys};
    argv.insert(argv.end(), files.begin(), files.end());
    test::ChildProcess python(argv, dir.file("dkimpy.out"));
    const auto status = python.wait_exit(std::chrono::seconds(120));
    BOOST_REQUIRE_MESSAGE(status && *status == 0, "dkimpy-verify.py: " + python.output());
    std::map<std::string, std::vector<std::string>> results;
    std::istringstream lines(python.output());
    for (std::string line; std::getline(lines, line);) {
        std::istringstream words(line);
        std::string path, index, verdict;
        words >> path >> index;
        std::getline(words, verdict);
        results[path].push_back(verdict.substr(verdict.find_first_not_of(' ')));
    }
    return results;
}

std::string write_message(const TempDir& dir, const std::string& name, const Message& message) {
    return signing_test::write_file(dir.file(name), dkim_test::to_text(message), 0600);
}

// Message kinds the issue names: folded and 8-bit headers, bodies with and without a final
// CRLF, empty bodies, and the whitespace relaxed canonicalization changes.
std::vector<std::pair<std::string, Message>> message_kinds() {
    std::vector<std::pair<std::string, Message>> kinds;
    kinds.emplace_back("plain", dkim_test::sample_message());
    Message folded = dkim_test::sample_message();
    folded.headers.emplace_back("Subject", " a subject long enough to be folded\r\n\tonto a "
                                           "second line\r\n   and a third,  with  runs   ");
    folded.headers[1] = {"To", " Bob <bob@example.net>,\r\n Carol <carol@example.net>"};
    folded.headers.emplace_back("CC", "   dave@example.net  ");
    kinds.emplace_back("folded", folded);
    Message eight_bit = dkim_test::sample_message("J\xc3\xbcrgen M\xc3\xbcller <j@example.test>");
    eight_bit.headers[2] = {"Subject", " Gr\xc3\xbc\xc3\x9f"
                                       "e aus K\xc3\xb6ln \xe2\x80\x94 \xf0\x9f\x93\xa7"};
    eight_bit.body = "Sch\xc3\xb6ne Gr\xc3\xbc\xc3\x9f"
                     "e\r\n\xe2\x82\xac 100\r\n";
    kinds.emplace_back("8bit", eight_bit);
    Message no_final_crlf = dkim_test::sample_message();
    no_final_crlf.body = "line one\r\nline two without an end";
    kinds.emplace_back("no-final-crlf", no_final_crlf);
    Message empty = dkim_test::sample_message();
    empty.body.clear();
    kinds.emplace_back("empty-body", empty);
    Message blank = dkim_test::sample_message();
    blank.body = "\r\n\r\n\r\n";
    kinds.emplace_back("blank-lines-only", blank);
    Message spaces = dkim_test::sample_message();
    spaces.body = "  indented \t and\t\ttabbed  \r\n\t\r\ntrailing   \r\n\r\n\r\n";
    kinds.emplace_back("whitespace", spaces);
    return kinds;
}

std::string tag(const std::string& value, const std::string& name) {
    const auto tags = auth::parse_tag_list(value);
    BOOST_REQUIRE(tags);
    const auto found = tags->find(name);
    return found == tags->end() ? "(absent)" : found->second;
}

std::string unfolded(std::string text) {
    for (std::size_t at; (at = text.find("\r\n\t")) != std::string::npos;)
        text.erase(at, 3);
    return text;
}

} // namespace

// libopendkim's C `struct dkim` lives in the global namespace: the suite's namespace must not.
namespace dkim_sign_tests {

BOOST_AUTO_TEST_SUITE(dkim_sign)

BOOST_AUTO_TEST_CASE(key_table_lines_are_parsed_strictly) {
    const std::vector<std::pair<std::string, bool>> cases = {
        {"example.com sel /etc/k.key", true},
        {"  Example.COM   s-2026.a\t/k  ", true},
        {"*.example.com sel /k", true},
        {"example.com sel", false},
        {"example.com sel /k extra", false},
        {"example.com sel relative/k", false},
        {"exa_mple.com sel /k", false},
        {"-example.com sel /k", false},
        {"example..com sel /k", false},
        {"*example.com sel /k", false},
        {"*.*.example.com sel /k", false},
        {"example.com se_l /k", false},
        {"example.com sel; /k", false},
        {"b\xc3\xbc"
         "cher.example sel /k",
         true},
        {"b\xff"
         "cher.example sel /k",
         false},
        {"xn--bcher-kva.example sel /k", true},
        {"", false},
    };
    for (const auto& [line, valid] : cases) {
        std::string error;
        const auto entry = auth::parse_key_table_line(line, &error);
        BOOST_TEST(entry.has_value() == valid, line << ": " << error);
    }
    const auto entry = auth::parse_key_table_line("  Example.COM   s-2026.a\t/k  ", nullptr);
    BOOST_TEST(entry->domain == "example.com");
    BOOST_TEST(entry->selector == "s-2026.a");
    BOOST_TEST(entry->key_file == "/k");
    // RFC 8616: a domain in U-labels is kept as its A-labels, the form a From: domain of
    // such mail takes in the engine; bytes that are not UTF-8 are refused by name.
    const auto internationalized = auth::parse_key_table_line("*.B\xc3\x9c"
                                                              "cher.example sel /k",
                                                              nullptr);
    BOOST_TEST(internationalized->domain == "xn--bcher-kva.example");
    BOOST_TEST(internationalized->subdomains);
    std::string error;
    auth::parse_key_table_line("b\xff"
                               "cher.example sel /k",
                               &error);
    BOOST_TEST(error.find("IDNA2008") != std::string::npos);
}

namespace {

DkimKeyTable::Entry entry(const std::string& line, const auth::DkimPrivateKey& key) {
    return {*auth::parse_key_table_line(line, nullptr), shared(key), false};
}

std::string keys_text(const std::vector<DkimSigningKey>& keys) {
    std::string text;
    for (const auto& key : keys)
        text += (text.empty() ? "" : " ") + key.domain + ":" + key.selector + ":" +
                std::string(auth::key_type_name(key.key->type()));
    return text;
}

} // namespace

BOOST_AUTO_TEST_CASE(the_key_table_finds_exact_then_wildcard_then_parent_domains) {
    const auto& ed = signing_test::ed25519_key();
    const auto& rsa = signing_test::rsa_key();
    const std::vector<DkimKeyTable::Entry> entries = {
        entry("example.com r1 /k1", rsa), entry("example.com e1 /k2", ed),
        entry("*.example.com w1 /k3", ed), entry("shop.example.com s1 /k4", rsa),
        entry("example.org o1 /k5", ed)};
    const DkimKeyTable without_parent(entries, false);
    const DkimKeyTable with_parent(entries, true);
    const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
        // from domain, keys without the parent option, keys with it
        {"example.com", "example.com:e1:ed25519 example.com:r1:rsa",
         "example.com:e1:ed25519 example.com:r1:rsa"},
        {"EXAMPLE.com.", "example.com:e1:ed25519 example.com:r1:rsa",
         "example.com:e1:ed25519 example.com:r1:rsa"},
        {"shop.example.com", "shop.example.com:s1:rsa", "shop.example.com:s1:rsa"},
        {"news.example.com", "news.example.com:w1:ed25519", "news.example.com:w1:ed25519"},
        {"a.b.example.com", "a.b.example.com:w1:ed25519", "a.b.example.com:w1:ed25519"},
        {"x.shop.example.com", "x.shop.example.com:w1:ed25519", "shop.example.com:s1:rsa"},
        {"mail.example.org", "", "example.org:o1:ed25519"},
        {"example.net", "", ""},
        {"com", "", ""},
        {"", "", ""},
        {"notexample.com", "", ""},
    };
    for (const auto& [from, expected, expected_with_parent] : cases) {
        BOOST_TEST(keys_text(without_parent.keys_for(from)) == expected, from);
        BOOST_TEST(keys_text(with_parent.keys_for(from)) == expected_with_parent, from);
    }
}

BOOST_AUTO_TEST_CASE(the_last_key_of_each_type_signs_and_older_selectors_stand_by) {
    const auto& ed = signing_test::ed25519_key();
    const auto& rsa = signing_test::rsa_key();
    const DkimKeyTable table(
        {entry("example.com rsa2025 /k1", rsa), entry("example.com ed2025 /k2", ed),
         entry("example.com rsa2026 /k3", rsa), entry("example.com ed2026 /k4", ed)},
        false);
    BOOST_TEST(keys_text(table.keys_for("example.com")) ==
               "example.com:ed2026:ed25519 example.com:rsa2026:rsa");
    std::vector<bool> signs;
    for (const auto& listed : table.entries())
        signs.push_back(listed.signs);
    BOOST_TEST(signs == std::vector<bool>({false, false, true, true}));
}

BOOST_AUTO_TEST_CASE(loading_the_key_table_reports_every_problem_and_shares_key_files) {
    TempDir dir;
    const auto good =
        signing_test::write_file(dir.file("good.key"), signing_test::ed25519_key().pem(), 0600);
    const auto open =
        signing_test::write_file(dir.file("open.key"), signing_test::ed25519_key().pem(), 0644);
    std::vector<std::string> errors;
    const std::vector<std::string> bad = {"example.com s1 " + good, "example.org s1",
                                          "example.net s1 " + open,
                                          "example.edu s1 " + dir.file("absent.key")};
    BOOST_TEST(!DkimKeyTable::load(bad, false, ::geteuid(), &errors));
    BOOST_REQUIRE(errors.size() == 3U);
    BOOST_TEST(errors[0].find("expected DOMAIN SELECTOR KEYFILE") != std::string::npos);
    BOOST_TEST(errors[1].find("chmod 0600") != std::string::npos);
    BOOST_TEST(errors[2].find("cannot open") != std::string::npos);
    const std::vector<std::string> lines = {"example.com s1 " + good, "example.org s1 " + good};
    const auto table = DkimKeyTable::load(lines, false, ::geteuid(), &errors);
    BOOST_REQUIRE(table);
    BOOST_TEST(table->entries().size() == 2U);
    BOOST_TEST(table->entries()[0].key == table->entries()[1].key); // loaded once
    BOOST_TEST(DkimKeyTable::load({}, false, ::geteuid(), &errors)->empty());
}

BOOST_AUTO_TEST_CASE(signed_header_names_put_from_first_once_each_lower_case) {
    BOOST_TEST(auth::signed_header_names(std::vector<std::string>{"To", "from", "Subject", "TO"},
                                         std::vector<std::string>{"Reply-To", "subject"}) ==
               std::vector<std::string>({"from", "to", "subject", "reply-to"}));
}

BOOST_AUTO_TEST_CASE(the_signature_has_the_expected_tags_folded_into_short_lines) {
    const auto options = options_with(Canon::relaxed, Canon::simple);
    Message message = dkim_test::sample_message();
    const auto result = sign(message, options, both_keys());
    BOOST_TEST_REQUIRE(result.error == "");
    BOOST_REQUIRE(result.signatures.size() == 2U);
    for (const auto& signature : result.signatures) {
        const std::string& value = signature.value;
        BOOST_TEST_MESSAGE("DKIM-Signature: " << value);
        BOOST_TEST(value.starts_with("v=1; a="));
        BOOST_TEST(tag(value, "c") == "relaxed/simple");
        BOOST_TEST(tag(value, "d") == "example.test");
        BOOST_TEST(tag(value, "a") == signature.algorithm);
        BOOST_TEST(std::stoull(tag(value, "t")) + 5 >= now());
        BOOST_TEST(tag(value, "x") == "(absent)");
        BOOST_TEST(tag(value, "i") == "(absent)");
        BOOST_TEST(tag(value, "l") == "(absent)");
        // Lines of at most 78 characters, the field name included, folded with CRLF TAB.
        std::istringstream lines("DKIM-Signature: " + value);
        for (std::string line; std::getline(lines, line);) {
            BOOST_TEST(line.size() <= 79U, line); // the CR before the LF
            BOOST_TEST((line.back() == '\r' || line.back() != ' '));
        }
        BOOST_TEST(value.find("\r\n\t") != std::string::npos);
        BOOST_TEST(value.find('\n') == value.find("\r\n") + 1);
    }
    BOOST_TEST(result.signatures[0].algorithm == "ed25519-sha256");
    BOOST_TEST(result.signatures[0].key_bits == 256U);
    BOOST_TEST(result.signatures[1].algorithm == "rsa-sha256");
    BOOST_TEST(result.signatures[1].key_bits == 2048U);
    // One body hash for both signatures.
    BOOST_TEST(tag(result.signatures[0].value, "bh") == tag(result.signatures[1].value, "bh"));
    Message expiring = dkim_test::sample_message();
    const auto with_lifetime =
        sign(expiring, options_with(Canon::relaxed, Canon::relaxed, 86400), both_keys());
    const auto& value = with_lifetime.signatures.at(0).value;
    BOOST_TEST(std::stoull(tag(value, "x")) == std::stoull(tag(value, "t")) + 86400);
}

BOOST_AUTO_TEST_CASE(h_lists_each_field_once_and_oversigned_names_once_more) {
    Message message = dkim_test::sample_message();
    message.headers.emplace_back("Received", " from a by b");
    message.headers.emplace_back("X-Mailer", " test");
    message.headers.emplace_back("References", " <0@example.test>");
    message.headers.emplace_back("References", " <00@example.test>");
    const auto result = sign(message, options_with(Canon::relaxed, Canon::relaxed), both_keys());
    BOOST_TEST(unfolded(tag(result.signatures.at(0).value, "h")) ==
               "from:from:to:to:cc:subject:subject:date:date:message-id:reply-to:"
               "references:references");
}

BOOST_AUTO_TEST_CASE(every_kind_of_message_in_every_canonicalization_verifies_twice) {
    TempDir dir;
    std::vector<std::string> files;
    std::size_t signed_messages = 0;
    for (const Canon header : {Canon::simple, Canon::relaxed}) {
        for (const Canon body : {Canon::simple, Canon::relaxed}) {
            const auto options = options_with(header, body);
            for (auto [kind, message] : message_kinds()) {
                const std::string name = std::string(header == Canon::simple ? "s" : "r") +
                                         (body == Canon::simple ? "s" : "r") + "-" + kind + ".eml";
                const auto result = sign(message, options, both_keys(), 5);
                BOOST_TEST_REQUIRE(result.error == "", name);
                const auto ours = our_results(message);
                BOOST_TEST(ours == std::vector<std::string>({"pass", "pass"}),
                           name << ": " << (ours.empty() ? "" : ours[0]) << ", "
                                << (ours.size() < 2 ? "" : ours[1]));
                files.push_back(write_message(dir, name, message));
                ++signed_messages;
            }
        }
    }
    const auto dkimpy = dkimpy_results(dir, files);
    BOOST_TEST(dkimpy.size() == signed_messages);
    for (const auto& file : files)
        BOOST_TEST((dkimpy.contains(file) &&
                    dkimpy.at(file) == std::vector<std::string>({"pass", "pass"})),
                   file);
}

BOOST_AUTO_TEST_CASE(a_second_from_or_to_added_in_transit_fails_both_verifiers) {
    TempDir dir;
    std::vector<std::string> files;
    std::map<std::string, std::vector<std::string>> expected;
    const auto options = options_with(Canon::relaxed, Canon::relaxed);
    const std::vector<std::pair<std::string, std::function<void(Message&)>>> changes = {
        {"from-on-top",
         [](Message& m) {
             m.headers.insert(m.headers.begin() + 2, {"From", " evil@bad.test"});
         }},
        {"from-below", [](Message& m) { m.headers.emplace_back("From", " evil@bad.test"); }},
        {"cc-added", [](Message& m) { m.headers.emplace_back("Cc", " eve@bad.test"); }},
        {"reply-to-added", [](Message& m) { m.headers.emplace_back("Reply-To", " eve@bad.test"); }},
        {"received-added",
         [](Message& m) {
             m.headers.insert(m.headers.begin(), {"Received", " from x by y"});
         }},
        {"unlisted-added", [](Message& m) { m.headers.emplace_back("X-Scanned", " yes"); }},
    };
    for (const auto& [name, change] : changes) {
        Message message = dkim_test::sample_message();
        sign(message, options, both_keys());
        change(message);
        const bool still_good = name == "received-added" || name == "unlisted-added";
        const auto ours = our_results(message);
        BOOST_TEST(ours.size() == 2U, name);
        for (const auto& result : ours)
            BOOST_TEST(result.starts_with(still_good ? "pass" : "fail"), name << ": " << result);
        files.push_back(write_message(dir, name + ".eml", message));
        expected[files.back()] = {still_good ? "pass" : "fail", still_good ? "pass" : "fail"};
    }
    for (const auto& [file, verdicts] : dkimpy_results(dir, files))
        for (std::size_t index = 0; index < verdicts.size(); ++index)
            BOOST_TEST(verdicts[index].starts_with(expected.at(file).at(index)),
                       file << " " << index << ": " << verdicts[index]);
}

// 20 MB, fed in 64 KB chunks as the milter gets it and never held whole (the chunks are
// regenerated, not kept). Both body canonicalizations go to our verifier and to dkimpy, the
// independent one (relaxed, the default, shares no code with our signer there; the whole test
// takes about 14 s here).
BOOST_AUTO_TEST_CASE(a_20_mb_body_is_signed_as_it_streams_and_verifies_twice) {
    constexpr std::size_t chunks = 320;
    const auto chunk_text = [](std::size_t index) {
        std::string text;
        for (std::size_t line = 0; text.size() < 64 * 1024 - 200; ++line)
            text += "chunk " + std::to_string(index) + " line " + std::to_string(line) +
                    std::string(line % 7, ' ') + "\tword  word \r\n";
        return text;
    };
    TempDir dir;
    for (const Canon body : {Canon::simple, Canon::relaxed}) {
        const auto options = options_with(Canon::relaxed, body);
        Message message = dkim_test::sample_message();
        message.body.clear();
        DkimSigningSession session(options);
        for (const auto& [name, value] : message.headers)
            session.header(name, value);
        std::size_t body_bytes = 0;
        for (std::size_t index = 0; index < chunks; ++index) {
            const std::string chunk = chunk_text(index);
            session.body(chunk);
            body_bytes += chunk.size();
        }
        BOOST_TEST(body_bytes > 20U * 1000 * 1000);
        const auto result = session.sign(both_keys(), now());
        BOOST_TEST_REQUIRE(result.error == "");
        for (const auto& signature : result.signatures)
            message.headers.insert(
                message.headers.begin(),
                {std::string(auth::dkim_signature_field), " " + signature.value});
        BOOST_TEST(our_results(message, [&](auth::DkimSession& verify) {
                       for (std::size_t index = 0; index < chunks; ++index) {
                           const std::string chunk = chunk_text(index);
                           verify.body(std::span(chunk.data(), chunk.size()));
                       }
                   }) == std::vector<std::string>({"pass", "pass"}));
        const std::string path = dir.file("large.eml");
        {
            std::ofstream out(path, std::ios::binary);
            out << dkim_test::to_text(message);
            for (std::size_t index = 0; index < chunks; ++index)
                out << chunk_text(index);
        }
        const auto dkimpy = dkimpy_results(dir, {path});
        BOOST_TEST((dkimpy.contains(path) &&
                    dkimpy.at(path) == std::vector<std::string>({"pass", "pass"})));
    }
}

// RFC 8616 §4: in an internationalized message d= may be written in U-labels (libopendkim's
// signer refuses to, ours writes what it is given). The verifier looks the key up under the
// A-labels, hashes the field as written, and names the A-labels in its result (the form
// DMARC aligns and Authentication-Results writes).
// RSA and Ed25519 alike (libopendkim refuses such a d=: our own verifier takes both).
BOOST_AUTO_TEST_CASE(a_d_tag_in_u_labels_verifies_under_its_a_labels) {
    const std::string u_domain = "B\xc3\xbc"
                                 "cher.test";
    // Records libopendkim judges by themselves (a revoked key, two records at one name), under
    // the A-labels and under an ASCII domain, to compare with libopendkim's verdict.
    std::string judged_records;
    for (const std::string domain : {"xn--bcher-kva.test", "ascii.test"})
        judged_records +=
            dkim_test::txt_line("revoked._domainkey." + domain, "v=DKIM1; k=rsa; p=") +
            dkim_test::txt_line("edrevoked._domainkey." + domain, "v=DKIM1; k=ed25519; p=") +
            dkim_test::txt_line("multi._domainkey." + domain,
                                signing_test::rsa_key().key_record()) +
            dkim_test::txt_line("multi._domainkey." + domain, signing_test::rsa_key().key_record());
    dns::FakeResolver resolver =
        dns::FakeResolver::from_text(dkim_test::txt_line("rsa._domainkey.xn--bcher-kva.test",
                                                         signing_test::rsa_key().key_record()) +
                                     dkim_test::txt_line("ed._domainkey.xn--bcher-kva.test",
                                                         signing_test::ed25519_key().key_record()) +
                                     judged_records);
    const auto verify = [&resolver](const Message& message, bool fast_path = true) {
        auth::DkimOptions options;
        options.fast_path = fast_path;
        auth::DkimVerifier verifier(options, resolver);
        auto session = verifier.session();
        for (const auto& [name, value] : message.headers)
            session.header(name, value);
        session.end_of_headers();
        session.body(std::span(message.body.data(), message.body.size()));
        auto results = session.end_of_message();
        BOOST_REQUIRE_EQUAL(results.size(), 1U);
        return results.front();
    };
    for (const auto& [selector, key] : {std::pair{"rsa", &signing_test::rsa_key()},
                                        std::pair{"ed", &signing_test::ed25519_key()}}) {
        BOOST_TEST_CONTEXT(key->algorithm()) {
            const auto signed_in = [&](const std::string& domain) {
                Message message = dkim_test::sample_message("Info <info@" + domain + ">");
                const auto result = sign(message, options_with(Canon::relaxed, Canon::relaxed),
                                         {{domain, selector, shared(*key)}});
                BOOST_TEST_REQUIRE(result.error == "");
                return message;
            };
            Message message = signed_in(u_domain);
            BOOST_TEST_REQUIRE(message.headers.front().second.find("d=" + u_domain) !=
                               std::string::npos);
            const auto good = verify(message);
            BOOST_TEST(good.result == "pass", good.reason);
            BOOST_TEST(good.domain == "xn--bcher-kva.test");
            BOOST_TEST(good.algorithm == key->algorithm());
            BOOST_TEST(resolver.query_count(std::string(selector) +
                                            "._domainkey.xn--bcher-kva.test") == 1U);
            // With an expiry (dkim_signature_lifetime), still ours to verify.
            Message expiring = dkim_test::sample_message("Info <info@" + u_domain + ">");
            auto lifetime = options_with(Canon::relaxed, Canon::relaxed);
            lifetime.lifetime_seconds = 86400;
            BOOST_TEST_REQUIRE(
                sign(expiring, lifetime, {{u_domain, selector, shared(*key)}}).error == "");
            BOOST_TEST_REQUIRE(expiring.headers.front().second.find("x=") != std::string::npos);
            const auto expires = verify(expiring);
            BOOST_TEST(expires.result == "pass", expires.reason);
            message.body += "appended\r\n";
            const auto tampered = verify(message);
            BOOST_TEST(tampered.result == "fail");
            BOOST_TEST(tampered.reason == "body hash mismatch");

            // Not UTF-8, or a name IDNA2008 refuses: a malformed signature.
            for (const std::string& bad : {std::string("b\xfc"
                                                       "cher.test"),
                                           std::string("b\xc3\xbc-.test")})
                BOOST_TEST(verify(signed_in(bad)).result == "permerror", bad);
        }
    }
    // No key published under the A-labels: "no key", as for any other domain.
    Message unpublished = dkim_test::sample_message("Info <info@" + u_domain + ">");
    BOOST_TEST_REQUIRE(sign(unpublished, options_with(Canon::relaxed, Canon::relaxed),
                            {{u_domain, "absent", shared(signing_test::rsa_key())}})
                           .error == "");
    const auto no_key = verify(unpublished);
    BOOST_TEST(no_key.result == "permerror");
    BOOST_TEST(no_key.reason == "no key");
    BOOST_TEST(no_key.domain == "xn--bcher-kva.test");

    for (const auto& [selector, key] : {std::pair{"revoked", &signing_test::rsa_key()},
                                        std::pair{"edrevoked", &signing_test::ed25519_key()},
                                        std::pair{"multi", &signing_test::rsa_key()}}) {
        const auto signed_in = [&](const std::string& domain) {
            Message message = dkim_test::sample_message("Info <info@" + domain + ">");
            BOOST_TEST_REQUIRE(sign(message, options_with(Canon::relaxed, Canon::relaxed),
                                    {{domain, selector, shared(*key)}})
                                   .error == "");
            return message;
        };
        const auto library = verify(signed_in("ascii.test"), false);
        const auto ours = verify(signed_in(u_domain));
        BOOST_TEST_CONTEXT(selector << ": libopendkim says " << library.result << " ("
                                    << library.reason << ")") {
            BOOST_TEST(library.result == "permerror");
            BOOST_TEST(ours.result == library.result);
            BOOST_TEST(ours.reason == library.reason);
            BOOST_TEST(ours.domain == "xn--bcher-kva.test");
        }
    }
}

BOOST_AUTO_TEST_CASE(chunking_never_changes_a_signature) {
    const auto options = options_with(Canon::relaxed, Canon::relaxed);
    std::vector<std::string> values;
    for (const std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{4096}}) {
        Message message = message_kinds()[6].second;
        DkimSigningSession session(options);
        for (const auto& [name, value] : message.headers)
            session.header(name, value);
        for (std::size_t at = 0; at < message.body.size(); at += chunk)
            session.body(std::string_view(message.body).substr(at, chunk));
        const auto result = session.sign(both_keys(), 1700000000);
        values.push_back(result.signatures.at(0).value + result.signatures.at(1).value);
    }
    BOOST_TEST(values[0] == values[1]); // Ed25519 and RSA PKCS#1 v1.5 are deterministic
    BOOST_TEST(values[0] == values[2]);
}

BOOST_AUTO_TEST_CASE(header_fields_over_the_bound_give_an_error_not_a_signature) {
    const auto options = options_with(Canon::relaxed, Canon::relaxed);
    DkimSigningSession session(options);
    session.header("From", " a@example.test");
    const std::string to(64 * 1024, 'x');
    for (std::size_t count = 0; count <= auth::max_signed_header_bytes / to.size(); ++count)
        session.header("To", " " + to);
    session.header("X-Unsigned", " not kept, not counted");
    const auto result = session.sign(both_keys(), now());
    BOOST_TEST(result.signatures.empty());
    BOOST_TEST(result.error.find("larger than 1024 KB") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_key_that_cannot_sign_gives_an_error_and_no_signature) {
    const auto options = options_with(Canon::relaxed, Canon::relaxed);
    Message message = dkim_test::sample_message();
    std::vector<DkimSigningKey> keys = both_keys();
    keys.push_back({"example.test", "broken",
                    shared(auth::DkimPrivateKey::unusable_for_tests(DkimKeyType::rsa))});
    const auto result = sign(message, options, keys);
    BOOST_TEST(result.signatures.empty());
    BOOST_TEST(result.error == "the rsa-sha256 key of selector broken for example.test could not "
                               "sign");
    Message unsigned_message = dkim_test::sample_message();
    const auto nothing = sign(unsigned_message, options, {});
    BOOST_TEST(nothing.signatures.empty());
    BOOST_TEST(nothing.error.empty());
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace dkim_sign_tests
