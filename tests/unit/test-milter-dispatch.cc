// milter/frame and milter/dispatch: the milter protocol without sockets. Frames are fed as
// Postfix sends them (its offer, its macros, its order of steps) to a Dispatcher whose engine
// answers DNS from a zone in memory and keeps no state; the tests read what it would write.
#include "dns/fake_resolver.hh"
#include "engine/engine_holder.hh"
#include "milter/dispatch.hh"
#include "milter/frame.hh"
#include "milter_frames.hh"
#include "signing_keys.hh"

#include <boost/test/unit_test.hpp>

#include <memory>
#include <string>
#include <vector>

using namespace mailwarden;
using namespace mailwarden::milter;
using test::frame;
using test::strings;
using test::u32;

namespace {

// What Postfix 3.7 offers with milter_protocol = 6.
const std::string postfix_offer = u32(6) + u32(0x1ff) + u32(0x1fffff);

struct Reply {
    char command;
    std::string data;
};

// The frames of a dispatcher's output, which is cleared.
std::vector<Reply> replies(Dispatcher& dispatcher) {
    FrameReader reader;
    reader.append(dispatcher.output());
    dispatcher.output().clear();
    std::vector<Reply> out;
    Frame frame;
    while (reader.next(frame) == FrameReader::Status::frame)
        out.push_back({frame.command, std::string(frame.data)});
    BOOST_TEST(reader.pending() == 0U);
    return out;
}

std::string commands(const std::vector<Reply>& list) {
    std::string out;
    for (const auto& reply : list)
        out += reply.command;
    return out;
}

struct DispatchFixture {
    DispatchFixture()
        : engines(config::parse_config_text("[general]\nauthserv_id = mx.test\n"
                                            "internal_networks =\n",
                                            "test.conf")
                      .config,
                  std::make_shared<dns::FakeResolver>(dns::FakeResolver::from_text(
                      "example.test TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
                      "_dmarc.example.test TXT \"v=DMARC1; p=none\"\n")),
                  nullptr) {}

    // Feeds one frame's bytes; what handle() said.
    bool feed(Dispatcher& dispatcher, const std::string& bytes) {
        FrameReader reader;
        reader.append(bytes);
        Frame frame;
        bool carry_on = true;
        while (carry_on && reader.next(frame) == FrameReader::Status::frame)
            carry_on = dispatcher.handle(frame);
        return carry_on;
    }

    // Negotiation, connect and HELO as Postfix sends them; the negotiation reply.
    Reply open(Dispatcher& dispatcher) {
        BOOST_REQUIRE(feed(dispatcher, frame(command::negotiate, postfix_offer)));
        const auto negotiation = replies(dispatcher);
        BOOST_REQUIRE(negotiation.size() == 1U);
        BOOST_REQUIRE(feed(
            dispatcher,
            frame(command::macro, "C" + strings({"j", "mx.test", "{daemon_name}", "smtpd",
                                                 "{client_addr}", "192.0.2.10"})) +
                frame(command::connect, strings({"mx.client.test"}) + "4" +
                                            std::string("\x30\x39", 2) + strings({"192.0.2.10"})) +
                frame(command::macro, "H") + frame(command::helo, strings({"mx.client.test"}))));
        return negotiation.front();
    }

    engine::EngineHolder engines;
};

} // namespace

BOOST_AUTO_TEST_SUITE(milter_frame)

BOOST_AUTO_TEST_CASE(frames_come_out_whole_however_the_bytes_arrive) {
    const std::string stream = frame(command::helo, strings({"a.example"})) +
                               frame(command::abort) +
                               frame(command::body, std::string(70000, 'x'));
    for (const std::size_t piece :
         {std::size_t(1), std::size_t(3), std::size_t(4096), stream.size()}) {
        FrameReader reader;
        std::vector<std::pair<char, std::size_t>> seen;
        for (std::size_t at = 0; at < stream.size(); at += piece) {
            reader.append(std::string_view(stream).substr(at, piece));
            Frame frame;
            while (reader.next(frame) == FrameReader::Status::frame)
                seen.emplace_back(frame.command, frame.data.size());
        }
        BOOST_TEST(seen.size() == 3U, "pieces of " << piece);
        BOOST_TEST(
            (seen == std::vector<std::pair<char, std::size_t>>{{'H', 10}, {'A', 0}, {'B', 70000}}));
        BOOST_TEST(reader.pending() == 0U);
    }
}

