#include "control/inventory.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "base/file.h"

namespace chaos::control {
namespace {

using nlohmann::json;

Result<Endpoint> ParseEndpoint(const json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("host") || !j.contains("port") || !j["host"].is_string() ||
      !j["port"].is_number_integer()) {
    return InvalidArgument(where + ": expected {\"host\": string, \"port\": integer}");
  }
  Endpoint e{j["host"].get<std::string>(), j["port"].get<int>()};
  if (e.host.empty() || e.port < 1 || e.port > 65535) {
    return InvalidArgument(where + ": bad endpoint " + e.ToString());
  }
  return e;
}

nlohmann::ordered_json EndpointJson(const Endpoint& e) {
  return nlohmann::ordered_json{{"host", e.host}, {"port", e.port}};
}

Status ValidPort(int port, const char* what) {
  if (port < 1 || port > 65535) {
    return InvalidArgument(std::string(what) + " " + std::to_string(port) + " is outside 1..65535");
  }
  return Status::Ok();
}

}  // namespace

std::string Endpoint::ToString() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

const NodeInfo* Inventory::Find(std::string_view name) const {
  for (const auto& n : nodes) {
    if (n.name == name) return &n;
  }
  return nullptr;
}

Result<Inventory> ParseInventory(std::string_view json_text, std::string_view source) {
  std::string src(source);
  json j = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument(src + ": not valid JSON");
  if (!j.is_object() || j.value("version", 0) != 1) {
    return InvalidArgument(src + ": expected an object with \"version\": 1");
  }
  Inventory inv;
  if (j.contains("ssh")) {
    const json& s = j["ssh"];
    if (!s.is_object()) return InvalidArgument(src + ": \"ssh\" must be an object");
    try {
      inv.ssh.username = s.value("username", inv.ssh.username);
      inv.ssh.private_key = s.value("private_key", std::string());
      inv.ssh.known_hosts = s.value("known_hosts", std::string());
      inv.ssh.connect_timeout_ms = s.value("connect_timeout_ms", inv.ssh.connect_timeout_ms);
    } catch (const json::exception& e) {
      return InvalidArgument(src + ": ssh: " + e.what());
    }
  }
  if (!j.contains("nodes") || !j["nodes"].is_array() || j["nodes"].empty()) {
    return InvalidArgument(src + ": \"nodes\" must be a non-empty array");
  }
  std::set<std::string> names;
  for (size_t i = 0; i < j["nodes"].size(); ++i) {
    const json& n = j["nodes"][i];
    std::string where = src + ": nodes[" + std::to_string(i) + "]";
    if (!n.is_object() || !n.contains("name") || !n["name"].is_string() ||
        n["name"].get<std::string>().empty()) {
      return InvalidArgument(where + ": needs a non-empty \"name\"");
    }
    NodeInfo node;
    node.name = n["name"].get<std::string>();
    where += " (" + node.name + ")";
    if (!names.insert(node.name).second) return InvalidArgument(where + ": duplicate name");
    if (!n.contains("address") || !n["address"].is_string()) {
      return InvalidArgument(where + ": needs \"address\" (its address on the cluster network)");
    }
    node.address = n["address"].get<std::string>();
    if (!n.contains("ssh")) return InvalidArgument(where + ": needs \"ssh\"");
    CHAOS_ASSIGN_OR_RETURN(node.ssh, ParseEndpoint(n["ssh"], where + ".ssh"));
    if (n.contains("client")) {
      CHAOS_ASSIGN_OR_RETURN(node.client, ParseEndpoint(n["client"], where + ".client"));
    }
    if (n.contains("ports")) {
      if (!n["ports"].is_object()) return InvalidArgument(where + ": \"ports\" must be an object");
      for (const auto& [key, value] : n["ports"].items()) {
        char* end = nullptr;
        long port = std::strtol(key.c_str(), &end, 10);
        if (key.empty() || *end != '\0' || port < 1 || port > 65535) {
          return InvalidArgument(where + ".ports: '" + key + "' is not a port");
        }
        CHAOS_ASSIGN_OR_RETURN(node.ports[static_cast<int>(port)],
                               ParseEndpoint(value, where + ".ports." + key));
      }
    }
    inv.nodes.push_back(std::move(node));
  }
  return inv;
}

Result<Inventory> LoadInventory(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound(path + ": cannot read the inventory (is the cluster up?)");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return ParseInventory(buffer.str(), path);
}

std::string InventoryToJson(const Inventory& inv) {
  // Keys in the order a person reads them.
  using ordered = nlohmann::ordered_json;
  ordered j;
  j["version"] = 1;
  j["ssh"] = {{"username", inv.ssh.username},
              {"private_key", inv.ssh.private_key},
              {"known_hosts", inv.ssh.known_hosts},
              {"connect_timeout_ms", inv.ssh.connect_timeout_ms}};
  j["nodes"] = ordered::array();
  for (const auto& n : inv.nodes) {
    ordered node{{"name", n.name}, {"address", n.address}, {"ssh", EndpointJson(n.ssh)}};
    if (!n.client.host.empty()) node["client"] = EndpointJson(n.client);
    ordered ports = ordered::object();
    for (const auto& [port, e] : n.ports) ports[std::to_string(port)] = EndpointJson(e);
    node["ports"] = ports;
    j["nodes"].push_back(node);
  }
  return j.dump(2) + "\n";
}

Status SaveInventory(const Inventory& inventory, const std::string& path) {
  return WriteFileAtomically(path, InventoryToJson(inventory));
}

Result<Inventory> InventoryFromHosts(const std::vector<std::string>& hosts, const SshOptions& ssh,
                                     int ssh_port, int client_port) {
  if (hosts.empty()) return InvalidArgument("--nodes: no hosts given");
  CHAOS_RETURN_IF_ERROR(ValidPort(ssh_port, "--ssh-port"));
  CHAOS_RETURN_IF_ERROR(ValidPort(client_port, "client port"));
  if (ssh.private_key.empty()) return InvalidArgument("--ssh-key: a private key is required");
  if (ssh.username.empty()) return InvalidArgument("--username: must not be empty");
  Inventory inv;
  inv.ssh = ssh;
  std::set<std::string> seen;
  for (const auto& host : hosts) {
    if (host.empty()) return InvalidArgument("--nodes: empty host name");
    if (!seen.insert(host).second) return InvalidArgument("--nodes: " + host + " given twice");
    NodeInfo n;
    n.name = host;
    n.address = host;
    n.ssh = {host, ssh_port};
    n.client = {host, client_port};
    inv.nodes.push_back(std::move(n));
  }
  return inv;
}

Inventory NamesOnlyInventory(int nodes) {
  Inventory inventory;
  for (int i = 1; i <= nodes; ++i) {
    NodeInfo node;
    node.name = "n" + std::to_string(i);
    inventory.nodes.push_back(node);
  }
  return inventory;
}

}  // namespace chaos::control
