// See spf_generator.hh.
#include "spf_generator.hh"

#include "dns/zone_file.hh"

#include <cctype>
#include <random>
#include <string_view>

namespace mailwarden::test {

namespace {

// The fixed part: hosts, reverse names, and the names that macro-built domain-specs hit.
const char* const fixed_zone = R"zone(
mail.hosts.test   A 192.0.2.3
mail.hosts.test   TXT "v=spf1 a -all"
h0.hosts.test     A 192.0.2.1
h0.hosts.test     AAAA 2001:db8::1
h0.hosts.test     TXT "v=spf1 a mx:m1.spf.test ~all"
h1.hosts.test     A 192.0.2.2
h2.hosts.test     A 198.51.100.7
h2.hosts.test     A 192.0.2.3
h3.hosts.test     AAAA 2001:db8::2
h4.hosts.test     A 203.0.113.9
h4.hosts.test     AAAA 2001:db8:1::9
h5.hosts.test     TXT "no addresses here"
h7.hosts.test     SERVFAIL
h8.hosts.test     A 192.0.2.77
h9.hosts.test     A 10.0.0.1
gw.spf.test       A 192.0.2.3
m1.spf.test       MX 10 h0.hosts.test
m1.spf.test       MX 20 h1.hosts.test
m2.spf.test       MX 10 h3.hosts.test
m2.spf.test       MX 20 h6.hosts.test
m3.spf.test       MX 10 h7.hosts.test
m3.spf.test       MX 20 h2.hosts.test
m4.spf.test       MX 10 h5.hosts.test
m4.spf.test       MX 20 h9.hosts.test
1.2.0.192.in-addr.arpa     PTR h0.hosts.test
1.2.0.192.in-addr.arpa     PTR gw.spf.test
2.2.0.192.in-addr.arpa     PTR h1.hosts.test
2.2.0.192.in-addr.arpa     PTR h0.hosts.test
3.2.0.192.in-addr.arpa     PTR h2.hosts.test
3.2.0.192.in-addr.arpa     PTR gw.spf.test
3.2.0.192.in-addr.arpa     PTR mail.hosts.test
77.2.0.192.in-addr.arpa    SERVFAIL
9.113.0.203.in-addr.arpa   PTR h7.hosts.test
9.113.0.203.in-addr.arpa   PTR h4.hosts.test
1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa PTR h0.hosts.test
2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa PTR h6.hosts.test
2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa PTR h3.hosts.test
1.2.0.192.bl.spf.test      A 127.0.0.2
7.100.51.198.bl.spf.test   A 127.0.0.2
1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.spf.test A 127.0.0.2
192.0.2.3.in-addr.al.spf.test A 127.0.0.2
2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.2.ip6.al.spf.test A 127.0.0.2
alice.users.spf.test       A 127.0.0.2
bob.users.spf.test         A 127.0.0.2
first.last.users.spf.test  A 127.0.0.2
mary.users.spf.test        A 127.0.0.2
strong-bad.users.spf.test  A 127.0.0.2
postmaster.users.spf.test  A 127.0.0.2
h0.hosts.test.helo.spf.test   A 127.0.0.2
mail.hosts.test.helo.spf.test A 127.0.0.2
h0.hosts.test.ptr.spf.test    A 127.0.0.2
unknown.ptr.spf.test          A 127.0.0.2
spf.test.dom.spf.test         A 127.0.0.2
sh1.spf.test      TXT "v=spf1 ip4:192.0.2.0/24 -all"
sh2.spf.test      TXT "v=spf1 a:h0.hosts.test ip6:2001:db8::/48 ~all"
sh3.spf.test      TXT "v=spf1 exists:%{ir}.bl.spf.test ?all"
sh4.spf.test      TXT "v=spf1 ptr:hosts.test -all exp=shx.spf.test"
shx.spf.test      TXT "%{c} has no PTR name under hosts.test (%{p})"
sh5.spf.test      TXT "v=spf1 redirect=sh1.spf.test"
sh6.spf.test      TXT "v=spf1 include:sh6.spf.test -all"
sh7.spf.test      SERVFAIL
)zone";

constexpr std::string_view clients[] = {
    "192.0.2.1",   "192.0.2.2",   "192.0.2.3",   "192.0.2.77",    "198.51.100.7",
    "203.0.113.9", "2001:db8::1", "2001:db8::2", "2001:db8:1::9", "::ffff:192.0.2.1",
};
constexpr std::string_view ip4_networks[] = {"192.0.2.1",   "192.0.2.0", "198.51.100.7",
                                             "203.0.113.0", "10.1.2.3",  "192.0.2.77"};
constexpr std::string_view ip6_networks[] = {
    "2001:db8::1", "2001:db8::", "2001:db8:1::", "2001:db8:1::9", "fe80::1", "::"};
constexpr std::string_view local_parts[] = {
    "alice",     "bob", "alice+news", "bob-owner", "first.last", "first.last-x",
    "mary+spam", "c=d", "x/y",        "a_b,c",     "Strong-Bad", "",
};
constexpr std::string_view helos[] = {"mail.hosts.test", "h0.hosts.test", "h2.hosts.test",
                                      "a=b/c.spf.test", "unknown.spf.test"};
constexpr std::string_view hosts[] = {
    "h0.hosts.test", "h1.hosts.test", "h2.hosts.test", "h3.hosts.test", "h4.hosts.test",
    "h5.hosts.test", "h6.hosts.test", "h7.hosts.test", "h8.hosts.test", "mail.hosts.test"};
constexpr std::string_view address_targets[] = {
    "h0.hosts.test", "h2.hosts.test", "h3.hosts.test", "h4.hosts.test",
    "h5.hosts.test", "h6.hosts.test", "h7.hosts.test", "%{o}",
    "%{d}",          "%{h}",          "gw.%{d2}",      "m1.spf.test",
    "m2.spf.test",   "m3.spf.test",   "m4.spf.test",   "%{l}.users.spf.test"};
constexpr std::string_view exists_targets[] = {"%{ir}.bl.spf.test",      "%{i}.%{v}.al.spf.test",
                                               "%{l}.users.spf.test",    "%{l1r+-}.users.spf.test",
                                               "%{L}.users.spf.test",    "%{h}.helo.spf.test",
                                               "%{p}.ptr.spf.test",      "%{d2}.dom.spf.test",
                                               "%{ir}.%{v}.bl.spf.test", "%{l1r+}.users.%{d2}"};
constexpr std::string_view ptr_targets[] = {"hosts.test", "spf.test",    "%{d2}",
                                            "%{o}",       "gw.spf.test", "h4.hosts.test"};
constexpr std::string_view shared_records[] = {"sh1.spf.test", "sh2.spf.test", "sh3.spf.test",
                                               "sh4.spf.test", "sh5.spf.test", "sh6.spf.test",
                                               "sh7.spf.test", "nx.spf.test"};
constexpr std::string_view syntax_errors[] = {
    "ip4:192.0.2.300",
    "a:foo",
    "mx:%{x}.spf.test",
    "-all:foo",
    "exp=",
    "foo:bar",
    "a//129",
    "ip6:2001:db8::/129",
    "ip4:192.0.2.1/33",
    "include:",
    "exists:%{i}/24",
    "a:%{c}.spf.test",
    "ip4:01.2.3.4",
    "redirect=x..y",
    "%{d0}=x",
    "exists:%{d0}.spf.test",
    "exists:%{d!}.spf.test",
    "ptr/24",
};

class Generator {
public:
    explicit Generator(std::uint32_t seed) : random_(seed) {}

