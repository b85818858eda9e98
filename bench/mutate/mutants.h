// Mutants of C++ source files for mutation testing (bench/mutate/README.md).
//
// A mutant is one small change a person could make by mistake, at one place
// of one file: a relational operator replaced (`<` by `<=`), `&&` by `||`, an
// `if` condition negated, `true` by `false`, an integer constant plus or
// minus one, `+` by `-`, `std::min` by `std::max`, two arguments of a call
// swapped, or a statement (an assignment, an increment, a call) deleted.
//
// Sites are found on the text with comments, string and character literals
// blanked out, so nothing inside them is mutated. The scan relies on the
// code being clang-formatted (binary operators have spaces around them,
// template angle brackets do not), which every file of this repository is.
//
// Everything here is a pure function of its inputs: the same files and the
// same seed give the same mutants in the same order, on any machine (the
// shuffle is our own Fisher-Yates over splitmix64, not std::shuffle, whose
// algorithm the standard leaves open).
//
// Thread safety: functions only; no shared state.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace chaos::mutate {

struct Mutant {
  std::string file;      // as given to FindMutants (a path relative to the repository)
  int line = 0;          // 1-based
  int column = 0;        // 1-based, in bytes
  std::string op;        // ror, lcr, negate-if, bool, const+1, const-1, aor, minmax, swap-args,
                         // delete-statement
  std::string original;  // the exact text replaced (for delete-statement: the whole line)
  std::string replacement;
  std::string function;  // the function the site is in, as its definition names it

  // One tab-separated line: file, line, column, op, original, replacement,
  // function (tabs and newlines inside escaped as \t and \n, backslashes as
  // \\).
  std::string ToListing() const;
  static bool FromListing(const std::string& row, Mutant* out);
};

// Every mutation site of one file's text, in file order.
std::vector<Mutant> FindMutants(const std::string& file, const std::string& text);

// The text with the mutant applied; false if the original text is not at
// the mutant's place (a listing made from another version of the file).
bool Apply(const Mutant& m, const std::string& text, std::string* out);

// A reproducible permutation of `mutants` by `seed`.
void Shuffle(std::vector<Mutant>* mutants, uint64_t seed);

// The text with comments and string/char literals replaced by spaces (line
// breaks kept), so offsets in it are offsets in the original.
std::string BlankCommentsAndLiterals(const std::string& text);

}  // namespace chaos::mutate
