// Fault tests with real processes (issue 13): an aggregator, three hospital nodes and the
// coordinator's command line, each a separate process on 127.0.0.1 over mutual TLS, as
// scripts/demo.sh starts them; then a process is SIGKILLed or the link cut at a chosen moment,
// and the federation must still finish its study without counting anything twice.
//
// The moment is found by watching what the processes say (the aggregator's log, a node's log,
// the proxy's byte counters); the state at the kill is checked afterwards from the complete log,
// so a test that missed its moment says so instead of passing vacuously.
//
// Every wait has a deadline and fails with the tails of the processes' logs; every child is
// killed when the test ends (ProcessConsortium, ChildProcess).
#include <sys/signal.h>

#include <iostream>
#include <map>
#include <regex>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/fault/fault_study.h"
#include "tests/process_consortium.h"
#include "tests/process_harness.h"
#include "tests/throttle_proxy.h"

namespace scancov::testing_process {
namespace {

// `scancov-node ledger --json` of `site`, as its steward reads it (null when it fails).
nlohmann::json NodeLedgerJson(ProcessConsortium& f, const std::string& site) {
  static int runs = 0;
  const std::string log = f.LogPath(absl::StrCat("ledger-", site));
  absl::StatusOr<CommandResult> run = RunCommand(
      "scancov-node ledger",
      {Executables::FromBuild().node, "--config", f.dir() + "/sites/" + site + "/site.json",
       "--log-level", "warn", "ledger", "--json"},
      log, absl::StrCat(log, "-", ++runs, ".json"), absl::Seconds(60));
  EXPECT_TRUE(run.ok() && run->exit_code == 0) << (run.ok() ? run->log : run.status().ToString());
  if (!run.ok() || run->exit_code != 0) return nullptr;
  return nlohmann::json::parse(run->out, nullptr, false);
}

class FederationFaultTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { suite_.Build(::testing::TempDir() + "/fault-template", kSites); }
  static void TearDownTestSuite() { suite_.Release(); }

  // A fresh copy of the consortium with its aggregator on a free port, the sites enrolled.
  std::unique_ptr<ProcessConsortium> NewFederation(const std::string& label) {
    const std::string dir = absl::StrCat(::testing::TempDir(), "/", label, "-", ++federations_);
    auto copy = suite_.Copy(dir);
    EXPECT_TRUE(copy.ok()) << copy.status();
    if (!copy.ok()) return nullptr;
    absl::StatusOr<int> port = FreeLoopbackPort();
    EXPECT_TRUE(port.ok()) << port.status();
    absl::Status started = (*copy)->StartAggregator(*port);
    EXPECT_TRUE(started.ok()) << started;
    absl::Status enrolled = started.ok() ? (*copy)->EnrollAll() : started;
    EXPECT_TRUE(enrolled.ok()) << enrolled;
    return enrolled.ok() ? std::move(*copy) : nullptr;
  }

  // Starts every node, dialing `port` (the aggregator's, or a proxy's).
  static absl::Status StartNodes(ProcessConsortium& f, int port) {
    for (const std::string& s : f.site_ids()) {
      if (absl::Status st = f.StartNode(s, port); !st.ok()) return st;
    }
    return absl::OkStatus();
  }

  // The final model of `shape` run without any fault (computed once per test process).
  const protocol::TensorSet* Reference(const StudyShape& shape) {
    static std::map<std::string, protocol::TensorSet>* cache =
        new std::map<std::string, protocol::TensorSet>();
    auto it = cache->find(shape.name);
    if (it != cache->end()) return &it->second;
    std::unique_ptr<ProcessConsortium> f = NewFederation("reference");
    if (f == nullptr) return nullptr;
    absl::Status s = f->CreateStudy(StudySpec(shape));
    if (s.ok()) s = StartNodes(*f, f->aggregator_port());
    if (s.ok()) s = f->WatchUntilDone(shape.name, absl::Seconds(120));
    EXPECT_TRUE(s.ok()) << "reference run: " << s;
    if (!s.ok()) return nullptr;
    absl::StatusOr<protocol::TensorSet> model = f->ExportFinalModel(shape.name);
    EXPECT_TRUE(model.ok()) << model.status();
    if (!model.ok()) return nullptr;
    (*cache)[shape.name] = std::move(*model);
    return &(*cache)[shape.name];
  }

