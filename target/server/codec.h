// Codec: core values (target/core/types.h) to and from their protobuf form
// (target/proto/peer.proto), for peer messages, WAL records, snapshot files
// and the IDENTITY file.
//
// Decoding is total: malformed input (unknown enum values, missing oneof,
// negative slots, invalid node ids) yields an error Status, never a crash or a
// core value that breaks the core's invariants. Messages come from the network
// and records from disk; both are untrusted.
//
// Thread safety: pure functions.
#pragma once

#include <string>

#include "base/status.h"
#include "target/core/types.h"
#include "target/proto/peer.pb.h"

namespace chaos::server {

void EncodeMessage(const core::Message& message, peer_api::PeerMessage* out);
Result<core::Message> DecodeMessage(const peer_api::PeerMessage& in, int cluster_size);

std::string EncodeRecord(const core::Record& record);
Result<core::Record> DecodeRecord(const std::string& bytes);

std::string EncodeState(const core::PersistentState& state);
Result<core::PersistentState> DecodeState(const std::string& bytes);

}  // namespace chaos::server
