// The fixture of the Federation's secure-aggregation tests: three sites (kb, igr, hegp) with
// real keys and certificates that run the protocol of privacy/secagg against the Federation in
// process, as node/secagg_step.h does over gRPC.
#ifndef SCANCOV_AGGREGATOR_SERVER_FEDERATION_SECAGG_FIXTURE_H_
#define SCANCOV_AGGREGATOR_SERVER_FEDERATION_SECAGG_FIXTURE_H_

#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "aggregator/server/federation_fixture.h"
#include "aggregator/server/strategy_ring_sum.h"
#include "gtest/gtest.h"
#include "privacy/secagg/client.h"
#include "privacy/secagg/test_sites.h"

namespace scancov::aggregator {
namespace testing_fixture {

namespace sa = privacy::secagg;

inline constexpr char kSecAgg[] =
    R"({"secure_aggregation": {"threshold": 2, "fractional_bits": 20, "max_abs_value": 10000}})";

// One site's node, as far as secure aggregation goes (node/secagg_step.h does this for real).
struct Site {
  std::string id;
  sa::test_sites::TestSite keys;
  std::unique_ptr<InProcessFederationClient> client;
  v1::Task task;
  TensorSet global;
  std::vector<double> update;  // num_samples x (trained - global), the vector summed
  uint64_t samples = 0;
  std::optional<sa::SecAggClient> secagg;
  std::string pending;           // the next message to send
  std::vector<uint64_t> masked;  // the masked vector
  TensorSet ring;
};

class SecAggFederationTest : public FederationTest {
 protected:
  void SetUp() override {
    FederationTest::SetUp();
    Enroll();
    for (const char* id : {"kb", "igr", "hegp"}) {
      Site& s = sites_[id];
      s.id = id;
      s.keys = sa::test_sites::MakeTestSite(id);
      s.client = std::make_unique<InProcessFederationClient>(
          federation_.get(), Caller{Caller::Role::kSite, id, s.keys.cert_pem}, 16);
    }
  }

  void CreateSecure(uint32_t rounds, uint32_t min_sites = 3,
                    const std::string& privacy_json = kSecAgg) {
    v1::StudySpec spec = Spec("s1", rounds, 0, min_sites);
    spec.set_privacy_json(privacy_json);
    spec.set_wait_after_min_s(5);
    Create(spec);
    Step("kb", 0, 1);  // the initial model (0, 0)
  }

  // Pulls the site's task of the round and the round's model.
  void Pull(Site& s) {
    auto pulled = s.client->PullTask();
    ASSERT_TRUE(pulled.ok() && pulled->has_task()) << s.id;
    s.task = pulled->task();
    auto global = s.client->DownloadWeights(s.task.task_id(), s.task.checkpoint_id());
    ASSERT_TRUE(global.ok()) << global.status();
    s.global = *global;
  }

  // Pulls the round's task and "trains": global + (delta, -delta) on `samples`.
  void Train(Site& s, float delta, uint64_t samples) {
    Pull(s);
    s.samples = samples;
    s.update.clear();
    for (const protocol::Tensor& t : s.global.tensors()) {
      for (size_t i = 0; i < ToDoubles(t).size(); ++i) {
        const double d = t.name == "w" ? (i == 0 ? delta : -delta) : 0.0;
        s.update.push_back(static_cast<double>(samples) * d);
      }
    }
  }

  v1::SecAggResponse Call(Site& s, v1::SecAggPhase phase, std::string message = "") {
    v1::SecAggRequest r;
    r.set_task_id(s.task.task_id());
    r.set_phase(phase);
    r.set_message(std::move(message));
    auto response = s.client->SecAgg(r);
    EXPECT_TRUE(response.ok()) << s.id << ": " << response.status();
    return response.ok() ? *response : v1::SecAggResponse();
  }

  sa::SecAggConfig ConfigOf(const v1::SecAggSession& session) {
    sa::SecAggConfig c;
    c.study_id = session.study_id();
    c.round = session.round();
    for (const auto& p : session.participants())
      c.sites.push_back({p.site_id(), p.certificate_pem()});
    c.threshold = static_cast<int>(session.threshold());
    c.vector_length = session.vector_length();
    c.fixed_point = {static_cast<int>(session.fractional_bits()), session.max_abs_value(),
                     session.participants_size()};
    c.neighbours = static_cast<int>(session.neighbours());
    c.graph_seed = session.graph_seed();
    return c;
  }

