// Internal to history/: a fast reader of op lines in the plain form chaos
// writes, beside nlohmann's general parser.
//
// A JSONL line of a history is almost always one flat object of known fields
// whose values are integers, ASCII strings without escapes, null, booleans,
// and arrays or objects of those. ParsePlainOpLine reads exactly those lines
// without building a JSON object (nlohmann's lexer and its std::map were
// two thirds of a small check's instructions). Anything else (escapes,
// non-ASCII text, numbers with a fraction or exponent or of 19 or more
// digits, unknown or repeated fields, fields starting with ':', deep nesting,
// malformed JSON, a field the op refuses) returns nullopt, and the caller
// parses the line the general way: that gives the same op, or the error.
// The op returned equals OpFromJson(nlohmann::json::parse(line)) to the JSON
// types of its values (unsigned for a non-negative integer, as nlohmann).
//
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string_view>

#include "history/op.h"

namespace chaos::history::internal {

// Sets `op`'s field `key` (without a leading ':') from `value`, as OpFromJson
// does: nullptr, or what is wrong ("bad f"), to be followed by the value.
const char* SetOpField(Op& op, std::string_view key, Json value);

// The op on `line`, or nullopt when the line is not in the plain form.
std::optional<Op> ParsePlainOpLine(std::string_view line);

}  // namespace chaos::history::internal
