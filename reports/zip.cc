// Stored ZIP archives (see zip.h).
#include "reports/zip.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace chaos::reports {
namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxEntries = 65535;

const std::array<uint32_t, 256>& CrcTable() {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  return table;
}

void Put16(std::string* out, uint32_t v) {
  out->push_back(static_cast<char>(v & 0xff));
  out->push_back(static_cast<char>((v >> 8) & 0xff));
}
void Put32(std::string* out, uint32_t v) {
  Put16(out, v & 0xffff);
  Put16(out, v >> 16);
}

// MS-DOS date and time of a file's modification time (local time, 2 s steps).
std::pair<uint32_t, uint32_t> DosTime(const fs::path& path) {
  std::error_code ec;
  auto ft = fs::last_write_time(path, ec);
  std::time_t t = 315532800;  // 1980-01-01, the earliest DOS time
  if (!ec) {
    auto sys = std::chrono::file_clock::to_sys(ft);
    t = std::max<std::time_t>(t, std::chrono::system_clock::to_time_t(sys));
  }
  std::tm tm{};
  localtime_r(&t, &tm);
  if (tm.tm_year < 80) return {0x21, 0};
  uint32_t date =
      static_cast<uint32_t>(((tm.tm_year - 80) << 9) | ((tm.tm_mon + 1) << 5) | tm.tm_mday);
  uint32_t time = static_cast<uint32_t>((tm.tm_hour << 11) | (tm.tm_min << 5) | (tm.tm_sec / 2));
  return {date, time};
}

}  // namespace

uint32_t Crc32(std::string_view bytes, uint32_t crc) {
  const auto& t = CrcTable();
  crc = ~crc;
  for (unsigned char b : bytes) crc = t[(crc ^ b) & 0xff] ^ (crc >> 8);
  return ~crc;
}

Result<std::string> ZipFolder(const std::string& dir, const std::string& prefix,
                              uint64_t max_bytes) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return NotFound(dir + ": not a folder");
  std::vector<fs::path> files;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_symlink(ec) || !it->is_regular_file(ec)) continue;
    if (files.size() >= kMaxEntries) return ResourceExhausted(dir + ": more than 65535 files");
    files.push_back(it->path());
  }
  if (ec) return IoError(dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  const uint64_t limit = std::min<uint64_t>(max_bytes, 0xFFFFFFFFull);
  std::string out, central;
  for (const fs::path& path : files) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return IoError(path.string() + ": cannot open");
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string data = ss.str();
    std::string name = prefix.empty() ? "" : prefix + "/";
    name += fs::relative(path, dir, ec).generic_string();
    if (out.size() + data.size() + name.size() + 30 + central.size() + 46 + name.size() + 22 >
        limit) {
      return ResourceExhausted(dir + ": archive would exceed " + std::to_string(limit) + " bytes");
    }
    const uint32_t crc = Crc32(data);
    const auto [date, time] = DosTime(path);
    const uint32_t offset = static_cast<uint32_t>(out.size());
    const uint32_t size = static_cast<uint32_t>(data.size());
    // Local file header.
    Put32(&out, 0x04034b50);
    Put16(&out, 10);     // version needed: 1.0 (stored)
    Put16(&out, 0x800);  // flags: names are UTF-8
    Put16(&out, 0);      // method: stored
    Put16(&out, time);
    Put16(&out, date);
    Put32(&out, crc);
    Put32(&out, size);
    Put32(&out, size);
    Put16(&out, static_cast<uint32_t>(name.size()));
    Put16(&out, 0);
    out += name;
    out += data;
    // Central directory entry.
    Put32(&central, 0x02014b50);
    Put16(&central, 0x031e);  // made by: Unix, 3.0
    Put16(&central, 10);
    Put16(&central, 0x800);
    Put16(&central, 0);
    Put16(&central, time);
    Put16(&central, date);
    Put32(&central, crc);
    Put32(&central, size);
    Put32(&central, size);
    Put16(&central, static_cast<uint32_t>(name.size()));
    Put16(&central, 0);            // extra
    Put16(&central, 0);            // comment
    Put16(&central, 0);            // disk
    Put16(&central, 0);            // internal attributes
    Put32(&central, 0644u << 16);  // external: Unix mode rw-r--r--
    Put32(&central, offset);
    central += name;
  }
  const uint32_t central_offset = static_cast<uint32_t>(out.size());
  out += central;
  Put32(&out, 0x06054b50);
  Put16(&out, 0);
  Put16(&out, 0);
  Put16(&out, static_cast<uint32_t>(files.size()));
  Put16(&out, static_cast<uint32_t>(files.size()));
  Put32(&out, static_cast<uint32_t>(central.size()));
  Put32(&out, central_offset);
  Put16(&out, 0);
  return out;
}

}  // namespace chaos::reports