    SpfGeneratedWorld world(std::size_t count) {
        SpfGeneratedWorld generated;
        zone_ = fixed_zone;
        for (std::size_t number = 0; number < count; ++number)
            generated.cases.push_back(one_case("c" + std::to_string(number)));
        generated.zone_text = std::move(zone_);
        return generated;
    }

private:
    template <typename T, std::size_t N> T pick(const T (&items)[N]) {
        return items[std::uniform_int_distribution<std::size_t>(0, N - 1)(random_)];
    }
    int between(int low, int high) {
        return std::uniform_int_distribution<int>(low, high)(random_);
    }
    bool chance(double probability) { return std::bernoulli_distribution(probability)(random_); }

    SpfGeneratedCase one_case(const std::string& id) {
        origin_ = id + ".spf.test";
        children_ = 0;
        if (chance(0.5))
            for (int i = between(1, 2); i > 0; --i) {
                const bool ipv4 = chance(0.7);
                zone_ += origin_ + (ipv4 ? " A " : " AAAA ") + address_for(ipv4) + "\n";
            }
        if (chance(0.4)) {
            const int names = chance(0.04) ? 11 : between(1, 3);
            for (int i = 0; i < names; ++i)
                zone_ += origin_ + " MX " + std::to_string(i * 10) + " " +
                         std::string(pick(hosts)) + "\n";
        }
        if (chance(0.03))
            chain(origin_, chance(0.5) ? "include:" : "redirect=", between(9, 12));
        else if (chance(0.03))
            zone_ += dns::zone_txt_line(origin_, many_terms());
        else
            publish(origin_, 0);
        SpfGeneratedCase generated{id, std::string(pick(clients)), std::string(pick(helos)),
                                   std::string(pick(local_parts)) + "@" + origin_};
        if (chance(0.08)) { // the HELO identity: the case's domain as the HELO name
            generated.helo = origin_;
            generated.mail_from.clear();
        }
        return generated;
    }

