#include "node/secagg_step.h"

#include <cmath>
#include <thread>

#include "gtest/gtest.h"
#include "node/secagg_session.h"
#include "node/secagg_test_aggregator.h"
#include "sites/pki/certificate_authority.h"

namespace scancov::node {
namespace {

using protocol::DType;
using protocol::TensorSet;
using testing::SecAggSiteClient;
using testing::SecAggTestAggregator;

constexpr int kFractionalBits = 20;

sites::CertificateAndKey MakeCa(const std::string& consortium) {
  absl::StatusOr<sites::CertificateAndKey> ca = sites::CreateCertificateAuthority({consortium});
  EXPECT_TRUE(ca.ok()) << ca.status();
  return *ca;
}

sites::CertificateAndKey Issue(const sites::CertificateAndKey& ca, const std::string& id) {
  sites::IssueOptions options;
  options.id = id;
  absl::StatusOr<sites::CertificateAndKey> cert = sites::IssueCertificate(ca, options);
  EXPECT_TRUE(cert.ok()) << cert.status();
  return *cert;
}

// The consortium: a CA and sites "site-a", "site-b", ... with keys and certificates (cached:
// key generation is the slow part).
struct Consortium {
  sites::CertificateAndKey ca = MakeCa("test-consortium");
  std::vector<std::string> ids;
  std::map<std::string, sites::CertificateAndKey> certs;
};
const Consortium& TestConsortium() {
  static const Consortium* c = [] {
    auto* c = new Consortium;
    for (char s = 'a'; s <= 'e'; ++s) {
      c->ids.push_back(std::string("site-") + s);
      c->certs[c->ids.back()] = Issue(c->ca, c->ids.back());
    }
    return c;
  }();
  return *c;
}

std::string PrivacyJson(int threshold, int neighbours) {
  return absl::StrCat(R"({"secure_aggregation": {"threshold": )", threshold,
                      R"(, "fractional_bits": )", kFractionalBits,
                      R"(, "max_abs_value": 10000, "neighbours": )", neighbours, "}}");
}

v1::Task TrainTask(int threshold, int neighbours = 0) {
  v1::Task task;
  task.set_task_id("t-7");
  task.set_study_id("study-1");
  task.set_round(2);
  task.set_kind(v1::TASK_KIND_TRAIN);
  task.set_privacy_json(PrivacyJson(threshold, neighbours));
  return task;
}

SecAggSettings Settings(const v1::Task& task) {
  absl::StatusOr<std::optional<SecAggSettings>> s = TaskSecAggSettings(task);
  EXPECT_TRUE(s.ok() && s->has_value()) << s.status();
  return s.ok() && s->has_value() ? **s : SecAggSettings{};
}

// A model with a float32, a float64 and an int64 tensor (as BatchNorm's counter).
TensorSet Model(double shift) {
  TensorSet set;
  std::vector<double> w, b;
  for (int i = 0; i < 6; ++i) w.push_back(0.1 * i + shift * std::sin(i + 1));
  for (int i = 0; i < 3; ++i) b.push_back(-0.2 * i + shift * std::cos(i));
  EXPECT_TRUE(set.Add(protocol::FromDoubles("conv.w", {2, 3}, DType::kFloat32, w)).ok());
  EXPECT_TRUE(set.Add(protocol::FromDoubles("bn.mean", {3}, DType::kFloat64, b)).ok());
  EXPECT_TRUE(set.Add(protocol::FromDoubles("bn.count", {1}, DType::kInt64, {5 + shift})).ok());
  return set;
}

Release TrainedRelease(const v1::Task& task, double shift, uint64_t samples) {
  Release release;
  release.header.set_task_id(task.task_id());
  release.header.set_num_samples(samples);
  release.header.set_has_weights(true);
  (*release.header.mutable_metrics())["local.train_loss"] = 0.5;
  release.weights = Model(shift);
  return release;
}

v1::SecAggSession Session(const v1::Task& task, const std::vector<std::string>& ids, int threshold,
                          int neighbours = 0) {
  v1::SecAggSession session;
  session.set_study_id(task.study_id());
  session.set_round(task.round());
  for (const std::string& id : ids) {
    v1::SecAggParticipant* p = session.add_participants();
    p->set_site_id(id);
    p->set_certificate_pem(TestConsortium().certs.at(id).certificate_pem);
  }
  session.set_threshold(threshold);
  session.set_vector_length(protocol::NumElements({2, 3}) + 3 + 1);
  session.set_fractional_bits(kFractionalBits);
  session.set_max_abs_value(10000);
  session.set_neighbours(neighbours);
  session.set_graph_seed(99);
  return session;
}

SecAggIdentity Identity(const std::string& id) {
  return {id, TestConsortium().certs.at(id).private_key_pem, TestConsortium().ca.certificate_pem};
}

// One site: its own fake clock (waits are instant), retrier and step.
struct Site {
  Site(SecAggIdentity identity, protocol::FederationClient* client)
      : clock(absl::Now()),  // the test certificates are valid now, not at FakeClock's default
        retrier({&clock, absl::Milliseconds(1), absl::Milliseconds(10), 3, 1}, nullptr),
        step(client, &retrier, std::move(identity)) {}
  FakeClock clock;
  Retrier retrier;
  SecAggStep step;
};

SecAggStep::UploadFn UploadVia(protocol::FederationClient* client) {
  return
      [client](const Release& r) { return client->UploadResult(r.header, &*r.weights).status(); };
}

// Runs a federation of `n` sites on threads; the sites in `dropouts` lose their upload (the
// node died after masking). Checks the aggregate against the plain sum of the others.
void RunFederation(int n, int threshold, int neighbours, std::set<std::string> dropouts) {
  const v1::Task task = TrainTask(threshold, neighbours);
  const std::vector<std::string> ids(TestConsortium().ids.begin(),
                                     TestConsortium().ids.begin() + n);
  std::set<std::string> uploaders;
  for (const std::string& id : ids) {
    if (dropouts.count(id) == 0) uploaders.insert(id);
  }
  SecAggTestAggregator aggregator(Session(task, ids, threshold, neighbours), uploaders);
  const TensorSet global = Model(0);
  std::vector<double> expected(10, 0.0);
  std::map<std::string, SecAggStep::Outcome> outcomes;
  std::vector<std::thread> threads;
  absl::Mutex mu;
  for (int i = 0; i < n; ++i) {
    const Release release = TrainedRelease(task, 0.1 * (i + 1), 100 + 10 * i);
    // The FedAvg numerator, tensor by tensor: num_samples x (trained - global).
    for (size_t k = 0, j = 0; uploaders.count(ids[i]) > 0 && k < global.size(); ++k) {
      const std::vector<double> g = protocol::ToDoubles(global.tensors()[k]);
      const std::vector<double> t = protocol::ToDoubles(release.weights->tensors()[k]);
      for (size_t e = 0; e < g.size(); ++e, ++j) {
        expected[j] += release.header.num_samples() * (t[e] - g[e]);
      }
    }
    threads.emplace_back([&, id = ids[i], release] {
      SecAggSiteClient client(&aggregator, id);
      Site site(Identity(id), &client);
      SecAggStep::UploadFn upload = UploadVia(&client);
      if (dropouts.count(id) > 0)
        upload = [](const Release&) { return absl::CancelledError("node killed"); };
      absl::StatusOr<SecAggPayload> payload =
          SecAggPayloadOf(task, &global, release.header, release.weights);
      ASSERT_TRUE(payload.ok()) << payload.status();
      SecAggStep::Outcome out = site.step.Run(task, Settings(task), *payload, release, upload);
      absl::MutexLock lock(&mu);
      outcomes[id] = out;
    });
  }
  for (std::thread& t : threads) t.join();
  for (const std::string& id : ids) {
    const bool dropped = dropouts.count(id) > 0;
    EXPECT_EQ(outcomes[id].uploaded, !dropped) << id;
    EXPECT_EQ(outcomes[id].status.ok(), !dropped) << id << ": " << outcomes[id].status;
  }
  std::optional<privacy::secagg::SecAggResult> result = aggregator.result();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->included, std::vector<std::string>(uploaders.begin(), uploaders.end()));
  ASSERT_EQ(result->sum.size(), expected.size());
  const double tolerance = n * std::ldexp(1.0, -kFractionalBits);
  for (size_t j = 0; j < expected.size(); ++j) {
    EXPECT_NEAR(result->sum[j], expected[j], tolerance) << "element " << j;
  }
  EXPECT_EQ(aggregator.headers().size(), uploaders.size());
  for (const auto& [id, header] : aggregator.headers()) {
    EXPECT_EQ(header.task_id(), task.task_id());
    EXPECT_GT(header.metrics().count("local.train_loss"), 0u);
  }
}

TEST(SecAggStepTest, FourSitesSumTheirWeightedUpdates) { RunFederation(4, 3, 0, {}); }

TEST(SecAggStepTest, ASiteThatDiesAfterMaskingIsLeftOutOfTheSum) {
  RunFederation(4, 3, 0, {"site-d"});
}

TEST(SecAggStepTest, SecAggPlusNeighbourhoodsOfFiveSites) { RunFederation(5, 2, 2, {}); }

// Answers every SecAgg call with `answer` and records what was asked and uploaded.
class ScriptedClient : public SecAggSiteClient {
 public:
  explicit ScriptedClient(v1::SecAggResponse answer)
      : SecAggSiteClient(nullptr, "site-a"), answer_(std::move(answer)) {}
  absl::StatusOr<v1::SecAggResponse> SecAgg(const v1::SecAggRequest& request) override {
    phases_.push_back(request.phase());
    return answer_;
  }
  absl::StatusOr<v1::UploadResponse> UploadResult(const v1::UploadHeader&,
                                                  const TensorSet*) override {
    ++uploads_;
    return v1::UploadResponse();
  }
  std::vector<v1::SecAggPhase> phases_;
  int uploads_ = 0;

