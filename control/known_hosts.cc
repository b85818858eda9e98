#include "control/known_hosts.h"

namespace chaos::control {
namespace {

std::vector<std::string> SplitWhitespace(std::string_view line) {
  std::vector<std::string> out;
  std::string current;
  for (char c : line) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      if (!current.empty()) out.push_back(std::move(current));
      current.clear();
    } else {
      current += c;
    }
  }
  if (!current.empty()) out.push_back(std::move(current));
  return out;
}

std::vector<std::string> SplitCommas(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string_view::npos) comma = s.size();
    if (comma > start) out.emplace_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

bool IsBase64(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/' || c == '=';
    if (!ok) return false;
  }
  return true;
}

bool IsKeyType(std::string_view s) {
  return s.rfind("ssh-", 0) == 0 || s.rfind("ecdsa-", 0) == 0 || s.rfind("sk-", 0) == 0;
}

}  // namespace

Result<KnownHosts> ParseKnownHosts(std::string_view text, std::string_view source) {
  KnownHosts known;
  int line_number = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    std::vector<std::string> fields = SplitWhitespace(line);
    if (fields.empty() || fields[0][0] == '#') continue;
    if (fields[0][0] == '@' || fields[0][0] == '|' ||
        fields[0].find_first_of("*?!") != std::string::npos) {
      ++known.skipped;
      continue;
    }
    auto where = std::string(source) + ":" + std::to_string(line_number) + ": ";
    if (fields.size() < 3) {
      return InvalidArgument(where + "expected 'host keytype key', got " +
                             std::to_string(fields.size()) + " field(s)");
    }
    if (!IsKeyType(fields[1])) {
      return InvalidArgument(where + "unknown key type '" + fields[1] + "'");
    }
    if (!IsBase64(fields[2])) {
      return InvalidArgument(where + "the key is not base64");
    }
    KnownHostEntry entry;
    entry.hosts = SplitCommas(fields[0]);
    if (entry.hosts.empty()) return InvalidArgument(where + "no host");
    for (const auto& h : entry.hosts) {
      if (h[0] == '[' && (h.find("]:") == std::string::npos || h.back() == ':')) {
        return InvalidArgument(where + "malformed host '" + h + "', expected [host]:port");
      }
    }
    entry.key_type = fields[1];
    entry.key_base64 = fields[2];
    entry.line = line_number;
    known.entries.push_back(std::move(entry));
  }
  return known;
}

std::string KnownHostsPattern(std::string_view host, int port) {
  if (port == 22) return std::string(host);
  return "[" + std::string(host) + "]:" + std::to_string(port);
}

std::vector<KnownHostEntry> FindHost(const KnownHosts& known, std::string_view host, int port) {
  std::string pattern = KnownHostsPattern(host, port);
  std::vector<KnownHostEntry> out;
  for (const auto& e : known.entries) {
    for (const auto& h : e.hosts) {
      if (h == pattern) {
        out.push_back(e);
        break;
      }
    }
  }
  return out;
}

Result<std::string> FormatKnownHostsLine(std::string_view host, int port,
                                         std::string_view public_key_line) {
  std::vector<std::string> fields = SplitWhitespace(public_key_line);
  while (!fields.empty() && fields.back().empty()) fields.pop_back();
  if (fields.size() < 2 || !IsKeyType(fields[0]) || !IsBase64(fields[1])) {
    return InvalidArgument("not an OpenSSH public key line: '" +
                           std::string(public_key_line.substr(0, 80)) + "'");
  }
  if (host.empty() || host.find_first_of(" \t,[]") != std::string_view::npos) {
    return InvalidArgument("not a host name for known_hosts: '" + std::string(host) + "'");
  }
  return KnownHostsPattern(host, port) + " " + fields[0] + " " + fields[1] + "\n";
}

}  // namespace chaos::control