    std::string address_for(bool ipv4) {
        for (;;) {
            const std::string_view client = pick(clients);
            if ((client.find(':') == std::string_view::npos) == ipv4 && !client.starts_with("::"))
                return std::string(client);
        }
    }

    // A record at name and the records, exp= texts it names.
    void publish(const std::string& name, int depth) {
        const std::string record = make_record(depth);
        zone_ += dns::zone_txt_line(name, record);
        if (chance(0.02))
            zone_ += dns::zone_txt_line(name, "v=spf1 ip4:203.0.113.255 -all"); // two: permerror
        if (chance(0.05))
            zone_ += dns::zone_txt_line(name, "google-site-verification=abc");
    }

    std::string make_record(int depth) {
        std::vector<std::string> terms;
        for (int i = between(depth == 0 ? 1 : 0, 4); i > 0; --i)
            terms.push_back(qualifier() + capitalized(mechanism(depth)));
        if (chance(0.5))
            terms.push_back(qualifier() + "all");
        if (chance(0.25) && depth < 3)
            insert_somewhere(terms, modifier_name("redirect") + "=" + child_spec(depth));
        if (chance(0.35))
            insert_somewhere(terms, modifier_name("exp") + "=" + explanation_spec());
        if (chance(0.05))
            insert_somewhere(terms, chance(0.5) ? "x-note=%{d}" : "moo.cow-1=yes");
        if (chance(0.04))
            insert_somewhere(terms, std::string(pick(syntax_errors)));
        std::string record = chance(0.02) ? "V=SPF1" : "v=spf1";
        for (const auto& term : terms)
            record += (chance(0.05) ? "  " : " ") + term;
        return record;
    }

    // Now and then the mechanism's name in capitals (names are case-insensitive).
    std::string capitalized(std::string term) {
        if (chance(0.03))
            for (std::size_t i = 0; i < term.size() && term[i] != ':' && term[i] != '/'; ++i)
                term[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(term[i])));
        return term;
    }

    void insert_somewhere(std::vector<std::string>& terms, std::string term) {
        terms.insert(terms.begin() + between(0, static_cast<int>(terms.size())), std::move(term));
    }

    std::string qualifier() {
        const int roll = between(0, 9);
        return roll < 5 ? "" : std::string(1, "+-~?-~?+-~"[roll]);
    }

    std::string modifier_name(const std::string& name) {
        return chance(0.05) ? (name == "exp" ? "EXP" : "Redirect") : name;
    }

    std::string mechanism(int depth) {
        switch (between(0, 9)) {
        case 0:
            return "ip4:" + std::string(pick(ip4_networks)) + cidr("/", {0, 8, 16, 24, 30, 32});
        case 1:
            return "ip6:" + std::string(pick(ip6_networks)) + cidr("/", {0, 32, 48, 64, 128});
        case 2:
        case 3:
            return (chance(0.6) ? "a" : "mx") + domain_spec(address_targets) + dual_cidr();
        case 4:
            return "ptr" + (chance(0.5) ? ":" + std::string(pick(ptr_targets)) : "");
        case 5:
        case 6:
            return "exists:" + (chance(0.7) ? std::string(pick(exists_targets))
                                            : random_macro("slodiphv") + ".r.spf.test");
        default:
            return depth < 3 ? "include:" + child_spec(depth) : "a";
        }
    }

    template <std::size_t N> std::string domain_spec(const std::string_view (&targets)[N]) {
        return chance(0.4) ? "" : ":" + std::string(pick(targets));
    }