BOOST_AUTO_TEST_CASE(a_frame_of_length_zero_or_over_the_limit_is_an_error) {
    for (const std::string& bytes :
         {u32(0) + "x", u32(max_frame_bytes + 1) + "L", u32(0xffffffffU) + "B"}) {
        FrameReader reader;
        reader.append(bytes);
        Frame frame;
        std::string error;
        BOOST_TEST((reader.next(frame, &error) == FrameReader::Status::error));
        BOOST_TEST(!error.empty());
        BOOST_TEST((reader.next(frame) == FrameReader::Status::error)); // and stays so
    }
    FrameReader small(16);
    small.append(frame(command::body, std::string(16, 'x')));
    Frame frame;
    BOOST_TEST((small.next(frame) == FrameReader::Status::error));
}

// libmilter's default limit was 64 KB: a longer header field dropped the connection, although
// an MTA may pass fields up to its limit (Postfix's header_size_limit: 102400 octets by default).
BOOST_AUTO_TEST_CASE(a_header_field_of_100_kb_is_one_frame_and_the_buffer_shrinks_after) {
    const std::string value(100 * 1024, 'v');
    FrameReader reader;
    reader.append(frame(command::header, strings({"X-Large", value})));
    Frame frame;
    BOOST_TEST_REQUIRE((reader.next(frame) == FrameReader::Status::frame));
    BOOST_TEST(frame.data.size() == 8 + value.size() + 1);
    BOOST_TEST(reader.capacity() >= 100 * 1024U);
    (void)reader.input_space();
    BOOST_TEST(reader.capacity() <= 128 * 1024U);
}

