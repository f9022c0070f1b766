// `mailwarden dkim keygen|testkey` and `mailwarden config check` on signing keys, run as a
// process: the key file keygen writes (mode, owner, loadable), the TXT record it prints, what
// testkey says about published, missing, different and unreachable keys (against a private
// DNS server on loopback), and the key files config check refuses.
#include "auth/dkim_private_key.hh"
#include "child_process.hh"
#include "dns_test_server.hh"
#include "signing_keys.hh"

#include <boost/test/unit_test.hpp>

#include <pwd.h>
#include <regex>

using namespace std::chrono_literals;
using namespace mailwarden;
using signing_test::TempDir;
using signing_test::write_file;

namespace {

struct ToolRun {
    int status;
    std::string output;
    bool contains(const std::string& text) const { return output.find(text) != std::string::npos; }
};

// The user the daemons serve as in these tests: nobody when we run as root (the daemons
// drop to it), else ourselves.
struct Owner {
    std::string name;
    uid_t uid;
};
Owner serving_user() {
    if (::geteuid() == 0)
        if (const passwd* nobody = ::getpwnam("nobody"))
            return {"nobody", nobody->pw_uid};
    const passwd* self = ::getpwuid(::geteuid());
    return {self != nullptr ? self->pw_name : "root", ::geteuid()};
}

struct DkimToolFixture {
    TempDir dir;
    Owner owner = serving_user();

    DkimToolFixture() { ::chmod(dir.path().c_str(), 0711); } // the daemon user passes through

    ToolRun run(std::vector<std::string> arguments) {
        arguments.insert(arguments.begin(),
                         (test::build_directory() / "tools/mailwarden").string());
        test::ChildProcess tool(arguments, dir.file("output"));
        const auto status = tool.wait_exit(60s);
        return {status.value_or(-1), tool.output()};
    }

    std::string config(const std::string& signing, const std::string& dns = "127.0.0.1@1") {
        return write_file(dir.file("test.conf"),
                          "[general]\nuser = " + owner.name + "\n[dns]\ndns_servers = " + dns +
                              "\ndns_timeout = 1s\n[signing]\n" + signing,
                          0644);
    }

    std::string key_file(const std::string& name, const auth::DkimPrivateKey& key,
                         mode_t mode = 0600) {
        return write_file(dir.file(name), key.pem(), mode, owner.uid);
    }
};

} // namespace

BOOST_AUTO_TEST_SUITE(dkim_tools)

BOOST_FIXTURE_TEST_CASE(keygen_writes_a_private_key_and_prints_the_record, DkimToolFixture) {
    const std::string conf = config("");
    for (const auto& [type, bits] : {std::pair{"ed25519", 256U}, std::pair{"rsa", 2048U}}) {
        const std::string selector = std::string("s-") + type;
        const auto run = this->run({"dkim", "keygen", "Example.COM", selector, "--type", type,
                                    "--directory", dir.path().string(), "-c", conf});
        BOOST_TEST_REQUIRE(run.status == 0, run.output);
        const std::string path = dir.file("example.com." + selector + ".key");
        struct stat status {};
        BOOST_REQUIRE(::stat(path.c_str(), &status) == 0);
        BOOST_TEST((status.st_mode & 07777) == 0600U);
        BOOST_TEST(status.st_uid == owner.uid);
        std::string error;
        const auto key = auth::DkimPrivateKey::load(path, owner.uid, &error);
        BOOST_TEST_REQUIRE(key.has_value(), error);
        BOOST_TEST(key->bits() == bits);
        // The record: zone-file syntax, strings of at most 255 octets that join to it.
        const std::regex record(selector +
                                R"re(\._domainkey\.example\.com\. IN TXT \(((?: "[^"]*")+) \))re");
        std::smatch match;
        BOOST_TEST_REQUIRE(std::regex_search(run.output, match, record), run.output);
        std::string joined;
        const std::string strings = match[1].str();
        const std::regex quoted(R"re("([^"]*)")re");
        for (auto it = std::sregex_iterator(strings.begin(), strings.end(), quoted);
             it != std::sregex_iterator(); ++it) {
            BOOST_TEST((*it)[1].length() <= 255);
            joined += (*it)[1].str();
        }
        BOOST_TEST(joined == key->key_record());
        BOOST_TEST(run.contains("dkim_sign_key = example.com " + selector + " " + path));
        // Never over an existing key.
        const auto again = this->run({"dkim", "keygen", "example.com", selector, "--type", type,
                                      "--directory", dir.path().string(), "-c", conf});
        BOOST_TEST(again.status == 1);
        BOOST_TEST(again.contains("File exists"));
    }
    const std::string rsa_record = run({"dkim", "keygen", "example.com", "big", "--bits", "4096",
                                        "--directory", dir.path().string(), "-c", conf})
                                       .output;
    BOOST_TEST(std::count(rsa_record.begin(), rsa_record.end(), '"') == 6); // three strings
}