  // Every site in `ids` sends its message of `phase` until none is told to wait.
  void Phase(const std::vector<std::string>& ids, v1::SecAggPhase phase,
             const std::function<std::string(Site&)>& message,
             const std::function<void(Site&, const v1::SecAggResponse&)>& answer) {
    std::set<std::string> waiting(ids.begin(), ids.end());
    for (int attempt = 0; attempt < 20 && !waiting.empty(); ++attempt) {
      for (const std::string& id : std::set<std::string>(waiting)) {
        Site& s = sites_[id];
        const v1::SecAggResponse r = Call(s, phase, message(s));
        if (r.has_wait()) continue;
        answer(s, r);
        waiting.erase(id);
      }
      clock_.Advance(absl::Seconds(1));
    }
    ASSERT_TRUE(waiting.empty()) << "phase " << phase << " never closed";
  }

  // The protocol up to the masked uploads: every site in `ids` takes part until it has shared
  // keys; only `uploaders` then mask and upload (the others drop out).
  void Mask(const std::vector<std::string>& ids, const std::vector<std::string>& uploaders) {
    Phase(
        ids, v1::SECAGG_SESSION, [](Site&) { return std::string(); },
        [&](Site& s, const v1::SecAggResponse& r) {
          ASSERT_TRUE(r.has_session()) << s.id;
          auto client = sa::SecAggClient::Create(ConfigOf(r.session()), s.id, s.keys.key_pem);
          ASSERT_TRUE(client.ok()) << client.status();
          s.secagg.emplace(std::move(*client));
          s.pending = s.secagg->AdvertiseKeys()->Serialize();
        });
    Phase(
        ids, v1::SECAGG_ADVERTISE, [](Site& s) { return s.pending; },
        [](Site& s, const v1::SecAggResponse& r) {
          auto list = sa::AdvertList::Parse(r.message());
          ASSERT_TRUE(list.ok()) << list.status();
          auto shares = s.secagg->ShareKeys(*list);
          ASSERT_TRUE(shares.ok()) << shares.status();
          s.pending = shares->Serialize();
        });
    Phase(
        ids, v1::SECAGG_SHARE_KEYS, [](Site& s) { return s.pending; },
        [](Site& s, const v1::SecAggResponse& r) {
          auto bundle = sa::ShareBundle::Parse(r.message());
          ASSERT_TRUE(bundle.ok()) << bundle.status();
          auto masked = s.secagg->MaskInput(*bundle, s.update);
          ASSERT_TRUE(masked.ok()) << masked.status();
          s.masked = masked->masked;
        });
    for (const std::string& id : uploaders) {
      Site& s = sites_[id];
      v1::UploadHeader header;
      header.set_task_id(s.task.task_id());
      header.set_num_samples(s.samples);
      (*header.mutable_metrics())["val_auc"] = 0.6;
      auto up = s.client->UploadResult(header, &Ring(s));
      ASSERT_TRUE(up.ok()) << id << ": " << up.status();
    }
  }

  // The masked vector as the upload: the model's names and shapes, int64.
  const TensorSet& Ring(Site& s) {
    s.ring = TensorSet();
    size_t at = 0;
    for (const protocol::Tensor& t : s.global.tensors()) {
      protocol::Tensor r{t.name, t.shape, protocol::DType::kInt64, {}};
      const size_t n = static_cast<size_t>(t.NumElements());
      r.bytes.resize(8 * n);
      std::memcpy(r.bytes.data(), s.masked.data() + at, 8 * n);
      at += n;
      EXPECT_TRUE(s.ring.Add(std::move(r)).ok());
    }
    return s.ring;
  }

  void Unmask(const std::vector<std::string>& ids) {
    Phase(
        ids, v1::SECAGG_UNMASK_REQUEST, [](Site&) { return std::string(); },
        [](Site& s, const v1::SecAggResponse& r) {
          auto request = sa::UnmaskRequest::Parse(r.message());
          ASSERT_TRUE(request.ok()) << s.id << ": " << r.DebugString();
          auto response = s.secagg->Unmask(*request);
          ASSERT_TRUE(response.ok()) << response.status();
          s.pending = response->Serialize();
        });
    Phase(
        ids, v1::SECAGG_UNMASK, [](Site& s) { return s.pending; },
        [](Site&, const v1::SecAggResponse&) {});
  }

  std::vector<double> Model(const std::string& checkpoint) {
    auto c = federation_->GetCheckpoint(kCoordinator, "s1", checkpoint);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? ToDoubles(*c->Find("w")) : std::vector<double>();
  }

  std::map<std::string, Site> sites_;
};

}  // namespace testing_fixture
}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_SERVER_FEDERATION_SECAGG_FIXTURE_H_
