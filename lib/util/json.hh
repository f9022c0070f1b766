// JSON output for admin tools: a string literal for any byte sequence, and a small writer for
// one object built in order. Output is always valid JSON and valid UTF-8: valid UTF-8 passes
// through, control characters become \uXXXX, and each byte of an invalid UTF-8 sequence
// becomes \u00NN (its Latin-1 reading), so attacker text can never break the document.
#pragma once

#include <string>
#include <string_view>

namespace mailwarden::util {

std::string json_quote(std::string_view text);

// Appends "key": value pairs with the commas in between; nest by passing another writer's
// finish() to raw().
class JsonObject {
public:
    JsonObject& string(std::string_view key, std::string_view value);
    JsonObject& number(std::string_view key, long long value);
    JsonObject& boolean(std::string_view key, bool value);
    JsonObject& raw(std::string_view key, std::string_view json); // already JSON
    std::string finish() const { return text_ + "}"; }

private:
    void key(std::string_view name);
    std::string text_ = "{";
};

} // namespace mailwarden::util
