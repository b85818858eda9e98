// OpenSSH known_hosts files: the host keys chaos trusts.
//
// chaos writes the known_hosts file of a docker cluster itself, from each
// node's key read over a trusted channel (`docker exec`), and for real
// machines reads the user's file. Connections check the server's key against
// this file only (control/ssh.h); a missing or different key is refused.
//
// Supported line form: `host[,host...] keytype base64-key [comment]`, where a
// host is `name` (port 22) or `[name]:port`. Hashed entries (`|1|...`),
// markers (`@revoked`, `@cert-authority`) and wildcard patterns are skipped
// with a warning entry in ParseKnownHosts' `skipped` count, since libssh and
// chaos never need them for the files chaos writes.
//
// Thread safety: pure functions on values.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace chaos::control {

struct KnownHostEntry {
  std::vector<std::string> hosts;  // as written: "n1", "[127.0.0.1]:42201"
  std::string key_type;            // "ssh-ed25519"
  std::string key_base64;
  int line = 0;  // 1-based line number in the file
};

struct KnownHosts {
  std::vector<KnownHostEntry> entries;
  int skipped = 0;  // hashed, marked or wildcard lines
};

// Parses the text of a known_hosts file. `source` names it in errors
// ("known_hosts:3: ..."). A line that is neither blank, a comment, a
// supported entry nor a skipped form is an error.
Result<KnownHosts> ParseKnownHosts(std::string_view text, std::string_view source);

// The host pattern OpenSSH uses for (host, port): "host" for port 22,
// "[host]:port" otherwise.
std::string KnownHostsPattern(std::string_view host, int port);

// Entries whose hosts include KnownHostsPattern(host, port).
std::vector<KnownHostEntry> FindHost(const KnownHosts& known, std::string_view host, int port);

// One line: "<pattern> <key_type> <key_base64>\n". `public_key_line` is a
// .pub file's content ("ssh-ed25519 AAAA... comment"); its comment is dropped.
Result<std::string> FormatKnownHostsLine(std::string_view host, int port,
                                         std::string_view public_key_line);

}  // namespace chaos::control