// RFC 8616: a domain given in U-labels is written as its A-labels wherever DNS or the
// configuration reads it (the TXT record's owner, the key file's name, the dkim_sign_key line).
BOOST_FIXTURE_TEST_CASE(keygen_writes_an_internationalized_domain_as_a_labels, DkimToolFixture) {
    const std::string conf = config("");
    const auto run =
        this->run({"dkim", "keygen",
                   "B\xc3\xbc"
                   "cher.test",
                   "s1", "--type", "ed25519", "--directory", dir.path().string(), "-c", conf});
    BOOST_TEST_REQUIRE(run.status == 0, run.output);
    const std::string path = dir.file("xn--bcher-kva.test.s1.key");
    BOOST_TEST(std::filesystem::exists(path));
    BOOST_TEST(run.contains("s1._domainkey.xn--bcher-kva.test. IN TXT"), run.output);
    BOOST_TEST(run.contains("dkim_sign_key = xn--bcher-kva.test s1 " + path), run.output);
    BOOST_TEST(run.output.find("\xc3") == std::string::npos, run.output);
}

BOOST_FIXTURE_TEST_CASE(keygen_refuses_bad_arguments, DkimToolFixture) {
    const std::string conf = config("");
    const std::string where = dir.path().string();
    for (const std::vector<std::string>& arguments :
         {std::vector<std::string>{"dkim", "keygen", "example.com"},
          {"dkim", "keygen", "*.example.com", "s1", "--directory", where},
          {"dkim", "keygen", "exa mple.com", "s1", "--directory", where},
          {"dkim", "keygen",
           "b\xfc"
           "cher.test",
           "s1", "--directory", where},
          {"dkim", "keygen", "example.com", "s_1", "--directory", where},
          {"dkim", "keygen", "example.com", "s1", "--type", "dsa", "--directory", where},
          {"dkim", "keygen", "example.com", "s1", "--bits", "1024", "--directory", where},
          {"dkim", "keygen", "example.com", "s1", "--type", "ed25519", "--bits", "2048"},
          {"dkim", "frobnicate"}}) {
        auto with_config = arguments;
        with_config.insert(with_config.end(), {"-c", conf});
        const auto run = this->run(with_config);
        BOOST_TEST(run.status == 64, run.output);
    }
    BOOST_TEST(!std::filesystem::exists(dir.file("example.com.s1.key")));
}