 private:
  v1::SecAggResponse answer_;
};

v1::SecAggResponse Answer(const v1::SecAggSession& session) {
  v1::SecAggResponse r;
  *r.mutable_session() = session;
  return r;
}

// Site "site-a" runs a task of a study with threshold 3 against a scripted aggregator; the
// step must fail before anything leaves, with an error that contains `why`.
void ExpectRefused(const v1::SecAggResponse& answer, const std::string& why,
                   absl::StatusCode code = absl::StatusCode::kPermissionDenied,
                   int64_t deadline_unix = 0, SecAggIdentity me = Identity("site-a")) {
  v1::Task task = TrainTask(3);
  task.set_deadline_unix(deadline_unix);
  ScriptedClient client(answer);
  Site site(std::move(me), &client);
  const TensorSet global = Model(0);
  const Release release = TrainedRelease(task, 0.3, 50);
  absl::StatusOr<SecAggPayload> payload =
      SecAggPayloadOf(task, &global, release.header, release.weights);
  ASSERT_TRUE(payload.ok()) << payload.status();
  SecAggStep::Outcome out =
      site.step.Run(task, Settings(task), *payload, release, UploadVia(&client));
  EXPECT_EQ(out.status.code(), code) << out.status;
  EXPECT_NE(out.status.message().find(why), absl::string_view::npos) << out.status;
  EXPECT_FALSE(out.uploaded);
  EXPECT_EQ(client.uploads_, 0);
  for (v1::SecAggPhase phase : client.phases_) EXPECT_EQ(phase, v1::SECAGG_SESSION);
}

const std::vector<std::string> kThree = {"site-a", "site-b", "site-c"};

TEST(SecAggStepTest, ASessionWithALowerThresholdThanTheStudysIsRefused) {
  ExpectRefused(Answer(Session(TrainTask(3), kThree, 2)), "threshold 2 is not the study's 3");
}

TEST(SecAggStepTest, ASessionThatChangesTheFixedPointOrNeighboursIsRefused) {
  v1::SecAggSession coarse = Session(TrainTask(3), kThree, 3);
  coarse.set_fractional_bits(8);
  ExpectRefused(Answer(coarse), "fractional_bits");
  v1::SecAggSession wide = Session(TrainTask(3), kThree, 3);
  wide.set_max_abs_value(1e9);
  ExpectRefused(Answer(wide), "max_abs_value");
  v1::SecAggSession other_round = Session(TrainTask(3), kThree, 3);
  other_round.set_round(3);
  ExpectRefused(Answer(other_round), "round");
  v1::SecAggSession longer = Session(TrainTask(3), kThree, 3);
  longer.set_vector_length(11);
  ExpectRefused(Answer(longer), "vector_length");
}

TEST(SecAggStepTest, AParticipantCertificateFromAnotherCaIsRefused) {
  v1::SecAggSession session = Session(TrainTask(3), kThree, 3);
  static const sites::CertificateAndKey* rogue = new sites::CertificateAndKey(MakeCa("rogue"));
  session.mutable_participants(1)->set_certificate_pem(Issue(*rogue, "site-b").certificate_pem);
  ExpectRefused(Answer(session), "participant 'site-b': certificate refused");
}

TEST(SecAggStepTest, AParticipantWhoseCertificateNamesAnotherSiteIsRefused) {
  v1::SecAggSession session = Session(TrainTask(3), kThree, 3);
  session.mutable_participants(1)->set_certificate_pem(
      TestConsortium().certs.at("site-d").certificate_pem);
  ExpectRefused(Answer(session), "participant 'site-b': the certificate names site:site-d");
}

TEST(SecAggStepTest, AParticipantRevokedByTheConsortiumIsRefused) {
  SecAggIdentity me = Identity("site-a");
  const std::string revoked = TestConsortium().certs.at("site-c").certificate_pem;
  me.check_revocation = [revoked](absl::string_view pem) {
    return pem == revoked ? absl::UnauthenticatedError("serial 42 revoked (keyCompromise)")
                          : absl::OkStatus();
  };
  ExpectRefused(Answer(Session(TrainTask(3), kThree, 3)),
                "participant 'site-c': certificate refused: serial 42 revoked",
                absl::StatusCode::kPermissionDenied, 0, me);
}

TEST(SecAggStepTest, ASessionWithoutThisSiteIsRefused) {
  ExpectRefused(Answer(Session(TrainTask(3), {"site-b", "site-c", "site-d"}, 3)),
                "this site ('site-a') is not a participant");
}

TEST(SecAggStepTest, StopAtSessionEndsTheTaskWithoutUpload) {
  v1::SecAggResponse stop;
  stop.mutable_stop()->set_reason("too few sites for the threshold");
  ExpectRefused(stop, "too few sites for the threshold", absl::StatusCode::kFailedPrecondition);
}

TEST(SecAggStepTest, WaitingEndsAtTheTasksDeadline) {
  v1::SecAggResponse wait;
  wait.mutable_wait()->set_wait_ms(1000);
  ExpectRefused(wait, "deadline", absl::StatusCode::kDeadlineExceeded,
                absl::ToUnixSeconds(absl::Now()) + 60);
}

TEST(SecAggStepTest, TheVectorIsTheWeightedUpdateAndRefusesAnotherLayout) {
  const TensorSet global = Model(0);
  const TensorSet trained = Model(0.5);
  absl::StatusOr<std::vector<double>> x = SecAggVector(global, trained, 20);
  ASSERT_TRUE(x.ok()) << x.status();
  ASSERT_EQ(x->size(), 10u);
  const std::vector<double> g = protocol::ToDoubles(global.tensors()[1]);
  const std::vector<double> t = protocol::ToDoubles(trained.tensors()[1]);
  EXPECT_DOUBLE_EQ((*x)[6 + 2], 20 * (t[2] - g[2]));  // bn.mean[2], after conv.w's 6
  TensorSet reshaped;
  ASSERT_TRUE(reshaped
                  .Add(protocol::FromDoubles("conv.w", {3, 2}, DType::kFloat32,
                                             std::vector<double>(6, 0.0)))
                  .ok());
  ASSERT_TRUE(reshaped.Add(global.tensors()[1]).ok());
  ASSERT_TRUE(reshaped.Add(global.tensors()[2]).ok());
  EXPECT_EQ(SecAggVector(global, reshaped, 20).status().code(),
            absl::StatusCode::kFailedPrecondition);
  TensorSet fewer;
  ASSERT_TRUE(fewer.Add(global.tensors()[0]).ok());
  EXPECT_EQ(SecAggVector(global, fewer, 20).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(SecAggVector(global, trained, 0).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(SecAggStepTest, MaskedTensorsRoundTripAsInt64) {
  const TensorSet global = Model(0);
  std::vector<uint64_t> ring(10);
  for (size_t i = 0; i < ring.size(); ++i) ring[i] = 0xfedcba9876543210ull * (i + 1);
  absl::StatusOr<TensorSet> masked = MaskedTensors(global, ring);
  ASSERT_TRUE(masked.ok()) << masked.status();
  ASSERT_EQ(masked->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(masked->tensors()[i].name, global.tensors()[i].name);
    EXPECT_EQ(masked->tensors()[i].shape, global.tensors()[i].shape);
    EXPECT_EQ(masked->tensors()[i].dtype, DType::kInt64);
  }
  EXPECT_EQ(*RingElements(*masked), ring);
  ring.pop_back();
  EXPECT_FALSE(MaskedTensors(global, ring).ok());
}

TEST(SecAggStepTest, StudyOptionsParse) {
  v1::Task task = TrainTask(3, 2);
  SecAggSettings s = Settings(task);
  EXPECT_EQ(s.threshold, 3);
  EXPECT_EQ(s.fractional_bits, kFractionalBits);
  EXPECT_EQ(s.max_abs_value, 10000);
  EXPECT_EQ(s.neighbours, 2);
  task.set_kind(v1::TASK_KIND_EVALUATE);
  EXPECT_FALSE(TaskSecAggSettings(task)->has_value());
  task.set_kind(v1::TASK_KIND_TRAIN);
  task.set_privacy_json(R"({"dp": {}})");
  EXPECT_FALSE(TaskSecAggSettings(task)->has_value());
  for (const char* bad : {R"({"secure_aggregation": {"threshold": 3, "bits": 4}})",
                          R"({"secure_aggregation": {"fractional_bits": 4}})",
                          R"({"secure_aggregation": {"threshold": 0}})",
                          R"({"secure_aggregation": {"threshold": 2, "max_abs_value": -1}})",
                          R"({"secure_aggregation": 3})"}) {
    task.set_privacy_json(bad);
    EXPECT_EQ(TaskSecAggSettings(task).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace scancov::node