    std::string cidr(const std::string& prefix, std::initializer_list<int> lengths) {
        if (!chance(0.5))
            return "";
        const int index = between(0, static_cast<int>(lengths.size()) - 1);
        return prefix + std::to_string(*(lengths.begin() + index));
    }

    std::string dual_cidr() {
        return chance(0.8) ? "" : cidr("/", {0, 24, 31, 32}) + cidr("//", {0, 64, 127, 128});
    }

    // An include or redirect target: a new record of the case's own, or a shared one.
    std::string child_spec(int depth) {
        if (chance(0.25))
            return std::string(pick(shared_records));
        const std::string label = "s" + std::to_string(++children_);
        publish(label + "." + origin_, depth + 1);
        return chance(0.5) ? label + "." + origin_ : label + ".%{o}";
    }

    std::string explanation_spec() {
        const std::string label = "e" + std::to_string(++children_);
        const std::string name = label + "." + origin_;
        const int roll = between(0, 19);
        if (roll == 0) {
            // no TXT record at all
        } else if (roll == 1) {
            zone_ += dns::zone_txt_line(name, "one") + dns::zone_txt_line(name, "two");
        } else if (roll == 2) {
            zone_ += dns::zone_txt_line(name, "caf\xc3\xa9 %{d}");
        } else {
            zone_ += dns::zone_txt_line(name, explain_string());
        }
        return chance(0.5) ? name : label + ".%{o}";
    }

    std::string explain_string() {
        static constexpr std::string_view words[] = {
            "mail", "from", "%{i}", "is", "not", "ok", "%%", "%_", "%-", "see", "http://x.test/?"};
        std::string text;
        for (int i = between(1, 6); i > 0; --i) {
            if (!text.empty())
                text += ' ';
            text += chance(0.5) ? random_macro("slodiphvcrt") : std::string(pick(words));
        }
        if (chance(0.05))
            text += " %{x}"; // invalid: the default explanation is used
        return text;
    }

    // %{letter digits r delimiters}, sometimes with an invalid part.
    std::string random_macro(std::string_view letters) {
        std::string macro = "%{";
        char letter =
            letters[static_cast<std::size_t>(between(0, static_cast<int>(letters.size()) - 1))];
        if (chance(0.1))
            letter = static_cast<char>(letter - 'a' + 'A');
        macro += letter;
        const int digits = between(0, 19);
        if (digits < 6)
            macro += std::to_string(digits + 1);
        else if (digits == 6)
            macro += chance(0.5) ? "0" : "12345678901234567890";
        const int reverse = between(0, 9);
        if (reverse < 3)
            macro += reverse == 0 ? "R" : "r";
        if (chance(0.4))
            for (int i = between(1, 3); i > 0; --i)
                macro += ".-+,/_="[between(0, 6)];
        if (chance(0.01))
            macro += '!';
        return macro + "}";
    }

    // inc1 -> inc2 -> ... (include: or redirect=), the last one passing 192.0.2.1.
    void chain(const std::string& name, const std::string& link, int length) {
        for (int level = 1; level < length; ++level) {
            const std::string from =
                level == 1 ? name : "k" + std::to_string(level) + "." + origin_;
            const std::string to = "k" + std::to_string(level + 1) + "." + origin_;
            zone_ += dns::zone_txt_line(from, "v=spf1 " + link + to +
                                                  (link == "include:" ? " ~all" : ""));
        }
        zone_ += dns::zone_txt_line("k" + std::to_string(length) + "." + origin_,
                                    "v=spf1 ip4:192.0.2.1 ip6:2001:db8::1 -all");
    }

    // 9 to 12 DNS-querying terms before an ip4 that matches 192.0.2.0/24.
    std::string many_terms() {
        static constexpr std::string_view dns_terms[] = {"a:h1.hosts.test",      "mx:m1.spf.test",
                                                         "exists:h0.hosts.test", "ptr:x.test",
                                                         "include:sh1.spf.test", "a"};
        std::string record = "v=spf1";
        for (int i = between(9, 12); i > 0; --i)
            record += " " + qualifier() + std::string(pick(dns_terms));
        return record + " ip4:192.0.2.0/24 ~all";
    }

    std::mt19937 random_;
    std::string zone_;
    std::string origin_;
    int children_ = 0;
};

} // namespace

SpfGeneratedWorld generate_spf_world(std::uint32_t seed, std::size_t cases) {
    return Generator(seed).world(cases);
}

} // namespace mailwarden::test
