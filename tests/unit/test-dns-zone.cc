// Unit tests of the zone-file parser and lookup (lib/dns/zone_file), FakeResolver and the
// bounds-checked wire decoders (lib/dns/wire). No network.
#include "dns/fake_resolver.hh"
#include "dns/wire.hh"
#include "dns/zone_file.hh"
#include "dns_test_server.hh"

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <random>

using namespace mailwarden::dns;

namespace {

struct GoodLine {
    std::string line;
    std::string owner;
    RrType type;
    std::uint32_t ttl;
    std::string text;
    std::uint16_t preference;
    std::vector<std::string> strings;
};

const std::vector<GoodLine> good_lines = {
    {"example.test. 300 A 192.0.2.1", "example.test", RrType::a, 300, "192.0.2.1", 0, {}},
    {"Example.TEST A 192.0.2.1 ; comment", "example.test", RrType::a, 3600, "192.0.2.1", 0, {}},
    {"x.test IN A 192.0.2.1", "x.test", RrType::a, 3600, "192.0.2.1", 0, {}},
    {"x.test 5 IN AAAA 2001:DB8:0:0::1 # c", "x.test", RrType::aaaa, 5, "2001:db8::1", 0, {}},
    {"x.test MX 10 Mail.X.Test.", "x.test", RrType::mx, 3600, "mail.x.test", 10, {}},
    {"x.test MX 0 .x.test", "", RrType::mx, 0, "", 0, {}}, // placeholder replaced below
    {"x.test TXT \"a b\" \"c\"", "x.test", RrType::txt, 3600, "", 0, {"a b", "c"}},
    {"x.test TXT \"q\\\"\\\\\\065;#\"", "x.test", RrType::txt, 3600, "", 0, {"q\"\\A;#"}},
    {"x.test TXT \"\"", "x.test", RrType::txt, 3600, "", 0, {""}},
    // Quoted owners may hold any bytes (the SPF suite's names); "." is a null MX.
    {"\"A b%c.X.test\" A 192.0.2.1", "a b%c.x.test", RrType::a, 3600, "192.0.2.1", 0, {}},
    {"x.test MX 0 .", "x.test", RrType::mx, 3600, "", 0, {}},
    {"x.test SPF \"v=spf1 -all\"", "x.test", RrType::spf, 3600, "", 0, {"v=spf1 -all"}},
    {"1.2.0.192.in-addr.arpa PTR x.test",
     "1.2.0.192.in-addr.arpa",
     RrType::ptr,
     3600,
     "x.test",
     0,
     {}},
    {"www.x.test CNAME x.test.", "www.x.test", RrType::cname, 3600, "x.test", 0, {}},
    {"x.test NS ns1.x.test", "x.test", RrType::ns, 3600, "ns1.x.test", 0, {}},
    {"x.test 60 SOA NS.x.test. host.x.test 1 2 3 4 5",
     "x.test",
     RrType::soa,
     60,
     "ns.x.test",
     0,
     {"host.x.test"}},
    {"_dmarc.x.test TXT \"" + std::string(255, 'z') + "\"",
     "_dmarc.x.test",
     RrType::txt,
     3600,
     "",
     0,
     {std::string(255, 'z')}},
};

// Each line is malformed; it is put on line 3 of a file, after a comment and a good record.
const std::vector<std::string> bad_lines = {
    "x.test",
    "x.test 300",
    "x.test BOGUS 1",
    "x..test A 192.0.2.1",
    "x.test 12x A 192.0.2.1",
    "x.test 99999999999 A 192.0.2.1",
    "x.test A 192.0.2",
    "x.test A 192.0.2.1 192.0.2.2",
    "x.test AAAA 192.0.2.1",
    "x.test MX mail.x.test",
    "x.test MX 70000 mail.x.test",
    "x.test MX 10",
    "x.test CNAME",
    "x.test PTR a..b",
    "x.test TXT",
    "x.test TXT bare",
    "x.test TXT \"unterminated",
    "x.test TXT \"a\"b",
    "x.test TXT \"\\25\"",
    "x.test TXT \"\\256\"",
    "x.test TXT \"" + std::string(256, 'z') + "\"",
    "x.test SOA ns.x.test host.x.test 1 2 3 4",
    "x.test SOA ns.x.test host.x.test 1 2 3 4 x",
    "x.test SOA ns..x.test host.x.test 1 2 3 4 5",
    "x.test TIMEOUT now",
    "x.test SERVFAIL \"x\"",
    std::string(64, 'l') + ".test A 192.0.2.1",
};

Zone zone_of(std::string_view text) {
    Zone zone;
    auto error = zone.add(text, "t.zone");
    BOOST_REQUIRE_MESSAGE(!error, error.value_or(""));
    return zone;
}

const char* lookup_zone = R"(
a.test A 192.0.2.1
a.test TXT "one" "two"
deep.below.a.test A 192.0.2.2
alias.test CNAME a.test
alias2.test CNAME alias.test
dangling.test CNAME nowhere.test
loop1.test CNAME loop2.test
loop2.test CNAME loop1.test
slow.test TIMEOUT
slow.test A 192.0.2.3
broken.test SERVFAIL
)";

} // namespace

