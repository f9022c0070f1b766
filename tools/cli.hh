// What the mailwarden admin tool's subcommands share: the usage text, argument parsing with
// Boost.Program_options, and loading the configuration. Errors go to stderr; functions
// return the exit status to use or false/nullopt after reporting.
#pragma once

#include "config/config.hh"
#include "dns/resolver.hh"
#include "engine/signing.hh"

#include <boost/program_options.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mailwarden::tools {

namespace po = boost::program_options;

inline constexpr int exit_ok = 0;
inline constexpr int exit_usage = 64;

extern const char* const usage_text;

// Prints "mailwarden: MESSAGE" and the usage; returns exit_usage.
int usage_error(const std::string& message);

// `mailwarden COMMAND ... --help`: prints the usage lines of COMMAND to stdout; returns exit_ok,
// or exit_usage (after usage_error) for a command that does not exist.
int command_help(const std::string& command);

// Whether the words after a command ask for its usage (--help or -h).
bool asks_for_help(const std::vector<std::string>& arguments);

// Prints every error, one "FILE:LINE: KEY: MESSAGE" line each.
void print_errors(const config::LoadResult& result);

// Parses a subcommand's arguments; returns false (after reporting) on a usage error.
bool parse_arguments(const std::vector<std::string>& arguments,
                     const po::options_description& options,
                     const po::positional_options_description& positional,
                     po::variables_map& values);

// The configuration at path, or the defaults when no path is given and the default file does
// not exist; nullopt after printing the errors.
std::optional<config::ConfigPtr> load_or_defaults(const std::optional<std::string>& path);

// The signing keys and options of `config` (engine::load_signing), or nullopt after printing
// each problem as "mailwarden: PROBLEM" (the caller exits 78, as the daemons would).
std::optional<engine::Signing> load_signing_or_report(const config::Config& config);

// --config/-c from parsed values, if given.
std::optional<std::string> config_path(const po::variables_map& values);

// The resolver the daemons would use, or one asking --dns ADDR[@PORT] instead; null after
// reporting a bad setting.
std::unique_ptr<dns::Resolver> make_resolver(const config::Config& config,
                                             const po::variables_map& values);

// `mailwarden check` (check_command.cc).
int check_command(const std::vector<std::string>& arguments);

// `mailwarden dkim keygen|testkey` (dkim_commands.cc).
int dkim_command(const std::vector<std::string>& arguments);

// `mailwarden ratelimit|reputation|greylist` (state_commands.cc).
int ratelimit_command(const std::vector<std::string>& arguments);
int reputation_command(const std::vector<std::string>& arguments);
int greylist_command(const std::vector<std::string>& arguments);

// `mailwarden dmarc report` (dmarc_command.cc).
int dmarc_command(const std::vector<std::string>& arguments);

} // namespace mailwarden::tools