BOOST_AUTO_TEST_CASE(strings_must_end_with_their_nul) {
    std::vector<std::string_view> parts;
    BOOST_TEST(split_strings(std::string_view("a\0bc\0", 5), parts));
    BOOST_TEST((parts == std::vector<std::string_view>{"a", "bc"}));
    BOOST_TEST(split_strings(std::string_view("\0", 1), parts));
    BOOST_TEST(parts.size() == 1U);
    BOOST_TEST(!split_strings(std::string_view("a\0b", 3), parts));
    BOOST_TEST(!split_strings("", parts));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(milter_dispatch, DispatchFixture)

// Postfix waits for an answer at MAIL and end of message only (DATA is negotiated away; its
// macros still come; body chunks get no reply). At end of message our header and the final
// reply leave together.
BOOST_AUTO_TEST_CASE(a_postfix_session_is_answered_where_postfix_waits_and_nowhere_else) {
    Dispatcher dispatcher(engines);
    const Reply negotiation = open(dispatcher);
    BOOST_TEST(negotiation.command == reply::negotiate);
    BOOST_TEST_REQUIRE(negotiation.data.size() >= 12U);
    BOOST_TEST(read_u32(negotiation.data) == 6U);
    BOOST_TEST(read_u32(negotiation.data.substr(4)) == 0x131U);
    const std::uint32_t protocol = read_u32(negotiation.data.substr(8));
    for (const std::uint32_t wanted :
         {option::no_reply_connect, option::no_reply_helo, option::no_reply_recipient,
          option::no_reply_header, option::no_reply_end_of_headers, option::no_reply_body,
          option::skip, option::header_leading_space, option::no_unknown, option::no_data})
        BOOST_TEST((protocol & wanted) == wanted, std::hex << wanted);
    BOOST_TEST((protocol & option::no_data) == option::no_data);
    BOOST_TEST((protocol & option::no_reply_mail) == 0U);
    BOOST_TEST(negotiation.data.find(u32(macro_stage::connect) + "j {daemon_name} {client_addr}") !=
               std::string::npos);
    BOOST_TEST(replies(dispatcher).empty()); // connect and HELO: no reply

    BOOST_TEST(feed(dispatcher, frame(command::macro, "M" + strings({"i", "4QkZ3T1x"})) +
                                    frame(command::mail, strings({"<alice@example.test>"}))));
    BOOST_TEST(commands(replies(dispatcher)) == "c");
    BOOST_TEST(feed(dispatcher, frame(command::macro, "R") +
                                    frame(command::recipient, strings({"<bob@example.net>"}))));
    BOOST_TEST(replies(dispatcher).empty());
    BOOST_TEST(feed(dispatcher, frame(command::macro, "T" + strings({"i", "4QkZ3T1x"}))));
    BOOST_TEST(replies(dispatcher).empty());
    BOOST_TEST(feed(dispatcher, frame(command::header, strings({"From", "alice@example.test"})) +
                                    frame(command::header, strings({"Subject", "hi"})) +
                                    frame(command::end_of_headers)));
    BOOST_TEST(replies(dispatcher).empty());
    BOOST_TEST(feed(dispatcher, frame(command::body, "Hello\r\n")));
    BOOST_TEST(replies(dispatcher).empty());
    BOOST_TEST(feed(dispatcher, frame(command::macro, "E" + strings({"i", "4QkZ3T1x"})) +
                                    frame(command::end_of_body)));
    const auto end = replies(dispatcher);
    BOOST_TEST_REQUIRE(commands(end) == "ic");
    BOOST_TEST(end[0].data.substr(4).starts_with(std::string("Authentication-Results\0", 23) +
                                                 " mx.test; spf=pass"));
    BOOST_TEST(!feed(dispatcher, frame(command::quit))); // the connection ends
    BOOST_TEST(replies(dispatcher).empty());
}

BOOST_AUTO_TEST_CASE(an_mta_without_no_reply_steps_gets_every_step_answered) {
    Dispatcher dispatcher(engines);
    // Protocol version 2 with 0 for actions and steps: the version 1 defaults.
    BOOST_TEST(feed(dispatcher, frame(command::negotiate, u32(2) + u32(0) + u32(0))));
    const auto negotiation = replies(dispatcher);
    BOOST_TEST_REQUIRE(negotiation.size() == 1U);
    BOOST_TEST(read_u32(negotiation[0].data) == 2U);
    BOOST_TEST(read_u32(negotiation[0].data.substr(8)) == 0U);
    BOOST_TEST(negotiation[0].data.size() == 12U); // no macro lists: not offered
    BOOST_TEST(feed(dispatcher,
                    frame(command::connect, strings({"[192.0.2.10]"}) + "4" + std::string(2, '\0') +
                                                strings({"192.0.2.10"})) +
                        frame(command::helo, strings({"h.example"})) +
                        frame(command::mail, strings({"<>"})) +
                        frame(command::recipient, strings({"<b@example.net>"})) +
                        frame(command::header, strings({"From", "x@example.test"})) +
                        frame(command::end_of_headers) + frame(command::body, "x\r\n") +
                        frame(command::end_of_body)));
    const std::string answered = commands(replies(dispatcher));
    BOOST_TEST(answered.substr(0, 7) == "ccccccc", answered);
    BOOST_TEST(answered.back() == 'c', answered); // end of message, after our header
}

BOOST_AUTO_TEST_CASE(a_new_smtp_session_on_the_same_connection_starts_with_connect) {
    Dispatcher dispatcher(engines);
    open(dispatcher);
    BOOST_TEST(feed(dispatcher, frame(command::mail, strings({"<a@example.test>"}))));
    BOOST_TEST(commands(replies(dispatcher)) == "c");
    BOOST_TEST(feed(dispatcher, frame(command::quit_new_connection)));
    BOOST_TEST(feed(dispatcher,
                    frame(command::connect, strings({"other.test"}) + "6" + std::string(2, '\0') +
                                                strings({"IPv6:2001:DB8::1"})) +
                        frame(command::mail, strings({"<a@example.test>"}))));
    BOOST_TEST(commands(replies(dispatcher)) == "c");
}

// A server thread keeps its Dispatcher from one connection to the next.
BOOST_AUTO_TEST_CASE(a_dispatcher_serves_the_next_connection_from_scratch) {
    Dispatcher dispatcher(engines);
    open(dispatcher);
    BOOST_TEST(feed(dispatcher, frame(command::macro, "M" + strings({"i", "OLDQUEUEID"})) +
                                    frame(command::mail, strings({"<a@example.test>"}))));
    (void)replies(dispatcher);
    dispatcher.end_connection();
    BOOST_TEST(!feed(dispatcher, frame(command::mail, strings({"<a@example.test>"})))); // first
    dispatcher.end_connection();
    const Reply negotiation = open(dispatcher);
    BOOST_TEST(negotiation.command == reply::negotiate);
    BOOST_TEST(feed(dispatcher, frame(command::mail, strings({"<a@example.test>"}))));
    BOOST_TEST(commands(replies(dispatcher)) == "c");
}

// Outbound mail to sign, from an MTA that did not allow adding header fields: held with a 4xx
// (on_internal_error), never sent unsigned by surprise; signed where the MTA allows it.
BOOST_AUTO_TEST_CASE(mail_to_sign_is_held_when_the_mta_allows_no_added_header) {
    signing_test::TempDir dir;
    const std::string key =
        signing_test::write_file(dir.file("ed.key"), signing_test::ed25519_key().pem(), 0600);
    engine::EngineHolder signing_engines(
        config::parse_config_text("[general]\nauthserv_id = mx.test\nallow_root = yes\n"
                                  "[signing]\ndkim_sign_key = example.test ed " +
                                      key + "\n",
                                  "test.conf")
            .config,
        std::make_shared<dns::FakeResolver>(dns::FakeResolver::from_text("")), nullptr);
    for (const bool may_add : {true, false}) {
        BOOST_TEST_CONTEXT("the MTA may add header fields: " << may_add) {
            Dispatcher dispatcher(signing_engines);
            BOOST_TEST(
                feed(dispatcher, frame(command::negotiate,
                                       u32(6) + u32(may_add ? 0x1ff : 0x1fe) + u32(0x1fffff))));
            (void)replies(dispatcher);
            BOOST_TEST(
                feed(dispatcher,
                     frame(command::connect, strings({"localhost"}) + "4" + std::string(2, '\0') +
                                                 strings({"127.0.0.1"})) +
                         frame(command::mail, strings({"<alice@example.test>"})) +
                         frame(command::recipient, strings({"<bob@example.net>"})) +
                         frame(command::header, strings({"From", "alice@example.test"})) +
                         frame(command::end_of_headers) + frame(command::body, "Hello\r\n") +
                         frame(command::end_of_body)));
            const auto answered = replies(dispatcher);
            BOOST_TEST_REQUIRE(!answered.empty());
            bool signature_added = false;
            for (const auto& reply : answered)
                signature_added =
                    signature_added ||
                    (reply.command == 'i' &&
                     reply.data.substr(4).starts_with(std::string("DKIM-Signature\0", 15)));
            BOOST_TEST(signature_added == may_add, commands(answered));
            const Reply& last = answered.back();
            if (may_add)
                BOOST_TEST(last.command == 'c', commands(answered));
            else
                BOOST_TEST(
                    (last.command == 't' || (last.command == 'y' && last.data.starts_with("4"))),
                    commands(answered) << " " << last.data);
        }
    }
}

BOOST_AUTO_TEST_CASE(a_reject_carries_its_reply_text) {
    Dispatcher dispatcher(engines);
    open(dispatcher);
    // MAIL from a domain whose SPF fails: with spf_fail_action at its default the engine
    // refuses at MAIL, or accepts; either way the answer is one frame, a valid one.
    BOOST_TEST(feed(dispatcher, frame(command::mail, strings({"<a@fail.example>"}))));
    const auto answer = replies(dispatcher);
    BOOST_TEST_REQUIRE(answer.size() == 1U);
    if (answer[0].command == reply::reply_code)
        BOOST_TEST((answer[0].data.starts_with("5") || answer[0].data.starts_with("4")));
    else
        BOOST_TEST(answer[0].command == reply::continue_);
}

// Each case: frames after a proper negotiation (or none), the last one breaking the protocol.
BOOST_AUTO_TEST_CASE(a_command_that_breaks_the_protocol_ends_that_connection_only) {
    struct Case {
        const char* what;
        bool negotiate_first;
        std::string bytes;
    };
    const std::vector<Case> cases = {
        {"MAIL before negotiation", false, frame(command::mail, strings({"<a@b>"}))},
        {"short negotiation", false, frame(command::negotiate, u32(6))},
        {"version 1", false, frame(command::negotiate, u32(1) + u32(0) + u32(0))},
        {"second negotiation", true, frame(command::negotiate, postfix_offer)},
        {"unknown command", true, frame('Z', "x")},
        {"connect without family", true, frame(command::connect, strings({"host"}))},
        {"connect, unknown family", true,
         frame(command::connect, strings({"h"}) + "X" + std::string(2, '\0') + strings({"a"}))},
        {"connect, bad IPv4", true,
         frame(command::connect,
               strings({"h"}) + "4" + std::string(2, '\0') + strings({"999.1.1.1"}))},
        {"connect, address unterminated", true,
         frame(command::connect, strings({"h"}) + "4" + std::string(2, '\0') + "192.0.2.1")},
        {"MAIL without NUL", true, frame(command::mail, "<a@b>")},
        {"header without value", true, frame(command::header, strings({"From"}))},
        {"header with empty name", true, frame(command::header, strings({"", "v"}))},
        {"macro without step", true, frame(command::macro)},
        {"macros unterminated", true, frame(command::macro, "Mi\0x")},
    };
    for (const auto& bad : cases) {
        Dispatcher dispatcher(engines);
        if (bad.negotiate_first)
            BOOST_TEST_REQUIRE(feed(dispatcher, frame(command::negotiate, postfix_offer)));
        BOOST_TEST(!feed(dispatcher, bad.bytes), bad.what);
    }
}

BOOST_AUTO_TEST_CASE(steps_in_a_strange_order_get_answers_never_a_crash) {
    Dispatcher dispatcher(engines);
    BOOST_TEST(feed(dispatcher, frame(command::negotiate, postfix_offer)));
    (void)replies(dispatcher);
    // End of message with no message, a body before MAIL, headers before connect: each step
    // that has a reply gets one (tempfail or continue), the connection goes on.
    BOOST_TEST(feed(dispatcher, frame(command::header, strings({"From", "x"})) +
                                    frame(command::body, "x") + frame(command::end_of_body) +
                                    frame(command::abort) + frame(command::data) +
                                    frame(command::unknown, strings({"HELP"}))));
    const std::string answered = commands(replies(dispatcher));
    BOOST_TEST(answered.size() == 3U, answered); // end of message, DATA, unknown
}

// No MTA sends a body before the end of the header; a client that does must not reach the DKIM
// verifier in the wrong order (libopendkim asserted and the daemon died; the fuzz target found
// it).
BOOST_AUTO_TEST_CASE(a_body_before_the_end_of_the_header_is_taken_in_order) {
    for (const std::string& steps :
         {frame(command::body, "Hello\r\n") + frame(command::end_of_body),
          frame(command::end_of_body, "Hello\r\n"),
          frame(command::end_of_headers) + frame(command::header, strings({"From", "x@y"})) +
              frame(command::end_of_body)}) {
        Dispatcher dispatcher(engines);
        open(dispatcher);
        BOOST_TEST(feed(dispatcher,
                        frame(command::mail, strings({"<alice@example.test>"})) +
                            frame(command::header, strings({"From", "a@example.test"})) + steps));
        const std::string answered = commands(replies(dispatcher));
        BOOST_TEST(!answered.empty());
        BOOST_TEST(answered.back() != 'O');
    }
}

// libmilter takes a last body chunk with the end of message; with body chunks unanswered that
// chunk's "no reply" must not stand in for the end of message's answer.
BOOST_AUTO_TEST_CASE(an_end_of_message_with_the_last_body_chunk_gets_the_end_answer) {
    Dispatcher dispatcher(engines);
    open(dispatcher);
    BOOST_TEST(
        feed(dispatcher, frame(command::mail, strings({"<alice@example.test>"})) +
                             frame(command::header, strings({"From", "alice@example.test"})) +
                             frame(command::end_of_headers)));
    BOOST_TEST(commands(replies(dispatcher)) == "c");
    BOOST_TEST(feed(dispatcher, frame(command::end_of_body, "Hello\r\n")));
    BOOST_TEST(commands(replies(dispatcher)) == "ic");
}

BOOST_AUTO_TEST_SUITE_END()
