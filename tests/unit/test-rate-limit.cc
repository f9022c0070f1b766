// config/rate_limit: the `ratelimit =` lines, and their place in the configuration (repeated
// key, one rule per line, dump and reload).
#include "config/config.hh"
#include "config/rate_limit.hh"

#include <boost/test/unit_test.hpp>

using namespace mailwarden::config;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(rate_limit)

BOOST_AUTO_TEST_CASE(a_full_rule_parses_with_every_option) {
    std::string error;
    const auto rule = parse_rate_limit(
        "quota sasl_user 1000/1d burst=200 action=reject count=recipients", &error);
    BOOST_REQUIRE_MESSAGE(rule, error);
    BOOST_TEST(rule->name == "quota");
    BOOST_TEST((rule->key == RateKey::sasl_user));
    BOOST_TEST(rule->rate == 1000);
    BOOST_TEST((rule->period == 24h));
    BOOST_TEST(rule->burst == 200);
    BOOST_TEST(rule->reject);
    BOOST_TEST((rule->count == RateCount::recipients));
    BOOST_TEST((rule->stage() == RateStage::end_of_message));
    BOOST_TEST(rule->interval().count() == 86'400);
}

BOOST_AUTO_TEST_CASE(defaults_are_burst_rate_tempfail_messages_and_the_stage_of_the_key) {
    std::string error;
    const auto client = parse_rate_limit("per_client client_ip 100/1h", &error);
    BOOST_REQUIRE(client);
    BOOST_TEST(client->burst == 100);
    BOOST_TEST(!client->reject);
    BOOST_TEST((client->stage() == RateStage::mail));
    const auto recipient = parse_rate_limit("per_rcpt recipient 10/1m", &error);
    BOOST_REQUIRE(recipient);
    BOOST_TEST((recipient->stage() == RateStage::rcpt));
}

BOOST_AUTO_TEST_CASE(a_stage_given_overrides_the_stage_of_the_key) {
    std::string error;
    const auto per_recipient = parse_rate_limit("fanout sender 100/1h stage=rcpt", &error);
    BOOST_REQUIRE_MESSAGE(per_recipient, error);
    BOOST_TEST((per_recipient->stage() == RateStage::rcpt));
    const auto whole = parse_rate_limit("sent client_ip 100/1h stage=eom", &error);
    BOOST_REQUIRE_MESSAGE(whole, error);
    BOOST_TEST((whole->stage() == RateStage::end_of_message));
    const auto said = parse_rate_limit("per_rcpt recipient 10/1m stage=rcpt", &error);
    BOOST_REQUIRE_MESSAGE(said, error);
    BOOST_TEST((said->stage() == RateStage::rcpt));
}

BOOST_AUTO_TEST_CASE(bad_rules_are_refused_with_a_reason) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"", "expected NAME KEY RATE/PERIOD"},
        {"x client_ip", "expected NAME KEY RATE/PERIOD"},
        {"Bad client_ip 1/1s", "limit name"},
        {std::string(33, 'n') + " client_ip 1/1s", "limit name"},
        {"x client_ipx 1/1s", "unknown key"},
        {"x client_ip 0/1s", "not RATE/PERIOD"},
        {"x client_ip 10", "not RATE/PERIOD"},
        {"x client_ip 10/", "not RATE/PERIOD"},
        {"x client_ip 10/xs", "not RATE/PERIOD"},
        {"x client_ip 2000/1s", "not RATE/PERIOD"}, // faster than one per millisecond
        {"x client_ip 99999999999999999999/1s", "not RATE/PERIOD"},
        {"x client_ip 1/1s burst=0", "burst"},
        {"x client_ip 1/1s burst=-3", "burst"},
        {"x client_ip 1/1s action=discard", "unknown option"},
        {"x client_ip 1/1s color=red", "unknown option"},
        {"x client_ip 1/1s stage=data", "unknown option"},
        {"x recipient 1/1s stage=mail", "stage=rcpt"},
        {"x recipient 1/1s stage=eom", "stage=rcpt"},
        {"x sasl_user 1/1s count=recipients stage=rcpt", "stage=eom"},
    };
    for (const auto& [line, reason] : cases) {
        std::string error;
        BOOST_TEST_CONTEXT(line) {
            BOOST_TEST(!parse_rate_limit(line, &error));
            BOOST_TEST(error.find(reason) != std::string::npos, error);
        }
    }
}

BOOST_AUTO_TEST_CASE(ratelimit_lines_repeat_and_survive_dump_and_reload) {
    const auto parsed = parse_config_text("[limits]\n"
                                          "ratelimit = per_client client_ip 200/1h burst=50\n"
                                          "ratelimit = quota sasl_user 1000/1d count=recipients\n",
                                          "test.conf");
    BOOST_REQUIRE(parsed.ok());
    BOOST_TEST(parsed.config->list("ratelimit").size() == 2);
    const std::string dump = dump_config(*parsed.config, true);
    BOOST_TEST(dump == "[limits]\nratelimit = per_client client_ip 200/1h burst=50\n"
                       "ratelimit = quota sasl_user 1000/1d count=recipients\n");
    const auto again = parse_config_text(dump, "dump");
    BOOST_REQUIRE(again.ok());
    BOOST_TEST(again.config->list("ratelimit") == parsed.config->list("ratelimit"));
}

BOOST_AUTO_TEST_CASE(a_bad_ratelimit_line_names_its_line) {
    const auto parsed = parse_config_text("[limits]\nratelimit = a client_ip 1/1s\n"
                                          "ratelimit = b nowhere 1/1s\n",
                                          "test.conf");
    BOOST_REQUIRE(parsed.errors.size() == 1);
    BOOST_TEST(parsed.errors[0].to_string().starts_with("test.conf:3: ratelimit: unknown key"));
}

BOOST_AUTO_TEST_SUITE_END()
