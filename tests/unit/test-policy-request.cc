// policy/request: the Postfix policy protocol parser - whole requests, pipelined requests,
// any split of the bytes, the bounds on lines and attributes - and its fuzz target under
// `make check` (seeds and bounded mutations; the ASan build runs them in CI).
#include "../fuzz/mutation.hh"
#include "../fuzz/policy_request_target.hh"
#include "policy/request.hh"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdio>
#include <random>

using namespace mailwarden::policy;

namespace {

const std::string rcpt_request = "request=smtpd_access_policy\nprotocol_state=RCPT\n"
                                 "client_address=192.0.2.7\nsender=a@example.org\n"
                                 "recipient=b@example.net\nccert_subject=ignored\n\n";

// Feeds text in pieces of `chunk` bytes; returns the complete requests and the first error.
std::vector<PolicyRequest> parse_all(std::string_view text, std::size_t chunk,
                                     std::string* error = nullptr) {
    RequestParser parser;
    std::vector<PolicyRequest> requests;
    std::string ignored;
    while (!text.empty()) {
        std::string_view piece = text.substr(0, chunk);
        text.remove_prefix(piece.size());
        while (!piece.empty()) {
            PolicyRequest request;
            const auto status = parser.feed(piece, &request, error ? error : &ignored);
            if (status == RequestParser::Status::error)
                return requests;
            if (status == RequestParser::Status::complete)
                requests.push_back(std::move(request));
        }
    }
    return requests;
}

} // namespace

BOOST_AUTO_TEST_SUITE(policy_request)

BOOST_AUTO_TEST_CASE(a_request_keeps_the_attributes_we_use_and_drops_the_rest) {
    const auto requests = parse_all(rcpt_request, 4096);
    BOOST_REQUIRE(requests.size() == 1);
    BOOST_TEST(requests[0].get("protocol_state") == "RCPT");
    BOOST_TEST(requests[0].get("recipient") == "b@example.net");
    BOOST_TEST(requests[0].get("ccert_subject").empty());
    BOOST_TEST(requests[0].attributes.size() == 5);
}

BOOST_AUTO_TEST_CASE(pipelined_requests_come_out_one_by_one_whatever_the_split) {
    const std::string two = rcpt_request +
                            "request=smtpd_access_policy\r\n"
                            "protocol_state=END-OF-MESSAGE\r\nrecipient_count=3\r\n\r\n";
    for (std::size_t chunk : {1, 2, 3, 7, 64, 4096}) {
        BOOST_TEST_CONTEXT("chunk " << chunk) {
            const auto requests = parse_all(two, chunk);
            BOOST_REQUIRE(requests.size() == 2);
            BOOST_TEST(requests[1].get("protocol_state") == "END-OF-MESSAGE");
            BOOST_TEST(requests[1].get("recipient_count") == "3");
        }
    }
}

BOOST_AUTO_TEST_CASE(values_keep_equals_signs_and_the_last_of_a_repeated_name_wins) {
    const auto requests = parse_all("sender=a=b@x\nsender=c@y\nrecipient=\n\n", 4096);
    BOOST_REQUIRE(requests.size() == 1);
    BOOST_TEST(requests[0].get("sender") == "c@y");
    BOOST_TEST(requests[0].attributes.count("recipient") == 1);
}

BOOST_AUTO_TEST_CASE(a_line_over_the_bound_is_an_error_before_it_is_held_whole) {
    std::string error;
    RequestParser parser;
    std::string line(max_line_bytes + 1, 'x');
    std::string_view input = line;
    PolicyRequest request;
    BOOST_TEST((parser.feed(input, &request, &error) == RequestParser::Status::error));
    BOOST_TEST(error == "line longer than 4096 bytes");
    BOOST_TEST(parser.pending_bytes() <= max_line_bytes);
}

BOOST_AUTO_TEST_CASE(too_many_attributes_or_a_line_without_a_name_is_an_error) {
    std::string many;
    for (std::size_t i = 0; i <= max_attributes; ++i)
        many += "x" + std::to_string(i) + "=1\n";
    std::string error;
    BOOST_TEST(parse_all(many + "\n", 4096, &error).empty());
    BOOST_TEST(error == "more than 100 attributes");
    BOOST_TEST(parse_all("no equals sign\n\n", 4096, &error).empty());
    BOOST_TEST(error == "not a name=value line");
    BOOST_TEST(parse_all("=value\n\n", 4096, &error).empty());
}

BOOST_AUTO_TEST_CASE(empty_lines_between_requests_are_ignored) {
    BOOST_TEST(parse_all("\n\n\n" + rcpt_request + "\n" + rcpt_request, 5).size() == 2);
}

BOOST_AUTO_TEST_CASE(replies_are_one_action_line_and_an_empty_line_without_control_bytes) {
    BOOST_TEST(format_reply("DUNNO") == "action=DUNNO\n\n");
    BOOST_TEST(format_reply("REJECT bad\r\nthing") == "action=REJECT bad  thing\n\n");
}

BOOST_AUTO_TEST_CASE(fuzz_seeds_and_bounded_mutations_run) {
    const auto seeds = mailwarden::fuzz::read_seeds("policy-request");
    const auto tokens = mailwarden::fuzz::read_dictionary("policy-request");
    BOOST_TEST_REQUIRE(seeds.size() >= 2u, "seed corpus tests/fuzz/corpus/policy-request");
    BOOST_TEST_REQUIRE(tokens.size() >= 10u, "dictionary tests/fuzz/policy-request.dict");
    std::size_t complete = 0;
    for (const auto& seed : seeds)
        complete += mailwarden::fuzz::policy_request_one(seed);
    BOOST_TEST(complete >= 3u);
    const auto seed = static_cast<unsigned>(std::random_device{}());
    std::fprintf(stderr, "fuzz_policy_request: mutation seed %u\n", seed);
    std::mt19937 random(seed);
    const auto stop = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    int runs = 0;
    for (; runs < 50000 && std::chrono::steady_clock::now() < stop; ++runs)
        complete += mailwarden::fuzz::policy_request_one(
            mailwarden::fuzz::mutate(seeds[random() % seeds.size()], seeds, tokens, random, 16384));
    std::fprintf(stderr, "fuzz_policy_request: %d runs, %zu complete requests\n", runs, complete);
    BOOST_TEST(runs > 0);
}

BOOST_AUTO_TEST_SUITE_END()