  static ConsortiumTemplate suite_;
  int federations_ = 0;
};

ConsortiumTemplate FederationFaultTest::suite_;

void Report(const std::string& key, const std::string& value) {
  ::testing::Test::RecordProperty(key, value);
  std::cout << "[ fault    ] " << key << ": " << value << std::endl;
}

// (a) The undisturbed run finishes, counts each result once, and is reproducible bit for bit:
// the baseline the fault tests compare with.
TEST_F(FederationFaultTest, UndisturbedRunFinishesAndIsReproducible) {
  const StudyShape shape = ReferenceShape();
  const protocol::TensorSet* reference = Reference(shape);
  ASSERT_NE(reference, nullptr);
  EXPECT_GT(reference->size(), 0u);

  std::unique_ptr<ProcessConsortium> f = NewFederation("again");
  ASSERT_NE(f, nullptr);
  ASSERT_TRUE(f->CreateStudy(StudySpec(shape)).ok());
  ASSERT_TRUE(StartNodes(*f, f->aggregator_port()).ok());
  ASSERT_TRUE(f->WatchUntilDone(shape.name, absl::Seconds(120)).ok());
  ExpectAuditClean(*f, shape.name);
  absl::StatusOr<std::vector<AuditRecord>> audit = f->Audit();
  ASSERT_TRUE(audit.ok());
  // init + 3 training rounds + the final evaluation; 1 + 3 * 3 + 3 results.
  EXPECT_EQ(AuditEntries(*audit, shape.name, "round_closed").size(), 5u);
  EXPECT_EQ(AuditEntries(*audit, shape.name, "result_accepted").size(), 13u);
  absl::StatusOr<protocol::TensorSet> again = f->ExportFinalModel(shape.name);
  ASSERT_TRUE(again.ok()) << again.status();
  const ModelDifference d = CompareModels(*reference, *again);
  Report("undisturbed_rerun_vs_reference", d.ToString());
  EXPECT_TRUE(d.bitwise_equal) << "two undisturbed runs differ: " << d.ToString();
}

// (b) The aggregator is SIGKILLed in the middle of a training round (round 1 closed, a result
// of a later round accepted, that round still open) and restarted on the same port with the
// same database: the nodes reconnect, the study finishes with the model of the undisturbed run,
// and no result or round is counted twice.
TEST_F(FederationFaultTest, AggregatorKilledMidRoundRestartsAndFinishesWithTheSameModel) {
  const StudyShape shape = ReferenceShape();
  const protocol::TensorSet* reference = Reference(shape);
  ASSERT_NE(reference, nullptr);

  std::unique_ptr<ProcessConsortium> f = NewFederation("killed-mid-round");
  ASSERT_NE(f, nullptr);
  ASSERT_TRUE(f->CreateStudy(StudySpec(shape)).ok());
  // The last site reaches the aggregator through a proxy that slows its uploads to a crawl once
  // round 1 has closed: round 2 then stays open for seconds with the others' results in, and
  // the kill lands in it (with no slow site the round lasts milliseconds and the kill could come
  // after it closed). The pace changes nothing the sites compute.
  const std::string slow_site = f->site_ids().back();
  auto proxy = ThrottleProxy::Start({f->aggregator_port(), 0, 0, 0});
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  for (const std::string& s : f->site_ids()) {
    ASSERT_TRUE(f->StartNode(s, s == slow_site ? (*proxy)->port() : f->aggregator_port()).ok());
  }
  const std::string log = f->LogPath("aggregator");
  ASSERT_TRUE(WaitUntil([&] { return ReadRounds(log, shape.name).closed.count(1) > 0; },
                        absl::Seconds(90), absl::Milliseconds(2)))
      << "round 1 never closed: " << Describe(ReadRounds(log, shape.name)) << "\n"
      << f->LogTails();
  (*proxy)->SetRates(/*upstream_bytes_per_s=*/20'000, 0);  // a ~300 KB update: ~15 s
  int round = 0;
  ASSERT_TRUE(WaitUntil([&] { return ReadRounds(log, shape.name).MidRound(&round); },
                        absl::Seconds(90), absl::Milliseconds(5)))
      << "never saw a round >= 2 with a result in and still open: "
      << Describe(ReadRounds(log, shape.name)) << "\n"
      << f->LogTails();
  ASSERT_TRUE(f->aggregator()->Kill().ok());
  // The log is complete up to the kill: it shows the state the database was left in.
  const RoundsSeen at_kill = ReadRounds(log, shape.name);
  ASSERT_TRUE(at_kill.MidRound(&round)) << "the kill came too late: " << Describe(at_kill);
  Report("aggregator_killed_at", Describe(at_kill));

  absl::SleepFor(absl::Milliseconds(300));  // the nodes meet a dead aggregator
  (*proxy)->SetRates(0, 0);
  ASSERT_TRUE(f->StartAggregator(f->aggregator_port()).ok()) << f->LogTails();
  const absl::Time restarted = absl::Now();
  ASSERT_TRUE(f->WatchUntilDone(shape.name, absl::Seconds(120)).ok());
  Report("killed_mid_round_restart_to_done", absl::FormatDuration(absl::Now() - restarted));
  ExpectAuditClean(*f, shape.name);
  absl::StatusOr<std::vector<AuditRecord>> audit = f->Audit();
  ASSERT_TRUE(audit.ok());
  EXPECT_EQ(AuditEntries(*audit, shape.name, "round_closed").size(), 5u);
  EXPECT_EQ(AuditEntries(*audit, shape.name, "result_accepted").size(), 13u);

  absl::StatusOr<protocol::TensorSet> model = f->ExportFinalModel(shape.name);
  ASSERT_TRUE(model.ok()) << model.status();
  const ModelDifference d = CompareModels(*reference, *model);
  Report("killed_mid_round_vs_reference", d.ToString());
  EXPECT_TRUE(d.bitwise_equal) << "the final model differs from the undisturbed run's: "
                               << d.ToString();
}

// The nodes reach the aggregator through a proxy whose upstream (uploads) is limited, so that
// an upload of the UploadShape model takes seconds; returns once round 1's uploads have moved
// `bytes_into_round` bytes (and at least one of them is not yet accepted).
struct ThrottledUpload {
  std::unique_ptr<ProcessConsortium> f;
  std::unique_ptr<ThrottleProxy> proxy;
  uint64_t round_start_bytes = 0;  // upstream bytes when round 0 (the init) closed
  uint64_t at_fault_bytes = 0;     // ... at the fault
};

constexpr double kUploadRate = 4e6;  // bytes/s, shared by the three nodes (32 Mbit/s)

void StartThrottledUpload(const std::function<std::unique_ptr<ProcessConsortium>()>& make,
                          uint64_t bytes_into_round, ThrottledUpload* out) {
  const StudyShape shape = UploadShape();
  out->f = make();
  ASSERT_NE(out->f, nullptr);
  auto proxy = ThrottleProxy::Start({out->f->aggregator_port(), 0, kUploadRate, 0});
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  out->proxy = std::move(*proxy);
  ASSERT_TRUE(out->f->CreateStudy(StudySpec(shape)).ok());
  for (const std::string& s : out->f->site_ids()) {
    ASSERT_TRUE(out->f->StartNode(s, out->proxy->port()).ok());
  }
  const std::string log = out->f->LogPath("aggregator");
  ASSERT_TRUE(WaitUntil([&] { return ReadRounds(log, shape.name).closed.count(0) > 0; },
                        absl::Seconds(60), absl::Milliseconds(5)))
      << "the init round did not close\n"
      << out->f->LogTails();
  out->round_start_bytes = out->proxy->upstream_bytes();
  ASSERT_TRUE(WaitUntil(
      [&] { return out->proxy->upstream_bytes() - out->round_start_bytes >= bytes_into_round; },
      absl::Seconds(60), absl::Milliseconds(2)))
      << "round 1's uploads did not start: " << out->proxy->upstream_bytes() << " bytes up\n"
      << out->f->LogTails();
}

// (c) The aggregator is SIGKILLed while the nodes' uploads are flowing, and restarted: the
// uploads are retried, the study finishes, every result is accepted exactly once.
TEST_F(FederationFaultTest, AggregatorKilledMidUploadRestartsAndCountsEachResultOnce) {
  const StudyShape shape = UploadShape();
  ThrottledUpload run;
  StartThrottledUpload([this] { return NewFederation("killed-mid-upload"); }, 3'000'000, &run);
  if (HasFatalFailure()) return;
  ASSERT_TRUE(run.f->aggregator()->Kill().ok());
  run.at_fault_bytes = run.proxy->upstream_bytes();
  const RoundsSeen at_kill = ReadRounds(run.f->LogPath("aggregator"), shape.name);
  ASSERT_LT(at_kill.AcceptedIn(1), 3) << "every upload was in before the kill";
  Report("killed_mid_upload_at", absl::StrCat(run.at_fault_bytes - run.round_start_bytes,
                                              " bytes of round 1 up; ", Describe(at_kill)));

  absl::SleepFor(absl::Milliseconds(500));
  ASSERT_TRUE(run.f->StartAggregator(run.f->aggregator_port()).ok()) << run.f->LogTails();
  const absl::Time restarted = absl::Now();
  ASSERT_TRUE(run.f->WatchUntilDone(shape.name, absl::Seconds(120)).ok());
  Report("killed_mid_upload_restart_to_done", absl::FormatDuration(absl::Now() - restarted));
  ExpectAuditClean(*run.f, shape.name);
  absl::StatusOr<std::vector<AuditRecord>> audit = run.f->Audit();
  ASSERT_TRUE(audit.ok());
  // init + 1 training round + the final evaluation: 1 + 3 + 3 results, 3 rounds.
  EXPECT_EQ(AuditEntries(*audit, shape.name, "round_closed").size(), 3u);
  EXPECT_EQ(AuditEntries(*audit, shape.name, "result_accepted").size(), 7u);
}

// (d) A node is SIGKILLed while it trains; min_sites (2) is below the number of sites (3) and
// the round deadline short: the round closes with the other two at its deadline, the study
// finishes, and the killed site's task is shown expired.
TEST_F(FederationFaultTest, NodeKilledMidTrainingRoundClosesAtTheDeadlineWithTheOthers) {
  // 60 epochs: long enough (about a second) that the kill lands inside the training on a fast,
  // quiet machine too (5 epochs finished within the 100 ms below on an idle EPYC).
  const StudyShape shape = {"ft-node-killed", {256, 256}, 60, 1, 2, 5};
  std::unique_ptr<ProcessConsortium> f = NewFederation("node-killed");
  ASSERT_NE(f, nullptr);
  // The nodes first, the study once all three have registered: the 5 s deadline is for the
  // training round, and it also runs on round 0, which must not expire while LibTorch loads in
  // three node processes on a busy machine (it did under ctest -j2 beside two builds).
  ASSERT_TRUE(StartNodes(*f, f->aggregator_port()).ok());
  for (const std::string& s : f->site_ids()) {
    ASSERT_TRUE(WaitUntil(
        [&] {
          return absl::StrContains(ReadWholeFile(f->LogPath("node-" + s)),
                                   "registered with the aggregator");
        },
        absl::Seconds(120)))
        << f->LogTails();
  }
  ASSERT_TRUE(f->CreateStudy(StudySpec(shape)).ok());
  const std::string victim = "hegp";
  const std::string task = shape.name + "/r1/" + victim;
  const std::string node_log = f->LogPath("node-" + victim);
  ASSERT_TRUE(WaitUntil(
      [&] {
        return absl::StrContains(ReadWholeFile(node_log), "task '" + task + "' (train) started");
      },
      absl::Seconds(60), absl::Milliseconds(5)))
      << f->LogTails();
  // "started" comes before the model's download (a few milliseconds here); then it trains.
  absl::SleepFor(absl::Milliseconds(100));
  ASSERT_TRUE(f->node(victim)->Kill().ok());
  ASSERT_FALSE(absl::StrContains(ReadWholeFile(node_log), "task '" + task + "' done"))
      << "the node finished its task before the kill: train longer";

  ASSERT_TRUE(f->WatchUntilDone(shape.name, absl::Seconds(120)).ok());
  ExpectAuditClean(*f, shape.name);
  absl::StatusOr<std::vector<AuditRecord>> audit = f->Audit();
  ASSERT_TRUE(audit.ok());
  bool sent = false, expired = false;
  for (const AuditRecord& r : *audit) {
    const bool mine = r.task_ids.size() == 1 && r.task_ids[0] == task;
    sent = sent || (mine && r.action == "checkpoint_sent");
    expired = expired || (mine && r.action == "task_expired");
    EXPECT_FALSE(mine && r.action == "result_accepted") << "a result of the killed node's task";
  }
  EXPECT_TRUE(sent) << "the node was killed before it downloaded the model (not while training)";
  EXPECT_TRUE(expired) << task << " was not expired";
  std::vector<AuditRecord> closed = AuditEntries(*audit, shape.name, "round_closed");
  ASSERT_EQ(closed.size(), 3u);
  EXPECT_EQ(closed[1].task_ids.size(), 2u) << "round 1 should close with the two live sites";
  absl::StatusOr<std::string> status = f->Status(shape.name);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(absl::StrContains(*status, "| " + victim + " | expired |")) << *status;

  // The steward's view: the killed task's heartbeats left, so its ledger has their entry,
  // 'pending' with no count (the node died before the task ended); restarted, the node marks it
  // 'interrupted'. Each start's Register is there too.
  const auto beats_entry = [&]() -> nlohmann::json {
    const nlohmann::json ledger = NodeLedgerJson(*f, victim);
    for (const nlohmann::json& e : ledger) {
      if (e.at("kind") == "heartbeat" && e.at("task_id") == task) return e;
    }
    return nullptr;
  };
  nlohmann::json entry = beats_entry();
  ASSERT_FALSE(entry.is_null()) << NodeLedgerJson(*f, victim).dump(2);
  EXPECT_EQ(entry.at("state"), "pending");
  EXPECT_EQ(entry.at("statistics").at("beats"), 0);
  ASSERT_TRUE(f->StartNode(victim, f->aggregator_port()).ok());
  ASSERT_TRUE(WaitUntil(
      [&] { return absl::StrContains(ReadWholeFile(node_log), "are now marked 'interrupted'"); },
      absl::Seconds(120)))
      << f->LogTails();
  f->node(victim)->Stop().IgnoreError();
  entry = beats_entry();
  ASSERT_FALSE(entry.is_null());
  EXPECT_EQ(entry.at("state"), "interrupted");
  int registrations = 0;
  for (const nlohmann::json& e : NodeLedgerJson(*f, victim)) {
    registrations += e.at("kind") == "register";
  }
  EXPECT_GE(registrations, 2);
}

// (e) The link is cut (every connection closed) while uploads are in flight: the nodes retry
// and the round completes, nothing counted twice. How much was sent again is reported.
struct CutOutcome {
  uint64_t before_cut = 0;   // round 1's upstream bytes before the cut
  uint64_t round_total = 0;  // round 1's upstream bytes until it closed
  uint64_t payload = 0;      // one model's bytes
  int64_t resent() const { return static_cast<int64_t>(round_total) - 3 * payload; }
};

void RunCutMidUpload(const std::function<std::unique_ptr<ProcessConsortium>()>& make,
                     CutOutcome* out) {
  const StudyShape shape = UploadShape();
  ThrottledUpload run;
  StartThrottledUpload(make, 6'000'000, &run);
  if (::testing::Test::HasFatalFailure()) return;
  const int cut = run.proxy->CutAll();
  run.at_fault_bytes = run.proxy->upstream_bytes();
  const std::string log = run.f->LogPath("aggregator");
  const RoundsSeen at_cut = ReadRounds(log, shape.name);
  ASSERT_GT(cut, 0);
  ASSERT_LT(at_cut.AcceptedIn(1), 3) << "every upload was in before the cut";
  uint64_t at_close = 0;
  ASSERT_TRUE(WaitUntil(
      [&] {
        at_close = run.proxy->upstream_bytes();
        return ReadRounds(log, shape.name).closed.count(1) > 0;
      },
      absl::Seconds(90), absl::Milliseconds(5)))
      << "round 1 did not close after the cut\n"
      << run.f->LogTails();
  ASSERT_TRUE(run.f->WatchUntilDone(shape.name, absl::Seconds(120)).ok());
  ExpectAuditClean(*run.f, shape.name);
  absl::StatusOr<std::vector<AuditRecord>> audit = run.f->Audit();
  ASSERT_TRUE(audit.ok());
  EXPECT_EQ(AuditEntries(*audit, shape.name, "result_accepted").size(), 7u);
  absl::StatusOr<protocol::TensorSet> model = run.f->ExportFinalModel(shape.name);
  ASSERT_TRUE(model.ok()) << model.status();
  out->payload = model->TotalBytes();
  out->before_cut = run.at_fault_bytes - run.round_start_bytes;
  out->round_total = at_close - run.round_start_bytes;
  Report("cut_mid_upload",
         absl::StrCat(cut, " connections cut after ", out->before_cut,
                      " bytes of round 1's uploads; round 1 moved ", out->round_total,
                      " bytes up for 3 results of ", out->payload, " bytes: ", out->resent(),
                      " bytes beyond the payloads (",
                      out->resent() * 2 < static_cast<int64_t>(out->before_cut)
                          ? "resumed"
                          : "restarted from zero",
                      ")"));
}

TEST_F(FederationFaultTest, ConnectionCutMidUploadIsRetriedAndTheRoundCompletes) {
  CutOutcome outcome;
  RunCutMidUpload([this] { return NewFederation("cut-mid-upload"); }, &outcome);
}

// Issue 13's transfer resume (an interrupted upload goes on from its last verified chunk). On
// the code before it, an interrupted upload starts again from zero and this test fails: the
// bytes sent again are about those sent before the cut. With resume, each interrupted upload
// sends again at most a chunk or so, far less than half of what had been sent before the cut.
TEST_F(FederationFaultTest, ConnectionCutMidUploadResumesFromTheLastChunk) {
  CutOutcome outcome;
  RunCutMidUpload([this] { return NewFederation("cut-resume"); }, &outcome);
  if (HasFatalFailure()) return;
  EXPECT_LT(outcome.resent() * 2, static_cast<int64_t>(outcome.before_cut))
      << "the retried uploads sent " << outcome.resent() << " bytes beyond the payloads, "
      << "after " << outcome.before_cut << " bytes before the cut: they restarted from zero";
}

}  // namespace
}  // namespace scancov::testing_process