BOOST_AUTO_TEST_SUITE(dns_zone)

BOOST_AUTO_TEST_CASE(good_lines_parse) {
    for (const GoodLine& good : good_lines) {
        if (good.owner.empty())
            continue;
        BOOST_TEST_CONTEXT("line: " << good.line) {
            Zone zone = zone_of(good.line);
            BOOST_REQUIRE(zone.records().size() == 1u);
            const ZoneRecord& record = zone.records()[0];
            BOOST_TEST(record.owner == good.owner);
            BOOST_TEST(rr_type_name(record.type) == rr_type_name(good.type));
            BOOST_TEST(record.ttl == good.ttl);
            BOOST_TEST(record.text == good.text);
            BOOST_TEST(record.preference == good.preference);
            BOOST_TEST(record.strings == good.strings, boost::test_tools::per_element());
        }
    }
}

BOOST_AUTO_TEST_CASE(every_malformed_line_is_an_error_naming_the_line) {
    for (const std::string& bad : bad_lines) {
        BOOST_TEST_CONTEXT("line: " << bad) {
            Zone zone;
            auto error = zone.add("; header\nok.test A 192.0.2.1\n" + bad + "\nz.test A 192.0.2.9",
                                  "t.zone");
            BOOST_REQUIRE(error.has_value());
            BOOST_TEST(error->rfind("t.zone:3: ", 0) == 0u, *error);
            BOOST_TEST(zone.records().empty()); // nothing from a bad file is kept
        }
    }
}

BOOST_AUTO_TEST_CASE(comments_blank_lines_and_crlf) {
    Zone zone = zone_of("# hash\n\n   ; semi\r\nx.test A 192.0.2.1 ; trailing\r\n\t\n");
    BOOST_TEST(zone.records().size() == 1u);
}

BOOST_AUTO_TEST_CASE(lookup_rules) {
    Zone zone = zone_of(lookup_zone);
    struct Case {
        std::string name;
        RrType type;
        Status status;
        std::size_t records;
    };
    const std::vector<Case> cases = {
        {"a.test", RrType::a, Status::ok, 1},
        {"A.TEST.", RrType::txt, Status::ok, 1},
        {"a.test", RrType::mx, Status::nodata, 0},
        {"below.a.test", RrType::a, Status::nodata, 0}, // empty non-terminal
        {"nothere.test", RrType::a, Status::nxdomain, 0},
        {"alias2.test", RrType::a, Status::ok, 3}, // two CNAMEs + the A
        {"alias.test", RrType::cname, Status::ok, 1},
        {"dangling.test", RrType::a, Status::nxdomain, 1},
        {"loop1.test", RrType::a, Status::servfail, 0},
        {"slow.test", RrType::a, Status::ok, 1}, // TIMEOUT only for types without records
        {"slow.test", RrType::txt, Status::timeout, 0},
        {"broken.test", RrType::a, Status::servfail, 0},
        {"bad..name", RrType::a, Status::nxdomain, 0},
    };
    for (const Case& c : cases) {
        BOOST_TEST_CONTEXT(c.name << " " << rr_type_name(c.type)) {
            ZoneAnswer answer = zone.lookup(c.name, c.type);
            BOOST_TEST(status_name(answer.status) == status_name(c.status));
            BOOST_TEST(answer.records.size() == c.records);
        }
    }
}

BOOST_AUTO_TEST_CASE(shipped_test_zones_parse) {
    auto zones = std::filesystem::path(__FILE__).parent_path().parent_path() / "data/zones";
    if (const char* srcdir = std::getenv("MW_SRCDIR"))
        zones = std::filesystem::path(srcdir) / "tests/data/zones";
    Zone zone;
    int files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(zones)) {
        auto error = zone.add_file(entry.path().string());
        BOOST_TEST(!error, error.value_or(""));
        ++files;
    }
    BOOST_TEST(files >= 3);
    BOOST_TEST(zone.lookup("split.example.test", RrType::txt).records[0]->strings.size() == 3u);
    BOOST_TEST(zone.add_file("/nonexistent.zone").value_or("") == "/nonexistent.zone: cannot read");
}

