#include "target/proto/register_client.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "target/proto/register.grpc.pb.h"

namespace chaos::server {

namespace api = chaos::register_api;

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk:
      return "ok";
    case Outcome::kFail:
      return "fail";
    case Outcome::kUnknown:
      return "info";
  }
  return "?";
}

struct RegisterClient::Impl {
  RegisterClientOptions options;
  std::map<std::string, std::unique_ptr<api::Client::Stub>> stubs;
  size_t current = 0;  // index into options.addresses of the node to try first
  std::string leader;  // last known leader address, "" if none
  int64_t seq = 0;

  api::Client::Stub* StubFor(const std::string& address) {
    auto it = stubs.find(address);
    if (it != stubs.end()) return it->second.get();
    grpc::ChannelArguments args;
    // Reconnect quickly to a restarted node (gRPC's default minimum is 20 s).
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 500);
    auto channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
    auto stub = api::Client::NewStub(channel);
    auto* raw = stub.get();
    stubs[address] = std::move(stub);
    return raw;
  }

  // Where a NOT_LEADER reply says the leader is, "" if it does not know.
  std::string LeaderAddress(const api::Reply& reply) const {
    const auto& by_id = options.address_by_id;
    if (reply.leader_id() >= 0 && static_cast<size_t>(reply.leader_id()) < by_id.size()) {
      return by_id[reply.leader_id()];
    }
    return reply.leader_address();
  }

  // Runs one operation: `call(stub, context, reply)` issues the RPC.
  template <typename Call>
  OpResult Run(Call call) {
    ++seq;
    auto deadline =
        std::chrono::system_clock::now() + std::chrono::milliseconds(options.timeout_ms);
    OpResult result;
    bool maybe_sent = false;  // some attempt may have reached a leader
    if (options.home_first) current = 0;
    std::string address =
        leader.empty() || options.home_first ? options.addresses[current] : leader;
    // Bounded twice: by the deadline, and by a cap on attempts (redirects
    // with a leader hint count against redirects_max; waiting for an election
    // sleeps 20 ms per attempt, so the cap is never the binding limit).
    int redirects = 0;
    constexpr int kAttemptsMax = 10000;
    auto attempt_time = std::chrono::milliseconds(
        options.attempt_timeout_ms > 0 ? options.attempt_timeout_ms
                                       : std::max<int64_t>(1, options.timeout_ms / 3));
    std::set<std::string> timed_out;  // nodes an attempt of this operation timed out at
    size_t stale_hints = 0;           // hints naming one of them, passed over
    for (int attempt = 0; attempt < kAttemptsMax && redirects <= options.redirects_max; ++attempt) {
      auto now = std::chrono::system_clock::now();
      if (now >= deadline) break;
      grpc::ClientContext context;
      context.set_deadline(std::min(deadline, now + attempt_time));
      api::Reply reply;
      grpc::Status status = call(StubFor(address), &context, &reply);
      result.node = address;
      if (!status.ok()) {
        leader.clear();
        current = (current + 1) % options.addresses.size();
        if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
            status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
          result.outcome = maybe_sent ? Outcome::kUnknown : Outcome::kFail;
          result.error = "refused: " + status.error_message();
          return result;
        }
        // Connection refused before sending cannot have happened; anything
        // else (deadline, reset) may have reached the node.
        const std::string& why = status.error_message();
        bool not_sent = status.error_code() == grpc::StatusCode::UNAVAILABLE &&
                        (why.find("failed to connect") != std::string::npos ||
                         why.find("Connection refused") != std::string::npos);
        if (!not_sent) maybe_sent = true;
        result.error = address + ": " + status.error_message();
        if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
          if (std::chrono::system_clock::now() >= deadline) break;
          // Only this attempt's time is up: the node may be stopped or cut
          // off. Try the others (a retry reuses the sequence number, so the
          // cluster applies the operation at most once).
          timed_out.insert(address);
          for (size_t i = 0;
               i + 1 < options.addresses.size() && timed_out.contains(options.addresses[current]);
               ++i) {
            current = (current + 1) % options.addresses.size();
          }
          address = options.addresses[current];
          continue;
        }
        address = options.addresses[current];
        // A node that is down fails fast; pause so a retry loop does not spin.
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      switch (reply.status()) {
        case api::Reply::OK:
          leader = address;
          result.outcome = Outcome::kOk;
          if (reply.has_value()) result.value = reply.value();
          return result;
        case api::Reply::FAILED:
          leader = address;
          result.outcome = Outcome::kFail;
          if (reply.has_value()) result.value = reply.value();
          result.error = reply.detail();
          return result;
        case api::Reply::NOT_LEADER: {
          result.error = address + ": not leader";
          // A hint naming a node this operation already timed out at may be
          // stale (the others have not noticed yet): passed over while
          // other nodes remain to ask, then followed (a slow leader).
          std::string hint = LeaderAddress(reply);
          if (!hint.empty() && timed_out.contains(hint) &&
              stale_hints++ < options.addresses.size() - 1) {
            hint.clear();
          }
          if (!hint.empty() && hint != address) {
            result.leader = hint;
            address = hint;
            ++redirects;
          } else {
            // No leader known yet (election in progress): wait briefly, try the next node.
            current = (current + 1) % options.addresses.size();
            address = options.addresses[current];
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
          }
          leader.clear();
          continue;
        }
        default:
          result.outcome = Outcome::kUnknown;
          result.error = address + ": " + reply.detail();
          return result;
      }
    }
    result.outcome = maybe_sent ? Outcome::kUnknown : Outcome::kFail;
    if (result.error.empty()) result.error = "deadline passed";
    return result;
  }
};

