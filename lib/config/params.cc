// THE parameter table: every configuration parameter's name, section, type, default, bounds,
// reloadability and documentation. The parser, `mailwarden config dump`, the annotated sample
// conf/mailwarden.conf and conf/mailwarden.conf.5 all follow it; tests/unit/test-config.cc fails
// when the sample or the man page disagree with it. The value checks are in param_checks.cc.
#include "config/params.hh"

#include "config/param_checks.hh"

#include <array>

namespace mailwarden::config {

namespace {

using namespace std::string_view_literals;

constexpr long long second = 1000;

using namespace param_checks;

constexpr std::array facilities{"mail"sv,   "daemon"sv, "user"sv,   "local0"sv,
                                "local1"sv, "local2"sv, "local3"sv, "local4"sv,
                                "local5"sv, "local6"sv, "local7"sv};
constexpr std::array log_levels{"error"sv, "warning"sv, "notice"sv, "info"sv, "debug"sv};
constexpr std::array tempfail_or_accept{"tempfail"sv, "accept"sv};
constexpr std::array accept_or_tempfail{"accept"sv, "tempfail"sv};
constexpr std::array state_backends{"lmdb"sv, "redis"sv};
constexpr std::array failure_actions{"reject"sv, "quarantine"sv, "none"sv};
constexpr std::array tempfail_or_none{"tempfail"sv, "none"sv};
constexpr std::array dkim_sha1_results{"policy"sv, "fail"sv};
constexpr std::array dkim_body_length_choices{"policy"sv, "allow"sv};
constexpr std::array dmarc_discovery_methods{"treewalk"sv, "psl"sv};
constexpr std::array dkim_canonicalizations{"relaxed/relaxed"sv, "relaxed/simple"sv,
                                            "simple/relaxed"sv, "simple/simple"sv};
constexpr std::array section_names{"general"sv, "milter"sv,  "policy"sv, "dns"sv,    "auth"sv,
                                   "signing"sv, "actions"sv, "state"sv,  "limits"sv, "reports"sv};

// clang-format off
const std::array table{
    // [general]
    ParamDef{.name = "syslog_facility", .section = "general", .type = ParamType::choice,
        .default_text = "mail", .allowed = facilities, .reloadable = false,
        .help = "Syslog facility of every log line.",
        .doc = "Both daemons and the admin tool log through syslog with this facility and the "
               "program name as ident. Changing it needs a restart because syslog is opened once."},
    ParamDef{.name = "log_level", .section = "general", .type = ParamType::choice,
        .default_text = "info", .allowed = log_levels, .reloadable = true,
        .help = "Least severe level that is logged.",
        .doc = "One of error, warning, notice, info, debug. At info every message or policy "
               "request produces one summary line; debug adds per-check detail."},
    ParamDef{.name = "user", .section = "general", .type = ParamType::string,
        .default_text = "mailwarden", .validator = check_user, .reloadable = false,
        .help = "Unprivileged user the daemons run as after binding their sockets.",
        .doc = "Started as root, a daemon binds its socket, writes its pid file and opens its "
               "state store, then drops to this user and its primary group and verifies that "
               "root cannot be regained."},
    ParamDef{.name = "allow_root", .section = "general", .type = ParamType::boolean,
        .default_text = "no", .reloadable = false,
        .help = "Allow the daemons to keep running as root.",
        .doc = "Only for debugging. With the default no, a daemon that cannot drop to user "
               "refuses to start."},
    ParamDef{.name = "authserv_id", .section = "general", .type = ParamType::string,
        .default_text = "", .validator = check_authserv_id, .reloadable = true,
        .help = "Authentication-Results authserv-id; empty means this host's name.",
        .doc = "The name written first in every Authentication-Results header (RFC 8601). "
               "Headers from elsewhere that claim this name are removed, so all MX hosts of one "
               "domain should share it."},
    ParamDef{.name = "internal_networks", .section = "general", .type = ParamType::cidr_list,
        .default_text = "127.0.0.0/8 ::1/128", .reloadable = true,
        .help = "Client networks whose mail is outbound (signed, never SPF/DMARC-rejected).",
        .doc = "Mail from these networks, like mail from SASL-authenticated clients, is treated "
               "as outbound: no inbound SPF or DMARC rejection, DKIM signing instead, outbound rate "
               "limits. Loopback is included by default on purpose: mail submitted on the host "
               "itself (sendmail(1), local scripts, content filters re-injecting on 127.0.0.1) "
               "is local and must not be judged as if a stranger had sent it. Remove the loopback "
               "entries (for example to test inbound checks through a local MTA) by setting the "
               "list explicitly. Repeat the key or separate entries by spaces or commas; an empty "
               "value means no internal networks."},
    ParamDef{.name = "milter_pid_file", .section = "general", .type = ParamType::string,
        .default_text = "${runstatedir}/mailwarden/mailwarden-milter.pid",
        .validator = check_absolute_path, .reloadable = false,
        .help = "Pid file of mailwarden-milter.",
        .doc = "Written before privileges are dropped and removed at exit. ${runstatedir} is the "
               "build-time run-state directory, usually /run."},
    ParamDef{.name = "policy_pid_file", .section = "general", .type = ParamType::string,
        .default_text = "${runstatedir}/mailwarden/mailwarden-policyd.pid",
        .validator = check_absolute_path, .reloadable = false,
        .help = "Pid file of mailwarden-policyd.",
        .doc = "Written before privileges are dropped and removed at exit. ${runstatedir} is the "
               "build-time run-state directory, usually /run."},
    // [milter]
    ParamDef{.name = "milter_socket", .section = "milter", .type = ParamType::string,
        .default_text = "inet:8891@127.0.0.1", .validator = check_socket, .reloadable = false,
        .help = "Socket mailwarden-milter listens on.",
        .doc = "inet:PORT@ADDR, inet6:PORT@ADDR, unix:/PATH or local:/PATH. Postfix names it in "
               "smtpd_milters (inet:127.0.0.1:8891 or unix:/PATH), Sendmail in INPUT_MAIL_FILTER."},
    ParamDef{.name = "milter_socket_mode", .section = "milter", .type = ParamType::string,
        .default_text = "0660", .validator = check_octal_mode, .reloadable = false,
        .help = "Octal permissions of a unix milter socket.",
        .doc = "Applied to unix: and local: sockets only; the MTA's user must be able to "
               "connect, usually through the group."},
    ParamDef{.name = "milter_socket_owner", .section = "milter", .type = ParamType::string,
        .default_text = "", .validator = check_owner, .reloadable = false,
        .help = "Owner of a unix milter socket as USER, USER:GROUP or :GROUP; empty means user.",
        .doc = "Applied to unix: and local: sockets when the daemon starts as root. Empty gives "
               "the socket to user and its primary group, so that the daemon can remove it at "
               "exit; with the default mode 0660 the MTA connects through that group (on "
               "Debian: adduser postfix mailwarden). A chrooted Postfix needs the socket inside "
               "its chroot, for example unix:/var/spool/postfix/mailwarden/milter.sock."},
    ParamDef{.name = "milter_timeout", .section = "milter", .type = ParamType::duration,
        .default_text = "2h", .min = 1 * second, .max = 86400 * second, .reloadable = true,
        .help = "How long a milter connection may stay silent, or a write to the MTA may block.",
        .doc = "The MTA keeps its milter connection open while it waits for its SMTP client "
               "between commands (Postfix up to smtpd_timeout, 300s by default; Sendmail up to "
               "Timeout.command, 1h), so this must be longer. A connection silent for longer, in "
               "the middle of a packet too, is closed; the MTA then applies its own default "
               "action (Postfix milter_default_action). Applies to new connections."},
    ParamDef{.name = "milter_max_connections", .section = "milter", .type = ParamType::integer,
        .default_text = "500", .min = 1, .max = 10000, .reloadable = true,
        .help = "Most MTA connections served at once.",
        .doc = "Each connection is served by a thread of its own. Postfix opens one per smtpd "
               "process (default_process_limit, 100 by default) plus those of cleanup for mail "
               "not received by SMTP. At the limit new connections wait in the listen queue "
               "until one ends, and a warning is logged once a minute."},
    // [policy]
    ParamDef{.name = "policy_socket", .section = "policy", .type = ParamType::string,
        .default_text = "inet:10040@127.0.0.1", .validator = check_socket, .reloadable = false,
        .help = "Socket mailwarden-policyd listens on.",
        .doc = "Same syntax as milter_socket. Postfix names it in check_policy_service "
               "(inet:127.0.0.1:10040 or unix:/PATH)."},
    ParamDef{.name = "policy_socket_mode", .section = "policy", .type = ParamType::string,
        .default_text = "0660", .validator = check_octal_mode, .reloadable = false,
        .help = "Octal permissions of a unix policy socket.",
        .doc = "Applied to unix: and local: sockets only; Postfix's smtpd must be able to "
               "connect, usually through the group."},
    ParamDef{.name = "policy_socket_owner", .section = "policy", .type = ParamType::string,
        .default_text = "", .validator = check_owner, .reloadable = false,
        .help = "Owner of a unix policy socket as USER, USER:GROUP or :GROUP; empty means user.",
        .doc = "As milter_socket_owner. check_policy_service unix:NAME is relative to Postfix's "
               "queue directory, inside its chroot, for example policy_socket = "
               "unix:/var/spool/postfix/mailwarden/policy.sock and check_policy_service "
               "unix:mailwarden/policy.sock."},
    ParamDef{.name = "policy_default_action", .section = "policy", .type = ParamType::string,
        .default_text = "DUNNO", .validator = check_policy_action, .reloadable = true,
        .help = "Answer to a policy request that breaks the protocol; the connection then closes.",
        .doc = "A request with a line over 4096 bytes, more than 100 attributes or a line that is "
               "not name=value gets this access(5) action, e.g. DUNNO (the other restrictions "
               "decide) or \"451 4.3.5 policy request refused\". Postfix itself never sends such "
               "a request."},
    ParamDef{.name = "policy_max_connections", .section = "policy", .type = ParamType::integer,
        .default_text = "1000", .min = 1, .max = 100'000, .reloadable = true,
        .help = "Most policy client connections served at once; more wait until one leaves.",
        .doc = "Each Postfix smtpd process keeps one connection (Postfix's default_process_limit "
               "is 100). Beyond this number new clients wait in the listen queue, each served as "
               "soon as a connection ends. Each connection needs a file descriptor: the daemon "
               "raises its soft limit to this number plus 256 when the hard limit allows "
               "(LimitNOFILE in the systemd unit) and logs a warning when it cannot."},
    ParamDef{.name = "policy_idle_timeout", .section = "policy", .type = ParamType::duration,
        .default_text = "600s", .min = 1 * second, .max = 86'400 * second, .reloadable = true,
        .help = "A policy connection without a request for this long is closed.",
        .doc = "Postfix closes an idle policy connection itself after "
               "smtpd_policy_service_max_idle (300s) and gives up waiting for an answer after "
               "smtpd_policy_service_timeout (100s); keep this above both, so that Postfix, not "
               "the server, ends the connections it still uses. It frees the connections of "
               "clients that went away without closing them."},
    ParamDef{.name = "policy_request_timeout", .section = "policy", .type = ParamType::duration,
        .default_text = "30s", .min = 1 * second, .max = 600 * second, .reloadable = true,
        .help = "Time allowed to finish a request once begun, and to take its answer.",
        .doc = "Postfix writes a request at once; one still unfinished after this time (or a "
               "client that does not read its answer) is closed with a warning, so that a "
               "stalled client cannot hold a connection for ever."},
    // [dns]
    ParamDef{.name = "dns_servers", .section = "dns", .type = ParamType::list,
        .default_text = "", .validator = check_dns_server, .reloadable = false,
        .help = "Recursive resolvers to forward to; empty means the system resolver.",
        .doc = "Entries are ADDR or ADDR@PORT (IPv4 or IPv6 literals). Empty uses the servers of "
               "/etc/resolv.conf. Queries to loopback addresses are allowed, so a local unbound or "
               "a test DNS server on 127.0.0.1 works."},
    ParamDef{.name = "dns_timeout", .section = "dns", .type = ParamType::duration,
        .default_text = "5s", .min = 1 * second, .max = 60 * second, .reloadable = true,
        .help = "Time allowed for one DNS lookup, retries included.",
        .doc = "A lookup that takes longer counts as a DNS error (temperror in "
               "Authentication-Results) and is handled by on_dns_error."},
    ParamDef{.name = "dns_cache_size", .section = "dns", .type = ParamType::size,
        .default_text = "16M", .min = 0, .max = 1024LL * 1024 * 1024, .reloadable = false,
        .help = "Memory for the DNS answers each daemon keeps itself; 0 turns this cache off.",
        .doc = "An answer found in this cache costs no thread hop and no system call; libunbound's "
               "own cache stays behind it. Answers are kept for their TTL (at most a day), NXDOMAIN "
               "and NODATA for the negative TTL of their zone's SOA (RFC 2308; 60s when the reply "
               "carries none, at most 1h). SERVFAIL and timeouts are never kept, so that a DNS "
               "outage ends when the servers recover. When the cache is full the answers used "
               "least recently go first."},
    ParamDef{.name = "dns_cache_entries", .section = "dns", .type = ParamType::integer,
        .default_text = "100000", .min = 0, .max = 10'000'000, .reloadable = false,
        .help = "Most answers the DNS cache of each daemon keeps; 0 turns this cache off.",
        .doc = "A bound beside dns_cache_size, which counts bytes; whichever is reached first "
               "makes room."},
    ParamDef{.name = "dnssec", .section = "dns", .type = ParamType::boolean,
        .default_text = "no", .reloadable = false,
        .help = "Validate DNSSEC and record whether answers were secure.",
        .doc = "Needs dnssec_trust_anchor. Validation failures (bogus answers) are DNS errors."},
    ParamDef{.name = "dnssec_trust_anchor", .section = "dns", .type = ParamType::string,
        .default_text = "/usr/share/dns/root.key", .validator = check_absolute_path,
        .reloadable = false,
        .help = "Root trust anchor file used when dnssec is yes.",
        .doc = "Debian's dns-root-data package installs it; unbound-anchor keeps one current."},
    // [auth]
    ParamDef{.name = "trusted_authserv_ids", .section = "auth", .type = ParamType::list,
        .default_text = "", .validator = check_authserv_id, .reloadable = true,
        .help = "authserv-ids whose Authentication-Results headers are trusted.",
        .doc = "Authentication-Results headers written by these hosts (for example an internal "
               "relay that checks mail before it reaches this one) are kept and reported by "
               "mailwarden check as trusted. Headers claiming our own authserv_id are forgeries "
               "and always removed, even if that name is listed here. Other headers are kept "
               "and ignored."},
    ParamDef{.name = "spf_time_budget", .section = "auth", .type = ParamType::duration,
        .default_text = "20s", .min = 1 * second, .max = 60 * second, .reloadable = true,
        .help = "Time allowed for one whole SPF evaluation, all its DNS lookups included.",
        .doc = "RFC 7208 section 4.6.4 suggests at least 20 seconds. An evaluation that runs out "
               "of time is a temperror, handled like any DNS error."},
    ParamDef{.name = "spf_explanation", .section = "auth", .type = ParamType::string,
        .default_text = "%{i} is not one of %{d}'s designated mail servers",
        .validator = check_spf_explanation, .reloadable = true,
        .help = "Explanation given with an SPF fail when the domain publishes none (exp=).",
        .doc = "An RFC 7208 macro string: %{i} is the client address, %{d} the domain, %{s} "
               "the sender, %{h} the HELO name; %% is a percent sign. It appears in the reject "
               "text when spf_fail_action = reject and in mailwarden check."},
    ParamDef{.name = "dkim_max_signatures", .section = "auth", .type = ParamType::integer,
        .default_text = "5", .min = 1, .max = 50, .reloadable = true,
        .help = "DKIM signatures evaluated per message; later ones are reported, not checked.",
        .doc = "Each evaluated signature costs a DNS lookup and a public-key operation, so a "
               "message carrying hundreds of signatures cannot make the filter do hundreds of "
               "each. Signatures beyond the limit get dkim=policy in Authentication-Results."},
    ParamDef{.name = "dkim_min_key_bits", .section = "auth", .type = ParamType::integer,
        .default_text = "1024", .min = 512, .max = 8192, .reloadable = true,
        .help = "Smallest RSA key accepted for a DKIM pass.",
        .doc = "RFC 8301 requires verifiers to accept keys of 1024 bits and more. A signature "
               "made with a smaller RSA key gives dkim=policy. Ed25519 keys are always accepted."},
    ParamDef{.name = "dkim_sha1", .section = "auth", .type = ParamType::choice,
        .default_text = "policy", .allowed = dkim_sha1_results, .reloadable = true,
        .help = "Result of a valid rsa-sha1 DKIM signature (policy or fail).",
        .doc = "RFC 8301 forbids treating rsa-sha1 signatures as valid. policy reports that the "
               "signature verified but is not acceptable; fail reports it as broken. Neither "
               "counts for DMARC."},
    ParamDef{.name = "dkim_body_length", .section = "auth", .type = ParamType::choice,
        .default_text = "policy", .allowed = dkim_body_length_choices, .reloadable = true,
        .help = "How a DKIM l= tag that leaves part of the body unsigned is judged (policy or allow).",
        .doc = "With l= a signer covers only the first bytes of the body, so anyone can append "
               "text to a signed message. policy gives dkim=policy when the canonicalized body "
               "(RFC 6376 section 3.4, which drops blank lines at the end) is longer than l=; "
               "allow follows RFC 6376 and passes the signature. An l= larger than the "
               "canonicalized body is dkim=permerror either way."},
    ParamDef{.name = "public_suffix_list", .section = "auth", .type = ParamType::string,
        .default_text = "/usr/share/publicsuffix/public_suffix_list.dat",
        .validator = check_absolute_path, .reloadable = false,
        .help = "Public Suffix List used to find organizational domains for DMARC.",
        .doc = "Debian's publicsuffix package keeps it current. Read when dmarc_discovery = psl, "
               "which finds organizational domains with it as RFC 7489 section 3.2 did; the "
               "daemons load it in either mode and do not start without it."},
    ParamDef{.name = "dmarc_discovery", .section = "auth", .type = ParamType::choice,
        .default_text = "treewalk", .allowed = dmarc_discovery_methods, .reloadable = true,
        .help = "How DMARC policy records and organizational domains are found (treewalk or psl).",
        .doc = "treewalk is RFC 9989 section 4.10: _dmarc at the From domain, then one label less "
               "at a time (a name of 8 or more labels jumps to its last 7), at most 8 queries; "
               "psd=y, psd=n and the record with the fewest labels decide the organizational "
               "domain. psl is RFC 7489's method (the From domain, then its organizational domain "
               "by public_suffix_list), kept for comparison. Both show in the JSON of mailwarden "
               "check (dmarc.discovery_method) and in aggregate reports."},
    // [signing]
    ParamDef{.name = "dkim_sign_key", .section = "signing", .type = ParamType::rules,
        .default_text = "", .validator = check_dkim_sign_key, .reloadable = true,
        .help = "A DKIM signing key: DOMAIN SELECTOR KEYFILE (DOMAIN may be *.DOMAIN for its subdomains).",
        .doc = "Repeat the key, one key per line; no line means no signing. Outbound mail (from "
               "SASL-authenticated clients and internal_networks) is signed at end of message with "
               "the keys of its From domain, so that DMARC aligns: the lines for exactly that "
               "domain, else the lines for *.PARENT of its nearest parent domain that has them "
               "(signed d= the From domain itself, the key published under each subdomain), else, "
               "with dkim_sign_subdomains, the lines for the nearest parent domain (signed d= that "
               "parent). Mail of a domain without a key goes unsigned (logged as sign=no_key). "
               "Of a domain's lines, the last one of each key type signs: an Ed25519 (RFC 8463) and "
               "an RSA key sign side by side, each message carrying both signatures; an earlier "
               "line of the same type is an old selector kept published during a rotation, which "
               "mailwarden dkim testkey still checks. KEYFILE is a PEM private key (PKCS#1 or "
               "PKCS#8; RSA of 2048 to 4096 bits, or Ed25519), as mailwarden dkim keygen writes "
               "it: a regular file owned by user with mode 0600 or 0400, in a directory only root "
               "or user can write. The keys are loaded at start and on every reload, after the "
               "privilege drop too, so a key readable by root only is refused; mailwarden config "
               "check refuses what the daemons refuse."},
    ParamDef{.name = "dkim_sign_subdomains", .section = "signing", .type = ParamType::boolean,
        .default_text = "no", .reloadable = true,
        .help = "Sign mail of a subdomain that has no key of its own with its parent domain's keys.",
        .doc = "Like OpenDKIM's SubDomains: mail from news.example.com is signed d=example.com with "
               "the keys of example.com. DMARC relaxed alignment (the default) passes with it; a "
               "domain that publishes adkim=s does not."},
    ParamDef{.name = "dkim_sign_headers", .section = "signing", .type = ParamType::list,
        .default_text = "From Sender Reply-To To Cc Subject Date Message-ID In-Reply-To References "
                        "MIME-Version Content-Type Content-Transfer-Encoding Content-Disposition "
                        "List-Id List-Help List-Unsubscribe List-Unsubscribe-Post List-Subscribe "
                        "List-Post List-Owner List-Archive",
        .validator = check_header_name, .reloadable = true,
        .help = "Header fields a DKIM signature covers when the message has them.",
        .doc = "Each name is listed in the signature (h=) once for every field of that name in "
               "the message; From is always signed. Fields that relays add or rewrite (Received, "
               "Return-Path, Authentication-Results) do not belong here."},
    ParamDef{.name = "dkim_oversign_headers", .section = "signing", .type = ParamType::list,
        .default_text = "From To Cc Subject Date Reply-To", .validator = check_header_name,
        .reloadable = true,
        .help = "Header fields listed once more than present, so that none can be added in transit.",
        .doc = "A verifier takes the fields of a name from the bottom up and an extra name in h= "
               "stands for an empty one, so a second From (or a Cc where there was none) added "
               "after signing breaks the signature (RFC 6376 section 8.15). These fields are signed "
               "even when not in dkim_sign_headers."},
    ParamDef{.name = "dkim_sign_canonicalization", .section = "signing", .type = ParamType::choice,
        .default_text = "relaxed/relaxed", .allowed = dkim_canonicalizations, .reloadable = true,
        .help = "DKIM canonicalization of header and body (c=).",
        .doc = "relaxed survives the changes relays commonly make to white space and header "
               "folding; simple breaks on them. Every signature of a message uses this one, so the "
               "body is hashed once however many keys sign."},
    ParamDef{.name = "dkim_signature_lifetime", .section = "signing", .type = ParamType::duration,
        .default_text = "0s", .min = 0, .max = 365LL * 86400 * 1000, .reloadable = true,
        .help = "How long a DKIM signature is valid (x=); 0s writes no x= tag.",
        .doc = "With a lifetime, verifiers treat the signature as expired after it (RFC 6376 "
               "section 3.5), which also spoils it for a replay long after the message was sent. "
               "Allow for queueing and retries: a few days at least."},
    // [actions]
    ParamDef{.name = "spf_fail_action", .section = "actions", .type = ParamType::action,
        .default_text = "none", .allowed = failure_actions, .reloadable = true,
        .help = "What to do when SPF fails for the MAIL FROM identity (reject, quarantine, none).",
        .doc = "reject answers 550 5.7.23 at MAIL FROM, before the message is sent. The default "
               "none lets DMARC decide, because SPF alone breaks forwarded mail that DKIM "
               "still authenticates (RFC 7489 section 10.1). HELO results never reject. "
               "Outbound mail is exempt."},
    ParamDef{.name = "spf_temperror_action", .section = "actions", .type = ParamType::action,
        .default_text = "none", .allowed = tempfail_or_none, .reloadable = true,
        .help = "What to do when SPF for the MAIL FROM identity is a temperror (tempfail, none).",
        .doc = "tempfail answers 451 4.4.3 at MAIL FROM (milter) or RCPT TO (policy server) when "
               "the sender domain's SPF records cannot be fetched, as policyd-spf can. The default "
               "none reports spf=temperror and lets the message go on: DMARC still tempfails the "
               "mail of domains that ask for reject (on_dns_error)."},
    ParamDef{.name = "dmarc_reject_action", .section = "actions", .type = ParamType::action,
        .default_text = "quarantine", .allowed = failure_actions, .reloadable = true,
        .help = "What to do when DMARC fails and the domain asks for reject (reject, quarantine, none).",
        .doc = "The default follows RFC 9989 sections 7.4 and 8: a receiver must not reject mail "
               "solely because its domain publishes p=reject and, without other knowledge, treats "
               "it as p=quarantine: the message goes to the MTA's hold queue, and aggregate "
               "reports show the override (reason local_policy). reject answers 550 5.7.1 at end "
               "of message, as DMARC receivers did under RFC 7489 (mailing lists and forwarders "
               "then lose mail); none only records dmarc=fail in Authentication-Results. "
               "Outbound mail is exempt."},
    ParamDef{.name = "dmarc_quarantine_action", .section = "actions", .type = ParamType::action,
        .default_text = "quarantine", .allowed = failure_actions, .reloadable = true,
        .help = "What to do when DMARC fails and the domain asks for quarantine.",
        .doc = "quarantine holds the message in the MTA's hold queue (Postfix: postqueue -p "
               "shows it, postsuper -H releases it); reject and none as for dmarc_reject_action."},
    ParamDef{.name = "from_header_action", .section = "actions", .type = ParamType::action,
        .default_text = "reject", .allowed = failure_actions, .reloadable = true,
        .help = "What to do with a message whose From header has no single author domain.",
        .doc = "DMARC needs exactly one author domain (RFC 7489 section 6.6.1). Missing or "
               "repeated From headers, several addresses of different domains, an address "
               "without a domain, unbalanced brackets or quotes and other invalid syntax are how "
               "spoofed mail slipped past other filters, so the default rejects them with "
               "550 5.7.1 naming the problem. Several addresses that share one domain are "
               "evaluated under that domain. Several author domains (at most 5) are each "
               "evaluated and the strictest result is reported (RFC 9989 section 11.5: a fail "
               "under reject first, then a DNS error that may hide one, then other fails); "
               "when this action lets the message go on, that result's DMARC policy decides. "
               "Outbound mail is exempt."},
    ParamDef{.name = "on_dns_error", .section = "actions", .type = ParamType::action,
        .default_text = "tempfail", .allowed = tempfail_or_accept, .reloadable = true,
        .help = "What to do when a DNS error may hide a DMARC rejection (tempfail or accept).",
        .doc = "Applies when a DNS timeout or SERVFAIL leaves DMARC undecided (dmarc=temperror) "
               "for mail that could be refused: the From domain's DMARC record cannot be fetched "
               "(its policy is unknown and may be reject), or the domain publishes p=reject and "
               "the SPF or DKIM lookup of a domain that could align failed. tempfail answers "
               "451 4.4.3 naming the lookup that failed, and the sender retries (RFC 9989 leaves "
               "DNS errors to the receiver and describes this 4xy answer). Mail of a p=none "
               "domain whose record cannot be fetched is held too: nothing tells it from p=reject "
               "then. Never held: mail whose SPF or DKIM passes for the From domain itself (it "
               "passes DMARC under any record), and mail of a domain whose known policy is none "
               "or quarantine; they are accepted with dmarc=temperror. accept lets all of it "
               "through with dmarc=temperror. Such outcomes never count against the client's "
               "reputation."},
    ParamDef{.name = "on_state_error", .section = "actions", .type = ParamType::action,
        .default_text = "accept", .allowed = accept_or_tempfail, .reloadable = true,
        .help = "What to do when the state store is unreachable or slow (accept or tempfail).",
        .doc = "With accept (fail open) rate limits, reputation and greylisting are skipped for "
               "that message; the failure is logged (rate-limited) and counted."},
    ParamDef{.name = "on_internal_error", .section = "actions", .type = ParamType::action,
        .default_text = "tempfail", .allowed = tempfail_or_accept, .reloadable = true,
        .help = "What to do after an internal error (tempfail or accept).",
        .doc = "An internal error is a bug: an exception caught at the protocol boundary. It is "
               "logged with the queue id; tempfail keeps the message safe in the sender's queue."},
    ParamDef{.name = "on_sign_error", .section = "actions", .type = ParamType::action,
        .default_text = "tempfail", .allowed = tempfail_or_accept, .reloadable = true,
        .help = "What to do with outbound mail whose DKIM signature cannot be made (tempfail or accept).",
        .doc = "Applies when a key of the From domain cannot sign at end of message (an OpenSSL "
               "failure, or header fields too large to sign). tempfail answers 451 4.3.0 so the "
               "client keeps the message and retries: mail is never sent unsigned by surprise. "
               "accept sends it unsigned and logs why."},
    // [state]
    ParamDef{.name = "state_backend", .section = "state", .type = ParamType::choice,
        .default_text = "lmdb", .allowed = state_backends, .reloadable = false,
        .help = "Where rate-limit, reputation and greylist state lives (lmdb or redis).",
        .doc = "lmdb is one embedded file shared by both daemons on this host; redis shares state "
               "between many MX hosts."},
    ParamDef{.name = "state_max_size", .section = "state", .type = ParamType::size,
        .default_text = "256M", .min = 1024 * 1024, .max = 64LL * 1024 * 1024 * 1024,
        .reloadable = false,
        .help = "Size of the LMDB state file; it holds one entry per KB of it at most.",
        .doc = "The file is sparse: disk is used only for live entries. Expired entries are "
               "removed as new ones come. A file full of live entries is not an outage: a new "
               "key makes room by removing the entries nearest their end (1/64 of the file at a "
               "time), every key that stays keeps counting exactly, and a warning (at most one a "
               "minute) says to raise this size. Reputation lives 8 half-lives (56 days by "
               "default) and greylist passes 36 days, so a busy MX needs room for every client "
               "and triplet of that time."},
    ParamDef{.name = "state_path", .section = "state", .type = ParamType::string,
        .default_text = "${localstatedir}/lib/mailwarden/state.mdb",
        .validator = check_absolute_path, .reloadable = false,
        .help = "LMDB state file (state_backend = lmdb).",
        .doc = "Its directory must be writable by user. ${localstatedir} is the build-time "
               "variable-state directory, usually /var. A damaged file (cut short by a full disk "
               "or a bad copy, or inconsistent after a crash of the host) is renamed "
               "STATE_PATH.damaged-YYYYMMDDTHHMMSSZ by the daemon that meets it, one error in "
               "the log names it, and both daemons go on with an empty file; the admin tool "
               "leaves a damaged file as it is and says so."},
    ParamDef{.name = "state_sync", .section = "state", .type = ParamType::boolean,
        .default_text = "no", .reloadable = false,
        .help = "Flush every commit to the LMDB state file to disk (survives a host crash; slow).",
        .doc = "With no a commit goes to the page cache only (MDB_NOSYNC), which costs "
               "microseconds. A crash of the host (power loss, kernel panic; a daemon that dies "
               "loses nothing) may then lose the last half minute of counts, and may leave the "
               "file inconsistent: the daemons find that, move the file aside and start empty, "
               "so rate limits start over and reputation and greylist passes are learnt again. "
               "With yes each commit writes its pages to disk before its meta page "
               "(MDB_NOMETASYNC): after a host crash the file is whole, less its last commit, but "
               "every message waits for the disk (fdatasync) once per stage; where that takes "
               "6 ms a host manages about 170 commits a second. Redis persists by its own "
               "settings (appendonly, appendfsync)."},
    ParamDef{.name = "redis_servers", .section = "state", .type = ParamType::list,
        .default_text = "127.0.0.1:6379", .validator = check_redis_server, .reloadable = false,
        .help = "Redis servers (state_backend = redis): HOST:PORT, [IPV6]:PORT or /PATH.",
        .doc = "Tried in order; the first one that is a master is used, so a list may name a "
               "master and its replicas. Not used when redis_sentinels is set. Prefer addresses "
               "to host names: a name is resolved without a timeout."},
    ParamDef{.name = "redis_sentinels", .section = "state", .type = ParamType::list,
        .default_text = "", .validator = check_redis_server, .reloadable = false,
        .help = "Redis Sentinels (HOST:PORT, default port 26379) that know the master.",
        .doc = "When set, every new connection asks them (in order) for the current master of "
               "redis_master_name, so a failover is followed without a restart: the batches in "
               "flight during the failover get on_state_error."},
    ParamDef{.name = "redis_master_name", .section = "state", .type = ParamType::string,
        .default_text = "mailwarden", .validator = check_authserv_id, .reloadable = false,
        .help = "The master's name in the Sentinels' configuration (sentinel monitor NAME ...).",
        .doc = "Used with redis_sentinels only."},
    ParamDef{.name = "redis_password", .section = "state", .type = ParamType::string,
        .default_text = "", .validator = check_secret, .secret = true, .reloadable = false,
        .help = "Password sent with AUTH (Redis requirepass); empty sends none.",
        .doc = "Never logged, and shown as ******** by mailwarden config dump. Keep the file "
               "readable by root and the daemons' group only (mode 0640)."},
    ParamDef{.name = "redis_db", .section = "state", .type = ParamType::integer,
        .default_text = "0", .min = 0, .max = 65535, .reloadable = false,
        .help = "Redis database index (SELECT).",
        .doc = "Several mailwarden fleets can share one Redis with different databases or, "
               "better (Redis Cluster has only database 0), different redis_prefix."},
    ParamDef{.name = "redis_prefix", .section = "state", .type = ParamType::string,
        .default_text = "mailwarden:", .validator = check_redis_prefix, .reloadable = false,
        .help = "Put in front of every key mailwarden stores in Redis.",
        .doc = "Keys are PREFIX + rate:, rep: or grey: + the limit's name + a hash of the "
               "client data; no raw addresses are stored."},
    ParamDef{.name = "redis_connect_timeout", .section = "state", .type = ParamType::duration,
        .default_text = "250ms", .min = 10, .max = 10 * second, .reloadable = false,
        .help = "Longest wait for a connection to a Redis server or Sentinel.",
        .doc = "Connections are kept and reused, so this is paid after an error only."},
    ParamDef{.name = "redis_timeout", .section = "state", .type = ParamType::duration,
        .default_text = "250ms", .min = 10, .max = 10 * second, .reloadable = false,
        .help = "Longest wait for each Redis read or write.",
        .doc = "A stage's state operations are one round trip. After a timeout the stage gets "
               "on_state_error; after three failures in a row the store is left alone for 5 "
               "seconds (every message gets on_state_error at once) before it is tried again."},
    // [limits]
    ParamDef{.name = "ratelimit", .section = "limits", .type = ParamType::rules,
        .default_text = "", .validator = check_rate_limit, .reloadable = true,
        .unique_names = true,
        .help = "A rate limit: NAME KEY RATE/PERIOD [burst=N] [action=tempfail|reject] [count=messages|recipients] [stage=mail|rcpt|eom].",
        .doc = "Repeat the key, one limit per line. KEY is client_ip, client_subnet (/24, /64), "
               "sasl_user, sender, sender_domain or recipient; RATE/PERIOD is like 100/1h; burst "
               "(default RATE) is how many may come at once; over the limit the message gets "
               "action (default tempfail, 451 4.7.1; reject is 550 5.7.1) with the limit's name. "
               "count=recipients counts a message for each of its recipients, checked at end of "
               "message (an outbound quota: ratelimit = quota sasl_user 1000/1d "
               "count=recipients); a message with more recipients than the burst can never pass "
               "and gets 550 5.5.3 naming the limit at once, not a 451 retried until it bounces. "
               "Recipient limits are checked at RCPT, the others at MAIL, "
               "unless stage= says otherwise: stage=rcpt counts a client or sender once per "
               "recipient, stage=eom counts only messages sent whole. Counters live in the "
               "state store, under hashed keys. Each limit has a name of its own."},
    ParamDef{.name = "reputation_half_life", .section = "limits", .type = ParamType::duration,
        .default_text = "7d", .min = 3600LL * 1000, .max = 365LL * 86400 * 1000, .reloadable = true,
        .help = "Time after which a good or bad outcome counts half as much.",
        .doc = "Reputation is a pair of counters (good, bad) per client address, per client "
               "network (/24, /64) and per authenticated domain (the aligned DKIM d=, else the "
               "SPF-pass domain), updated at the end of every inbound message: good for a DMARC "
               "pass, bad for a DMARC fail or a refused message. Older outcomes fade with this "
               "half-life."},
    ParamDef{.name = "reputation_min_messages", .section = "limits", .type = ParamType::integer,
        .default_text = "20", .min = 1, .max = 1000000, .reloadable = true,
        .help = "Outcomes a client needs before its reputation can refuse it.",
        .doc = "A score from few messages says little; below this many (decayed) outcomes a "
               "client is never refused for its reputation."},
    ParamDef{.name = "reputation_tempfail_below", .section = "limits", .type = ParamType::integer,
        .default_text = "-100", .min = -100, .max = 100, .reloadable = true,
        .help = "Score (-100..100) below which a client gets 451 4.7.1 at MAIL; -100 means never.",
        .doc = "The score of a client address or network is 100 * (good - bad) / (good + bad). "
               "The lower of the two counts."},
    ParamDef{.name = "reputation_reject_below", .section = "limits", .type = ParamType::integer,
        .default_text = "-100", .min = -100, .max = 100, .reloadable = true,
        .help = "Score (-100..100) below which a client gets 550 5.7.1 at MAIL; -100 means never.",
        .doc = "Checked before reputation_tempfail_below. Start with tempfail: a sender that is "
               "wrongly refused for a while retries, a rejected one does not."},
    ParamDef{.name = "allow_networks", .section = "limits", .type = ParamType::cidr_list,
        .default_text = "", .reloadable = true,
        .help = "Client networks never refused for reputation or client rate limits.",
        .doc = "For partners and backup MX hosts. SPF, DKIM and DMARC still apply."},
    ParamDef{.name = "deny_networks", .section = "limits", .type = ParamType::cidr_list,
        .default_text = "", .reloadable = true,
        .help = "Client networks refused at MAIL with 550 5.7.1.",
        .doc = "Checked before anything else that can refuse a message, outbound mail excepted."},
    ParamDef{.name = "allow_domains", .section = "limits", .type = ParamType::list,
        .default_text = "", .validator = check_mail_domain, .reloadable = true,
        .help = "Authenticated domains whose mail never lowers the sending client's reputation.",
        .doc = "A domain counts as authenticated for a message when DMARC passes with it (its "
               "aligned DKIM signature, or SPF for it). Mail of these domains that is refused "
               "for other reasons (a rate limit, a quarantine) does not count against the client, "
               "so a shared relay of a partner keeps its standing."},
    ParamDef{.name = "deny_domains", .section = "limits", .type = ParamType::list,
        .default_text = "", .validator = check_mail_domain, .reloadable = true,
        .help = "Authenticated domains whose mail is refused with 550 5.7.1 at end of message.",
        .doc = "Only an authenticated domain is matched (as for allow_domains): a forged From "
               "cannot put another domain on this list's path. Both lists take internationalized "
               "names in U-labels as well as in A-labels (xn--...)."},
    ParamDef{.name = "greylisting", .section = "limits", .type = ParamType::boolean,
        .default_text = "no", .reloadable = true,
        .help = "Refuse the first delivery attempt of each new (network, sender, recipient).",
        .doc = "The attempt gets 451 4.7.1; a retry after greylist_delay passes, and that triplet "
               "then passes at once. Inbound mail only, clients in allow_networks excepted. "
               "Delays first mail from new correspondents by the sender's retry interval."},
    ParamDef{.name = "greylist_delay", .section = "limits", .type = ParamType::duration,
        .default_text = "5m", .min = 1000, .max = 86400LL * 1000, .reloadable = true,
        .help = "How long a new triplet waits before a retry passes.",
        .doc = "Most MTAs retry after 5 to 30 minutes; a longer delay costs legitimate mail time."},
    ParamDef{.name = "greylist_retry_window", .section = "limits", .type = ParamType::duration,
        .default_text = "4h", .min = 60LL * 1000, .max = 7LL * 86400 * 1000, .reloadable = true,
        .help = "How long a refused triplet waits for its retry before it starts over.",
        .doc = "A retry later than this counts as a first attempt again."},
    ParamDef{.name = "greylist_pass_lifetime", .section = "limits", .type = ParamType::duration,
        .default_text = "36d", .min = 3600LL * 1000, .max = 365LL * 86400 * 1000, .reloadable = true,
        .help = "How long a triplet that passed keeps passing without delay.",
        .doc = "Each message of the triplet extends it; 36 days covers monthly newsletters."},
    // [reports]
    ParamDef{.name = "dmarc_aggregate_reports", .section = "reports", .type = ParamType::boolean,
        .default_text = "no", .reloadable = true,
        .help = "Count each inbound message's DMARC facts for RFC 9990 aggregate reports.",
        .doc = "The milter counts each inbound message whose From domain publishes a DMARC record "
               "with rua= in the state store, per policy domain, UTC day and row (source address, "
               "identifiers, SPF and DKIM results, disposition), never one record per message; on "
               "Redis a fleet counts in one place. mailwarden dmarc report --send, started by the "
               "mailwarden-dmarc-report.timer unit, sends each day's reports once."},
    ParamDef{.name = "dmarc_report_email", .section = "reports", .type = ParamType::string,
        .default_text = "", .validator = check_report_address, .reloadable = true,
        .help = "Address reports are sent from and named as contact; empty: postmaster@authserv_id.",
        .doc = "The From and envelope sender of report mail and the report_metadata email element. "
               "Report consumers discard reports that do not pass DMARC (RFC 9990 section 3.1.1): "
               "the domain must publish SPF for this host or its mail must be DKIM-signed. The "
               "report job signs it with the dkim_sign_key lines of this address's domain, as "
               "outbound mail is signed; on_sign_error decides a failure (tempfail: the report "
               "waits for the next run)."},
    ParamDef{.name = "dmarc_report_org_name", .section = "reports", .type = ParamType::string,
        .default_text = "", .validator = check_report_text, .reloadable = true,
        .help = "The reporting organization's name in reports; empty: the domain of the email.",
        .doc = "report_metadata/org_name of RFC 9990."},
    ParamDef{.name = "dmarc_report_contact", .section = "reports", .type = ParamType::string,
        .default_text = "", .validator = check_report_text, .reloadable = true,
        .help = "Additional contact details in reports (extra_contact_info); empty: none.",
        .doc = "For example a web page or a telephone number."},
    ParamDef{.name = "dmarc_report_max_rows", .section = "reports", .type = ParamType::integer,
        .default_text = "20000", .min = 100, .max = 10'000'000, .reloadable = true,
        .help = "Rows counted per day for all domains together; more are not counted.",
        .doc = "A row is one combination of source address, identifiers and results. Each takes "
               "an entry of the state store (LMDB: about 1 KB of state_max_size) for "
               "dmarc_report_retention; rows past the bound are logged, not counted."},
    ParamDef{.name = "dmarc_report_domain_rows", .section = "reports", .type = ParamType::integer,
        .default_text = "2000", .min = 10, .max = 1'000'000, .reloadable = true,
        .help = "Rows counted per day for one policy domain; more are not counted.",
        .doc = "So that mail forged in one domain's name from many addresses cannot use up "
               "dmarc_report_max_rows for everyone else."},
    ParamDef{.name = "dmarc_report_retention", .section = "reports", .type = ParamType::duration,
        .default_text = "7d", .min = 86400LL * 1000, .max = 60LL * 86400 * 1000,
        .reloadable = true,
        .help = "How long a day's rows wait for the report job after the day ends.",
        .doc = "A day whose reports were not sent within this time (the job did not run) is "
               "dropped by the state store."},
    ParamDef{.name = "dmarc_report_sendmail", .section = "reports", .type = ParamType::string,
        .default_text = "/usr/sbin/sendmail", .validator = check_command, .reloadable = true,
        .help = "The local MTA's sendmail program (and arguments) that report mail is handed to.",
        .doc = "Run as COMMAND -i -f SENDER -- RECIPIENT... with the message on standard input; "
               "the MTA queues and delivers it (signed before, see dmarc_report_email). An absolute path, "
               "arguments separated by spaces, e.g. /usr/sbin/sendmail -C /etc/postfix-out."},
    ParamDef{.name = "dmarc_report_timeout", .section = "reports", .type = ParamType::duration,
        .default_text = "60s", .min = 1 * second, .max = 600 * second, .reloadable = true,
        .help = "How long the sendmail program may take for one report.",
        .doc = "A sendmail still running then is killed, and that report is not sent again: it "
               "may already be queued, and a report must not arrive twice."},
    ParamDef{.name = "dmarc_failure_reports", .section = "reports", .type = ParamType::boolean,
        .default_text = "no", .reloadable = true,
        .help = "Queue RFC 9991 failure reports for domains whose record asks for them (ruf=).",
        .doc = "Off by default: failure reports carry parts of individual messages. When on, a "
               "message that fails as the record's fo= asks (0: DMARC fails; 1: SPF or DKIM does "
               "not give an aligned pass) gets an ARF report (Auth-Failure: dmarc, "
               "Identity-Alignment), never for a psd=y record, sent by the report job to the ruf "
               "addresses that pass the external destination check."},
    ParamDef{.name = "dmarc_failure_rate", .section = "reports", .type = ParamType::integer,
        .default_text = "10", .min = 1, .max = 10000, .reloadable = true,
        .help = "Failure reports queued per policy domain and hour at most.",
        .doc = "RFC 9991 section 7.1: a flood of forged mail must not become a flood of reports."},
    ParamDef{.name = "dmarc_failure_redact", .section = "reports", .type = ParamType::list,
        .default_text = "local_part body", .validator = check_redaction, .reloadable = true,
        .help = "What failure reports leave out: local_part, body (empty: nothing).",
        .doc = "local_part replaces the local part of every address in the reported header and "
               "envelope with a hash (RFC 6590), so reports still correlate without naming "
               "people; body sends only the header (text/rfc822-headers). Without body, up to "
               "64 KB of the body is included."},
};
// clang-format on

} // namespace

std::span<const ParamDef> parameters() {
    return table;
}

std::span<const std::string_view> sections() {
    return section_names;
}

const ParamDef* find_parameter(std::string_view name) {
    for (const ParamDef& param : table) {
        if (param.name == name)
            return &param;
    }
    return nullptr;
}

} // namespace mailwarden::config
