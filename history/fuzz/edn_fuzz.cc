// libFuzzer target: the EDN history reader and value parser must return an
// error or a history for any bytes, never crash, hang or leak.
#include <cstddef>
#include <cstdint>
#include <string>

#include "history/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto reader = chaos::history::EdnReaderFromString(text, "fuzz.edn");
  auto history = chaos::history::ReadAll(*reader);
  if (history.ok()) {
    // What was read must be writable again.
    for (const auto& op : *history) (void)chaos::history::OpToEdn(op);
  }
  auto value = chaos::history::ParseEdnValue(text);
  if (value.ok()) (void)chaos::history::EdnOf(*value);
  return 0;
}