Result<std::unique_ptr<RegisterClient>> RegisterClient::Create(RegisterClientOptions options) {
  if (options.addresses.empty()) return InvalidArgument("register client: no node addresses");
  if (options.client_id <= 0) {
    return InvalidArgument("register client: client id must be > 0, got " +
                           std::to_string(options.client_id));
  }
  if (options.timeout_ms <= 0) return InvalidArgument("register client: timeout must be > 0");
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  return std::unique_ptr<RegisterClient>(new RegisterClient(std::move(impl)));
}

RegisterClient::RegisterClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RegisterClient::~RegisterClient() = default;

int64_t RegisterClient::client_id() const { return impl_->options.client_id; }
int64_t RegisterClient::last_seq() const { return impl_->seq; }

OpResult RegisterClient::Get(const std::string& key) {
  int64_t id = impl_->options.client_id;
  int64_t seq = impl_->seq + 1;
  return impl_->Run([&](api::Client::Stub* stub, grpc::ClientContext* ctx, api::Reply* reply) {
    api::GetRequest req;
    req.set_client_id(id);
    req.set_seq(seq);
    req.set_key(key);
    return stub->Get(ctx, req, reply);
  });
}

OpResult RegisterClient::Put(const std::string& key, int64_t value) {
  int64_t id = impl_->options.client_id;
  int64_t seq = impl_->seq + 1;
  return impl_->Run([&](api::Client::Stub* stub, grpc::ClientContext* ctx, api::Reply* reply) {
    api::PutRequest req;
    req.set_client_id(id);
    req.set_seq(seq);
    req.set_key(key);
    req.set_value(value);
    return stub->Put(ctx, req, reply);
  });
}

OpResult RegisterClient::Cas(const std::string& key, int64_t expected, int64_t new_value) {
  int64_t id = impl_->options.client_id;
  int64_t seq = impl_->seq + 1;
  return impl_->Run([&](api::Client::Stub* stub, grpc::ClientContext* ctx, api::Reply* reply) {
    api::CasRequest req;
    req.set_client_id(id);
    req.set_seq(seq);
    req.set_key(key);
    req.set_expected(expected);
    req.set_new_value(new_value);
    return stub->Cas(ctx, req, reply);
  });
}

OpResult RegisterClient::ChangeMembers(const std::string& kind, int node, int64_t incarnation) {
  int64_t id = impl_->options.client_id;
  int64_t seq = impl_->seq + 1;
  return impl_->Run([&](api::Client::Stub* stub, grpc::ClientContext* ctx, api::Reply* reply) {
    api::ChangeMembersRequest req;
    req.set_client_id(id);
    req.set_seq(seq);
    req.set_kind(kind);
    req.set_node(node);
    req.set_incarnation(incarnation);
    return stub->ChangeMembers(ctx, req, reply);
  });
}

Result<MembersView> RegisterClient::Members() {
  const RegisterClientOptions& options = impl_->options;
  auto deadline = std::chrono::system_clock::now() + std::chrono::milliseconds(options.timeout_ms);
  std::string errors;
  for (const std::string& address : options.addresses) {
    if (std::chrono::system_clock::now() >= deadline) break;
    grpc::ClientContext context;
    context.set_deadline(deadline);
    api::MembersReply reply;
    grpc::Status status = impl_->StubFor(address)->Members(&context, api::MembersRequest(), &reply);
    if (!status.ok()) {
      errors += (errors.empty() ? "" : "; ") + address + ": " + status.error_message();
      continue;
    }
    MembersView view;
    for (const auto& m : reply.voters()) view.voters.push_back({m.node(), m.incarnation()});
    for (const auto& m : reply.learners()) view.learners.push_back({m.node(), m.incarnation()});
    view.node = reply.node();
    view.slot = reply.slot();
    view.incarnation = reply.incarnation();
    return view;
  }
  return Unavailable("register: no node answered Members within " +
                     std::to_string(options.timeout_ms) + " ms" +
                     (errors.empty() ? "" : " (" + errors + ")"));
}

}  // namespace chaos::server