// The writer side of the format: any bytes, any length, round-trip through Zone::add.
BOOST_AUTO_TEST_CASE(zone_txt_line_round_trips_any_bytes) {
    std::mt19937 random(7);
    for (int round = 0; round < 200; ++round) {
        std::string text(random() % 700, '\0');
        for (char& c : text)
            c = static_cast<char>(random() % 256);
        Zone zone;
        BOOST_REQUIRE(!zone.add(zone_txt_line("x.test", text), "round trip").has_value());
        const auto answer = zone.lookup("x.test", RrType::txt);
        BOOST_REQUIRE_EQUAL(answer.records.size(), 1U);
        std::string joined;
        for (const auto& piece : answer.records.front()->strings) {
            BOOST_TEST(piece.size() <= 255U);
            joined += piece;
        }
        BOOST_TEST((joined == text), "round " << round);
    }
    BOOST_TEST(zone_quoted("a\"b\\c\x01\xff") == "\"a\\034b\\092c\\001\\255\"");
}

BOOST_AUTO_TEST_CASE(fake_resolver_answers_like_the_zone) {
    FakeResolver resolver = FakeResolver::from_text(lookup_zone);
    Answer txt = resolver.query("a.test", RrType::txt);
    BOOST_TEST(status_name(txt.status) == "ok");
    BOOST_REQUIRE(txt.records.size() == 1u);
    BOOST_TEST(txt.records[0].text == "onetwo"); // RFC 7208 3.3: joined without separator
    Answer via_alias = resolver.query("alias2.test", RrType::a);
    BOOST_REQUIRE(via_alias.records.size() == 1u);
    BOOST_TEST(via_alias.records[0].text == "192.0.2.1");
    BOOST_TEST(status_name(resolver.query("a.test", RrType::mx).status) == "nodata");
    BOOST_TEST(status_name(resolver.query("x.test", RrType::mx).status) == "nxdomain");
    BOOST_TEST(status_name(resolver.query("slow.test", RrType::mx).status) == "timeout");
    BOOST_TEST(status_name(resolver.query("broken.test", RrType::mx).status) == "servfail");
    int calls = 0;
    resolver.query_async("A.test.", RrType::a, [&](Answer answer) {
        ++calls;
        BOOST_TEST(answer.records.at(0).text == "192.0.2.1");
    });
    BOOST_TEST(calls == 1);
    BOOST_TEST(resolver.query_count() == 7u);
    BOOST_TEST(resolver.query_count("a.test") == 3u);
    FakeResolver moved(std::move(resolver));
    BOOST_TEST(moved.query_count("A.TEST") == 3u);
}

BOOST_AUTO_TEST_CASE(fake_resolver_rejects_a_bad_zone_naming_the_line) {
    BOOST_CHECK_EXCEPTION(FakeResolver::from_text("a.test A 192.0.2.1\nb.test MX x\n"),
                          std::runtime_error, [](const std::runtime_error& error) {
                              return std::string(error.what()).rfind("zone:2: ", 0) == 0;
                          });
}

BOOST_AUTO_TEST_CASE(wire_decoders_never_read_past_the_data) {
    auto decode = [](RrType type, std::string data) {
        std::string why;
        return decode_rdata(type, reinterpret_cast<const unsigned char*>(data.data()), data.size(),
                            why);
    };
    using namespace std::string_literals;
    BOOST_TEST(decode(RrType::txt, "\3abc\2de"s).value().text == "abcde");
    BOOST_TEST(!decode(RrType::txt, "\3abc\5de"s));          // length runs past the end
    BOOST_TEST(decode(RrType::txt, ""s).value().text == ""); // no strings at all
    BOOST_TEST(!decode(RrType::a, "\1\2\3"s));
    BOOST_TEST(decode(RrType::a, "\xc0\0\2\1"s).value().text == "192.0.2.1");
    BOOST_TEST(!decode(RrType::mx, "\0\12"s));
    BOOST_TEST(!decode(RrType::mx, "\0\12\3abc"s));  // name not terminated
    BOOST_TEST(!decode(RrType::ptr, "\xc0\x0c"s));   // compression pointer
    BOOST_TEST(!decode(RrType::ptr, "\1a\0extra"s)); // trailing bytes
    BOOST_TEST(decode(RrType::ptr, "\3a.b\1\xff\0"s).value().text == "a\\.b.\\255");
    auto mx = decode(RrType::mx, "\0\12\4mail\4test\0"s);
    BOOST_TEST(mx.value().preference == 10);
    BOOST_TEST(mx.value().text == "mail.test");
    BOOST_TEST(escape_for_log("ok \n\x01", 10) == "ok \\010\\001");
    BOOST_TEST(escape_for_log(std::string(300, 'a')).size() == 203u);
}

BOOST_AUTO_TEST_SUITE_END()
