// Proves the declarative adapter file parser: the shipped example parses; a
// malformed file is refused with one line naming the file and the field;
// placeholders expand to quoted words; command output maps to ok/fail/info
// by the rules.
#include "adapters/declarative_spec.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "generator/generator.h"

namespace chaos::adapters {
namespace {

using history::Json;
using history::Op;
using history::OpType;

// A minimal valid file; tests break one field at a time.
Json Valid() {
  return Json::parse(R"json({
    "name": "kv",
    "start": "kvd --listen {address}:9000 --dir {data_dir}",
    "process": "kvd",
    "data_dir": "/var/lib/kv",
    "client": {
      "read":  {"command": "kv-cli -h {first_address} get {key}",
                "outcomes": [{"stdout": "(-?[0-9]*)", "exit": 0, "type": "ok"},
                             {"type": "fail"}]},
      "write": {"command": "kv-cli set {key} {value}",
                "outcomes": [{"stdout": "OK", "type": "ok"},
                             {"stderr": "Connection refused", "type": "fail"}]},
      "cas":   {"command": "kv-cli cas {key} {old} {new}",
                "outcomes": [{"stdout": "1", "type": "ok"}, {"stdout": "0", "type": "fail"}]}
    }})json");
}

std::string ErrorOf(const Json& doc) {
  auto spec = ParseDeclarativeSpec(doc.dump(), "kv.json");
  if (spec.ok()) return "(parsed)";
  return spec.status().message();
}

TEST(DeclarativeSpec, ShippedRedisExampleParses) {
  const char* root = std::getenv("CHAOS_SOURCE_DIR");
  ASSERT_NE(root, nullptr) << "ctest sets CHAOS_SOURCE_DIR";
  auto spec = LoadDeclarativeSpec(std::string(root) + "/examples/redis.json");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  EXPECT_EQ(spec->name, "redis");
  EXPECT_EQ(spec->process, "redis-server");
  EXPECT_EQ(spec->ops.size(), 3u);
  EXPECT_TRUE(spec->faults.contains("partition"));
}

TEST(DeclarativeSpec, ValidFileGetsDefaults) {
  auto spec = ParseDeclarativeSpec(Valid().dump(), "kv.json");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  EXPECT_FALSE(spec->first_node_only);
  EXPECT_EQ(spec->daemon_log, "/var/log/chaos/kv.log");
  EXPECT_EQ(spec->log_files, std::vector<std::string>{"/var/log/chaos/kv.log"});
  EXPECT_EQ(spec->faults, (std::set<std::string>{"partition", "kill", "pause"}));
  EXPECT_EQ(spec->client_timeout_ms, 2000);
}

TEST(DeclarativeSpec, MalformedFilesNameTheField) {
  EXPECT_EQ(ErrorOf(Json::parse("[1]")), "kv.json: (top): must be an object");
  auto bad = ParseDeclarativeSpec("{\"name\": ", "kv.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "kv.json: not valid JSON");

  Json doc = Valid();
  doc.erase("start");
  EXPECT_EQ(ErrorOf(doc), "kv.json: start: missing (the daemon's command line)");

  doc = Valid();
  doc["strat"] = "x";
  EXPECT_NE(ErrorOf(doc).find("kv.json: strat: unknown field"), std::string::npos) << ErrorOf(doc);

  doc = Valid();
  doc["client"]["cas"]["outcomes"][1]["type"] = "maybe";
  EXPECT_EQ(ErrorOf(doc),
            "kv.json: client.cas.outcomes[1].type: must be ok, fail or info, got "
            "'maybe'");

  doc = Valid();
  doc["client"]["read"]["outcomes"][0]["stdout"] = "([0-9]";
  EXPECT_NE(ErrorOf(doc).find("kv.json: client.read.outcomes[0].stdout: bad regular expression"),
            std::string::npos)
      << ErrorOf(doc);

  doc = Valid();
  doc["client"]["write"]["command"] = "kv-cli set {key} {old}";
  EXPECT_NE(ErrorOf(doc).find("kv.json: client.write.command: unknown placeholder {old}"),
            std::string::npos)
      << ErrorOf(doc);

  doc = Valid();
  doc["client"].erase("cas");
  EXPECT_EQ(ErrorOf(doc), "kv.json: client.cas: missing (an object {command, outcomes})");

  doc = Valid();
  doc["client"]["read"]["outcomes"] = Json::array();
  EXPECT_EQ(ErrorOf(doc), "kv.json: client.read.outcomes: missing (a non-empty array of rules)");

  doc = Valid();
  doc["faults"] = {"partition", "clock"};
  EXPECT_NE(ErrorOf(doc).find("kv.json: faults[1]: 'clock' is not a fault"), std::string::npos)
      << ErrorOf(doc);

  doc = Valid();
  doc["nodes"] = "some";
  EXPECT_EQ(ErrorOf(doc), "kv.json: nodes: must be all or first, got 'some'");

  doc = Valid();
  doc["setup"] = {"mkdir -p {data_dir}", 7};
  EXPECT_EQ(ErrorOf(doc), "kv.json: setup[1]: must be a string");

  doc = Valid();
  doc["client"]["timeout_ms"] = 0;
  EXPECT_EQ(ErrorOf(doc), "kv.json: client.timeout_ms: must be an integer from 10 to 600000");

  doc = Valid();
  doc["process"] = "a-very-long-process-name";
  EXPECT_NE(ErrorOf(doc).find("kv.json: process: a process name (comm) has at most 15"),
            std::string::npos);

  // Every error is one line.
  doc = Valid();
  doc["client"]["read"]["outcomes"][0]["stdout"] = "(";
  EXPECT_EQ(ErrorOf(doc).find('\n'), std::string::npos);
}

TEST(DeclarativeSpec, PlaceholdersExpandToQuotedWords) {
  std::map<std::string, std::string> values = {{"key", "7"}, {"value", "it's"}, {"address", ""}};
  auto line = ExpandPlaceholders("set {key} {value} at {address}", values);
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(*line, "set 7 'it'\\''s' at ''");
  // Shell braces that are not lowercase placeholders are kept as written.
  line = ExpandPlaceholders("echo ${HOME} {} { key} {key}", values);
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(*line, "echo ${HOME} {} { key} 7");
  auto unknown = ExpandPlaceholders("x {nope}", values);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("unknown placeholder {nope}"), std::string::npos);
}

TEST(DeclarativeSpec, OutputMapsToOutcomes) {
  auto spec = ParseDeclarativeSpec(Valid().dump(), "kv.json");
  ASSERT_TRUE(spec.ok());
  const auto& read = spec->ops.at("read");
  Op done = InterpretOutput(read, generator::Invoke("read", Json::array({3, nullptr})),
                            {0, " 42\n", "", false});
  EXPECT_EQ(done.type, OpType::kOk);
  EXPECT_EQ(done.value, Json::array({3, 42}));
  done = InterpretOutput(read, generator::Invoke("read", Json::array({3, nullptr})),
                         {0, "\n", "", false});
  EXPECT_EQ(done.type, OpType::kOk);
  EXPECT_EQ(done.value, Json::array({3, nullptr}));
  // exit 1 fails the first rule; the catch-all says fail.
  done = InterpretOutput(read, generator::Invoke("read", Json::array({3, nullptr})),
                         {1, "", "boom", false});
  EXPECT_EQ(done.type, OpType::kFail);
  EXPECT_EQ(done.error, "boom");

  const auto& write = spec->ops.at("write");
  Op w = generator::Invoke("write", Json::array({3, 5}));
  EXPECT_EQ(InterpretOutput(write, w, {0, "OK\n", "", false}).type, OpType::kOk);
  EXPECT_EQ(InterpretOutput(write, w, {1, "", "connect: Connection refused", false}).type,
            OpType::kFail);
  // Nothing matches: unknown.
  Op unmatched = InterpretOutput(write, w, {0, "LOADING\n", "", false});
  EXPECT_EQ(unmatched.type, OpType::kInfo);
  EXPECT_NE(unmatched.error.get<std::string>().find("no outcome rule matched"), std::string::npos);
  // A timeout is unknown even if the output would match; a read that timed
  // out changed nothing.
  EXPECT_EQ(InterpretOutput(write, w, {-1, "OK", "", true}).type, OpType::kInfo);
  EXPECT_EQ(InterpretOutput(read, generator::Invoke("read", Json::array({3, nullptr})),
                            {-1, "", "", true})
                .type,
            OpType::kFail);

  const auto& cas = spec->ops.at("cas");
  Op c = generator::Invoke("cas", Json::array({3, Json::array({1, 2})}));
  EXPECT_EQ(InterpretOutput(cas, c, {0, "1", "", false}).type, OpType::kOk);
  EXPECT_EQ(InterpretOutput(cas, c, {0, "0", "", false}).type, OpType::kFail);
  EXPECT_EQ(InterpretOutput(cas, c, {0, "10", "", false}).type, OpType::kInfo);
}

// Proves: "client.program" parses into the program's line and marker line,
// and each mistake in it is refused with one line naming the field.
TEST(DeclarativeSpec, ProgramParsesAndItsMistakesNameTheField) {
  Json doc = Valid();
  doc["client"]["program"] = {{"command", "kv-cli -h {first_address}"},
                              {"marker", "echo {marker}"}};
  auto spec = ParseDeclarativeSpec(doc.dump(), "kv.json");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  ASSERT_TRUE(spec->program.has_value());
  EXPECT_EQ(spec->program->command, "kv-cli -h {first_address}");
  EXPECT_EQ(spec->program->marker, "echo {marker}");
  EXPECT_FALSE(ParseDeclarativeSpec(Valid().dump(), "kv.json")->program.has_value());

  doc["client"]["program"]["marker"] = "echo done";
  EXPECT_EQ(ErrorOf(doc), "kv.json: client.program.marker: must contain {marker}");
  doc["client"]["program"]["marker"] = "echo {mark}";
  EXPECT_NE(ErrorOf(doc).find("kv.json: client.program.marker: unknown placeholder {mark}"),
            std::string::npos)
      << ErrorOf(doc);
  doc["client"]["program"]["marker"] = "echo {marker}";
  doc["client"]["program"]["command"] = "kv-cli {marker}";
  EXPECT_NE(ErrorOf(doc).find("kv.json: client.program.command: unknown placeholder {marker}"),
            std::string::npos)
      << ErrorOf(doc);
  doc["client"]["program"].erase("command");
  EXPECT_EQ(ErrorOf(doc), "kv.json: client.program.command: missing (the program's shell line)");
  doc["client"]["program"] = {{"command", "kv-cli"}, {"marker", "echo {marker}"}, {"x", 1}};
  EXPECT_NE(ErrorOf(doc).find("kv.json: client.program.x: unknown field"), std::string::npos)
      << ErrorOf(doc);
  doc["client"]["program"] = "kv-cli";
  EXPECT_EQ(ErrorOf(doc), "kv.json: client.program: must be an object {command, marker}");
}

// Proves: an op of a client program ends early only by a stderr-only rule
// matching the first complete stderr line (later lines may be the marker
// line's, e.g. redis-cli's "Connection refused" after "Server closed the
// connection", which must stay unknown); an unanswered read fails, any other
// op is info.
TEST(DeclarativeSpec, ProgramOpsEndEarlyOnlyByTheFirstStderrLine) {
  auto spec = ParseDeclarativeSpec(Valid().dump(), "kv.json");
  ASSERT_TRUE(spec.ok());
  const auto& write = spec->ops.at("write");
  const auto& read = spec->ops.at("read");
  EXPECT_EQ(EarlyRule(write, ""), nullptr);
  EXPECT_EQ(EarlyRule(write, "connect: Connection refused"), nullptr);  // not a whole line yet
  const OutcomeRule* rule = EarlyRule(write, "connect: Connection refused\n");
  ASSERT_NE(rule, nullptr);
  EXPECT_EQ(rule->type, OpType::kFail);
  EXPECT_EQ(EarlyRule(write, "Error: Server closed the connection\nconnect: Connection refused\n"),
            nullptr);
  // The read's rules have an exit condition or none at all: never early.
  EXPECT_EQ(EarlyRule(read, "connect: Connection refused\n"), nullptr);

  Op w = generator::Invoke("write", Json::array({3, 5}));
  Op early = InterpretEarly(write, w, "connect: Connection refused\nmore\n");
  EXPECT_EQ(early.type, OpType::kFail);
  EXPECT_EQ(early.error, "connect: Connection refused");

  EXPECT_EQ(Unanswered(w, "timed out").type, OpType::kInfo);
  Op r = Unanswered(generator::Invoke("read", Json::array({3, nullptr})), "the program ended");
  EXPECT_EQ(r.type, OpType::kFail);
  EXPECT_EQ(r.error, "the program ended");
}

// Proves (regression: a read answered by the marker after redis-cli
// reconnected read nil): the shipped Redis example runs its ops in a
// program, and a marker that came back after something on stderr (exit 1)
// fails a read with empty stdout, leaves a write unknown; a refused
// connection on the first stderr line fails every op at once, a connection
// closed under the op ends it at once as unknown (a read: fail).
TEST(DeclarativeSpec, RedisProgramReadAfterReconnectIsNotNil) {
  const char* root = std::getenv("CHAOS_SOURCE_DIR");
  ASSERT_NE(root, nullptr) << "ctest sets CHAOS_SOURCE_DIR";
  auto spec = LoadDeclarativeSpec(std::string(root) + "/examples/redis.json");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  ASSERT_TRUE(spec->program.has_value());
  EXPECT_NE(spec->program->command.find("redis-cli"), std::string::npos);
  const std::string closed = "Error: Server closed the connection\n";
  Op read = generator::Invoke("read", Json::array({3, nullptr}));
  EXPECT_EQ(InterpretOutput(spec->ops.at("read"), read, {1, "", closed, false}).type,
            OpType::kFail);
  Op ok = InterpretOutput(spec->ops.at("read"), read, {0, "\n", "", false});
  EXPECT_EQ(ok.type, OpType::kOk);
  EXPECT_EQ(ok.value, Json::array({3, nullptr}));
  Op w = generator::Invoke("write", Json::array({3, 5}));
  EXPECT_EQ(InterpretOutput(spec->ops.at("write"), w, {1, "", closed, false}).type, OpType::kInfo);
  EXPECT_EQ(InterpretOutput(spec->ops.at("write"), w, {0, "OK\n", "", false}).type, OpType::kOk);
  const std::string refused = "Could not connect to Redis at 10.0.0.1:6379: Connection refused\n";
  for (const char* f : {"read", "write", "cas"}) {
    const OutcomeRule* rule = EarlyRule(spec->ops.at(f), refused);
    ASSERT_NE(rule, nullptr) << f;
    EXPECT_EQ(rule->type, OpType::kFail) << f;
    // The op's own line lost its connection: unknown for a write, and the
    // marker line's refusal after it decides nothing.
    const OutcomeRule* closed_rule = EarlyRule(spec->ops.at(f), closed + refused);
    ASSERT_NE(closed_rule, nullptr) << f;
    EXPECT_EQ(closed_rule->type, std::string(f) == "read" ? OpType::kFail : OpType::kInfo) << f;
  }
}

// Proves: the shipped set and counter examples parse as those workloads
// (ops add and read); a set read is every integer of its output, a counter
// read one integer (none reads 0); the workload field and its ops are checked.
TEST(DeclarativeSpec, SetAndCounterWorkloads) {
  const char* root = std::getenv("CHAOS_SOURCE_DIR");
  ASSERT_NE(root, nullptr) << "ctest sets CHAOS_SOURCE_DIR";
  for (const char* workload : {"set", "counter"}) {
    auto spec = LoadDeclarativeSpec(std::string(root) + "/examples/redis-" + workload + ".json");
    ASSERT_TRUE(spec.ok()) << spec.status().message();
    EXPECT_EQ(spec->workload, workload);
    EXPECT_EQ(spec->ops.size(), 2u);
    EXPECT_EQ(spec->ops.at("read").reads, workload);
    EXPECT_TRUE(spec->ops.contains("add"));
  }
  Json doc = Valid();
  doc["workload"] = "set";
  EXPECT_EQ(ErrorOf(doc),
            "kv.json: client.cas: unknown field (known: add, program, read, timeout_ms)");
  doc["client"] = Json::parse(R"json({
      "add":  {"command": "kv-cli sadd s {value}", "outcomes": [{"exit": 0, "type": "ok"}]},
      "read": {"command": "kv-cli smembers s",
               "outcomes": [{"exit": 0, "stdout": "members:([^;]*);?", "type": "ok"}]}})json");
  auto set = ParseDeclarativeSpec(doc.dump(), "kv.json");
  ASSERT_TRUE(set.ok()) << set.status().message();
  Op read = generator::Invoke("read", nullptr);
  Op done = InterpretOutput(set->ops.at("read"), read, {0, "members: 3, -1,10;", "", false});
  EXPECT_EQ(done.type, OpType::kOk);
  EXPECT_EQ(done.value, Json::array({3, -1, 10}));
  done = InterpretOutput(set->ops.at("read"), read, {0, "members:", "", false});
  EXPECT_EQ(done.value, Json::array());
  doc["workload"] = "counter";
  auto counter = ParseDeclarativeSpec(doc.dump(), "kv.json");
  ASSERT_TRUE(counter.ok());
  done = InterpretOutput(counter->ops.at("read"), read, {0, "members: 17", "", false});
  EXPECT_EQ(done.value, 17);
  done = InterpretOutput(counter->ops.at("read"), read, {0, "members:", "", false});
  EXPECT_EQ(done.value, 0);
  done = InterpretOutput(counter->ops.at("read"), read, {0, "members: 1 2", "", false});
  EXPECT_EQ(done.type, OpType::kFail);
  doc["workload"] = "queue";
  EXPECT_EQ(ErrorOf(doc), "kv.json: workload: must be register, set or counter, got 'queue'");
}

}  // namespace
}  // namespace chaos::adapters
