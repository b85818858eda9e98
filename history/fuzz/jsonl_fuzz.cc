// libFuzzer target: the JSONL history reader must return an error or a
// history for any bytes, never crash, hang or leak.
#include <cstddef>
#include <cstdint>
#include <string>

#include "history/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto reader = chaos::history::JsonlReaderFromString(text, "fuzz.jsonl");
  auto history = chaos::history::ReadAll(*reader);
  if (history.ok()) {
    for (const auto& op : *history) (void)chaos::history::OpToJsonLine(op);
  }
  return 0;
}
