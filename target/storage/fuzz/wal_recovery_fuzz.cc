// Fuzzes WAL recovery: any bytes as a segment must either be refused as
// corruption (file untouched) or recover to a prefix of intact records, and
// the recovered log must reopen unchanged.
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/check.h"
#include "target/storage/wal.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chaos::storage;
  MemEnv env;
  CHAOS_CHECK(env.CreateDir("w").ok());
  std::string path = JoinPath("w", Wal::SegmentName(1));
  CHAOS_CHECK(env.NewWritableFile(path).ok());
  CHAOS_CHECK(env.SyncDir("w").ok());
  CHAOS_CHECK(env.CorruptFile(path, std::string(reinterpret_cast<const char*>(data), size)).ok());
  WalOptions opts;
  opts.record_bytes_max = 1 << 16;
  WalRecovery first;
  auto wal = Wal::Open(&env, "w", opts, &first);
  if (!wal.ok()) {
    CHAOS_CHECK(wal.status().message().find("not a torn write") != std::string::npos);
    CHAOS_CHECK(*env.ReadFile(path) == std::string(reinterpret_cast<const char*>(data), size));
    return 0;
  }
  // What survived re-encodes to exactly the kept prefix of the input.
  std::string encoded;
  for (const auto& r : first.records) encoded += EncodeRecord(r);
  CHAOS_CHECK(encoded.size() <= size);
  CHAOS_CHECK(encoded == std::string(reinterpret_cast<const char*>(data), encoded.size()));
  CHAOS_CHECK(*env.ReadFile(path) == encoded);
  wal->reset();
  WalRecovery second;
  auto again = Wal::Open(&env, "w", opts, &second);
  CHAOS_CHECK(again.ok());
  CHAOS_CHECK(!second.truncated);
  CHAOS_CHECK(second.records == first.records);
  return 0;
}
