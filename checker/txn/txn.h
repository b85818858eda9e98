// The transactional checker: Elle's method (Kingsbury & Alvaro, "Elle:
// Inferring Isolation Anomalies from Experimental Observations", VLDB 2020)
// for list-append and read-write-register histories.
//
// A history holds `txn` ops whose value is a list of micro-ops:
//   [":append" k v]   append v to the list at key k (v an integer, unique per key)
//   [":r" k nil]      read key k: in an ok completion a list (list keys) or a
//                     value (register keys); nil means empty / never written
//   [":w" k v]        write v to register k (v an integer, unique per key)
// Keywords may be written with or without the colon. A key is a list key when
// something appends to it or reads a list from it, a register key when
// something writes it or reads an integer from it; both at once is an input
// error. Ops whose f is not txn, and nemesis ops, are ignored.
//
// What it infers (the paper's section 4): for list keys the version order is
// the longest list read (every other read must be a prefix of it); for
// register keys versions are ordered only where a transaction read one value
// and then wrote another, and nil precedes every written value. From those, the
// dependency edges between transactions: ww (installed the next version),
// wr (read the version another installed), rw (read a version another
// overwrote: an anti-dependency); the process order (one process's
// transactions in turn) and the real-time order (completed before invoked;
// kept linear in size by a frontier of completed transactions). Committed
// transactions (ok) and possibly committed ones (info, never completed) are
// nodes; failed ones are known aborted.
//
// Anomalies found without cycles: G1a (aborted read), G1b (intermediate read),
// internal (a read inconsistent with the transaction's own earlier reads and
// writes), duplicate-elements (a list read holding a value twice),
// incompatible-order (two reads of a list key neither a prefix of the other),
// garbage-read (a value no transaction wrote). Cycles: Tarjan's strongly
// connected components of the dependency graph, then in each component the
// weakest cycle class that exists, found as a shortest cycle by breadth-first
// search: G0 (ww only), G1c (ww and wr), G-single (exactly one rw), G2-item
// (two or more rw). A cycle that needs the process or real-time order gets
// the suffix -process or -realtime; those orders are added only for the
// models that require them.
//
// Consistency models and what each forbids (besides internal,
// duplicate-elements, incompatible-order and garbage-read, forbidden by all):
//   read-committed              G0 G1a G1b G1c
//   snapshot-isolation          + G-single
//   serializable                + G2-item
//   strong-session-serializable + the -process variants
//   strict-serializable         + the -process and -realtime variants
//
// Budgets: the exhaustive search for G-single (one rw edge closed by a path
// without rw) stops after `search_steps_max` steps; a component it could not
// finish is classified G2-item with `exhaustive: false`, and the verdict of a
// model that forbids G-single but not G2-item is then unknown.
//
// Thread safety: CheckTxn is a pure function; calls share nothing.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "checker/checker.h"
#include "history/codec.h"
#include "history/op.h"

namespace chaos::checker::txn {

enum class Consistency {
  kReadCommitted,
  kSnapshotIsolation,
  kSerializable,
  kStrongSessionSerializable,
  kStrictSerializable,
};

// "read-committed", ...; nullopt-like: returns false for an unknown name.
bool ParseConsistency(const std::string& name, Consistency* out);
const char* ConsistencyName(Consistency c);
const std::vector<std::string>& ConsistencyNames();

// Which micro-ops the history may hold: list-append (append, r), rw-register
// (w, r), or either (keys decide).
enum class Workload { kAny, kListAppend, kRwRegister };

struct TxnOptions {
  Workload workload = Workload::kAny;
  Consistency consistency = Consistency::kSerializable;
  int64_t search_steps_max = 200'000'000;  // breadth-first steps for the G-single search
  int cycles_reported_max = 8;             // cycles kept per anomaly class in the result
};

struct TxnStats {
  int64_t txns = 0;           // transactions (invocations) in the history
  int64_t committed = 0;      // ok
  int64_t aborted = 0;        // fail
  int64_t indeterminate = 0;  // info or never completed
  int64_t ignored_ops = 0;    // client ops whose f is not txn
  int64_t edges = 0;
  int64_t components = 0;  // strongly connected components with more than one node
  int64_t search_steps = 0;
  double ms = 0;
};

struct TxnResult {
  Verdict verdict = Verdict::kUnknown;
  bool input_error = false;  // the history cannot be read as transactions; see cause
  std::string cause;
  Consistency consistency = Consistency::kSerializable;
  // Anomaly class -> list of instances (JSON objects; a cycle has "cycle":
  // [{txn, op}], "steps": [{from, to, type, key, why}], "explanation").
  nlohmann::json anomalies = nlohmann::json::object();
  std::vector<std::string> anomaly_types;  // sorted
  std::vector<std::string> forbidden;      // the anomaly types found that the model forbids
  TxnStats stats;

  // {valid, checker: "txn", consistency, anomaly_types, forbidden, anomalies,
  // stats{...}, cause}.
  nlohmann::json ToJson() const;
  // Lines a person can follow: the verdict, then every anomaly with Elle's
  // style of explanation and the cycle drawn as T1 -ww-> T2 -rw-> T1.
  std::string Explain() const;
};

TxnResult CheckTxn(const history::History& history, const TxnOptions& options);
// The same over a stream: the history is never held whole (a million-txn file
// costs only the checker's compact form).
TxnResult CheckTxnStream(history::HistoryReader& reader, const TxnOptions& options);

// The anomaly types `c` forbids (the always-forbidden ones included).
std::vector<std::string> ForbiddenAnomalies(Consistency c);

}  // namespace chaos::checker::txn
