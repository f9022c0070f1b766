// The value checks of the parameter table (params.cc): each returns an error text for a value
// it refuses, "" for one it takes, and never throws. The same checks serve `mailwarden config
// check` and the daemons, so both refuse exactly the same values.
#pragma once

#include <string>
#include <string_view>

namespace mailwarden::config::param_checks {

std::string check_absolute_path(std::string_view value);
std::string check_socket(std::string_view value);
std::string check_octal_mode(std::string_view value);
std::string check_user(std::string_view value);
std::string check_owner(std::string_view value);
std::string check_dkim_sign_key(std::string_view value);
std::string check_header_name(std::string_view value);
std::string check_rate_limit(std::string_view value);
std::string check_policy_action(std::string_view value);
std::string check_authserv_id(std::string_view value);
// A mail domain: a host name as check_authserv_id takes it, or one in U-labels that IDNA2008
// converts (auth/idna.hh); the check that reads it compares its A-labels.
std::string check_mail_domain(std::string_view value);
std::string check_redis_server(std::string_view value);
std::string check_redis_prefix(std::string_view value);
std::string check_secret(std::string_view value);
std::string check_report_address(std::string_view value);
std::string check_report_text(std::string_view value);
std::string check_command(std::string_view value);
std::string check_redaction(std::string_view value);
std::string check_dns_server(std::string_view value);
std::string check_spf_explanation(std::string_view value);

} // namespace mailwarden::config::param_checks