BOOST_FIXTURE_TEST_CASE(testkey_says_which_published_keys_match, DkimToolFixture) {
    const auto& ed = signing_test::ed25519_key();
    const auto& rsa = signing_test::rsa_key();
    const auto other = auth::DkimPrivateKey::generate(auth::DkimKeyType::ed25519);
    const auto dns = test::DnsTestServer::with_zone(
        "ed._domainkey.example.test. 300 TXT \"" + ed.key_record() + "\"\n" +
        "rsa._domainkey.example.test. 300 TXT \"" + rsa.key_record().substr(0, 200) + "\" \"" +
        rsa.key_record().substr(200) + "\"\n" + "old._domainkey.example.test. 300 TXT \"" +
        other.key_record() + "\"\n" + "ed._domainkey.news.example.org. 300 TXT \"" +
        ed.key_record() + "\"\n");
    const std::string ed_file = key_file("ed.key", ed);
    const std::string rsa_file = key_file("rsa.key", rsa);
    const std::string good = config("dkim_sign_key = example.test ed " + ed_file +
                                        "\ndkim_sign_key = example.test rsa " + rsa_file +
                                        "\ndkim_sign_key = *.example.org ed " + ed_file + "\n",
                                    dns->address());
    auto run = this->run({"dkim", "testkey", "-c", good});
    BOOST_TEST(run.status == 0, run.output);
    BOOST_TEST(
        run.contains("example.test ed (ed25519 256 bits, signs): the published key matches"));
    BOOST_TEST(run.contains("example.test rsa (rsa 2048 bits, signs): the published key matches"));
    BOOST_TEST(run.contains("*.example.org ed: name a subdomain"));
    run = this->run({"dkim", "testkey", "news.example.org", "-c", good});
    BOOST_TEST(run.status == 0, run.output);
    BOOST_TEST(
        run.contains("news.example.org ed (ed25519 256 bits, signs): the published key matches"));
    // An old selector whose record holds another key, and one never published.
    const std::string old_file = key_file("old.key", ed);
    const std::string bad = config("dkim_sign_key = example.test old " + old_file +
                                       "\ndkim_sign_key = example.test ed " + ed_file +
                                       "\ndkim_sign_key = example.test gone " + rsa_file + "\n",
                                   dns->address());
    run = this->run({"dkim", "testkey", "example.test", "-c", bad});
    BOOST_TEST(run.status == 1, run.output);
    BOOST_TEST(run.contains("example.test old (ed25519 256 bits, older selector, does not sign): "
                            "NOT usable: another public key is published"));
    BOOST_TEST(run.contains("example.test gone (rsa 2048 bits, signs): no key record at "
                            "gone._domainkey.example.test"));
    BOOST_TEST(
        run.contains("example.test ed (ed25519 256 bits, signs): the published key matches"));
    run = this->run({"dkim", "testkey", "example.net", "-c", good});
    BOOST_TEST(run.status == 1);
    BOOST_TEST(run.contains("no key signs the mail of example.net"));
}

BOOST_FIXTURE_TEST_CASE(testkey_reports_a_failed_lookup, DkimToolFixture) {
    const auto dns = test::DnsTestServer::with_zone("ed._domainkey.example.test. TIMEOUT\n");
    const std::string conf = config("dkim_sign_key = example.test ed " +
                                        key_file("ed.key", signing_test::ed25519_key()) + "\n",
                                    dns->address());
    const auto run = this->run({"dkim", "testkey", "-c", conf});
    BOOST_TEST(run.status == 2, run.output);
    BOOST_TEST(run.contains("lookup of ed._domainkey.example.test failed"));
}

BOOST_FIXTURE_TEST_CASE(config_check_refuses_what_the_daemons_refuse, DkimToolFixture) {
    const std::string good_file = key_file("good.key", signing_test::ed25519_key());
    auto run =
        this->run({"config", "check", config("dkim_sign_key = example.test ed " + good_file)});
    BOOST_TEST(run.status == 0, run.output);
    const std::string open_file = key_file("open.key", signing_test::ed25519_key(), 0640);
    run = this->run({"config", "check", config("dkim_sign_key = example.test ed " + open_file)});
    BOOST_TEST(run.status == 1, run.output);
    BOOST_TEST(run.contains("chmod 0600 " + open_file));
    run = this->run({"config", "check", config("dkim_sign_key = example.test ed relative.key")});
    BOOST_TEST(run.status == 1, run.output);
    BOOST_TEST(run.contains("absolute path"));
    run = this->run(
        {"dkim", "testkey", "-c", config("dkim_sign_key = example.test ed " + open_file)});
    BOOST_TEST(run.status == 78, run.output);
    if (::geteuid() == 0 && owner.uid != 0) {
        const std::string root_file =
            write_file(dir.file("root.key"), signing_test::ed25519_key().pem(), 0600);
        run =
            this->run({"config", "check", config("dkim_sign_key = example.test ed " + root_file)});
        BOOST_TEST(run.status == 1, run.output);
        BOOST_TEST(run.contains("chown " + owner.name));
    }
}

BOOST_AUTO_TEST_SUITE_END()
