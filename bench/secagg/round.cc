#include "bench/secagg/round.h"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/status_macros.h"
#include "privacy/secagg/client.h"
#include "privacy/secagg/mask_generator.h"
#include "privacy/secagg/server.h"
#include "privacy/secagg/test_sites.h"

namespace scancov::bench::secagg {
namespace {

namespace sa = ::scancov::privacy::secagg;
using Clock = std::chrono::steady_clock;

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

class Stopwatch {
 public:
  Cost Elapsed() const {
    return Cost{std::chrono::duration<double>(Clock::now() - wall0_).count(),
                ThreadCpuSeconds() - cpu0_};
  }

 private:
  Clock::time_point wall0_ = Clock::now();
  double cpu0_ = ThreadCpuSeconds();
};

void AddTo(Cost& total, const Cost& c) {
  total.wall_s += c.wall_s;
  total.cpu_s += c.cpu_s;
}

Cost MedianOf(std::vector<Cost> v) {
  std::vector<double> wall, cpu;
  for (const Cost& c : v) wall.push_back(c.wall_s), cpu.push_back(c.cpu_s);
  std::sort(wall.begin(), wall.end());
  std::sort(cpu.begin(), cpu.end());
  return Cost{wall[wall.size() / 2], cpu[cpu.size() / 2]};
}

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// The median cost of three runs of `f` (which returns a Status).
template <typename F>
absl::StatusOr<Cost> MedianCost(F f) {
  std::vector<Cost> costs;
  for (int rep = 0; rep < 3; ++rep) {
    Stopwatch s;
    SCV_RETURN_IF_ERROR(f(rep));
    costs.push_back(s.Elapsed());
  }
  return MedianOf(std::move(costs));
}

// The parts MaskInput and Finish are made of, each over the full vector, so that the report can
// set a model beside the measured steps.
absl::Status Calibrate(const sa::FixedPointCodec& codec, size_t elements, RoundReport& report) {
  std::vector<uint64_t> acc(elements, 1), other(elements, 2);
  std::vector<double> values(elements, 0.5);
  uint64_t sink = 0;
  SCV_ASSIGN_OR_RETURN(report.fresh_vector, MedianCost([&](int) {
                         std::vector<uint64_t> fresh(elements);
                         asm volatile("" : : "r"(fresh.data()) : "memory");  // not elided
                         return absl::OkStatus();
                       }));
  SCV_ASSIGN_OR_RETURN(report.encode, MedianCost([&](int) {
                         return codec.EncodeInto(values, absl::MakeSpan(other));
                       }));
  SCV_ASSIGN_OR_RETURN(report.stream, MedianCost([&](int rep) {
                         sa::Bytes32 seed{};
                         seed[0] = static_cast<uint8_t>(rep);
                         return sa::ApplyMask(seed, sa::MaskSign::kAdd, absl::MakeSpan(acc));
                       }));
  SCV_ASSIGN_OR_RETURN(report.add_pass, MedianCost([&](int) {
                         for (size_t i = 0; i < elements; ++i) acc[i] += other[i];
                         return absl::OkStatus();
                       }));
  SCV_ASSIGN_OR_RETURN(report.decode, MedianCost([&](int) {
                         sink += codec.Decode(acc)[elements / 2] > 0 ? 1 : 0;
                         return absl::OkStatus();
                       }));
  // Keeps the loops above observable.
  if (sink + acc[elements / 2] == 0x5eed) report.add_pass.wall_s += 1e-12;
  return absl::OkStatus();
}

class Round {
 public:
  explicit Round(const RoundOptions& options) : o_(options) {}

  absl::Status Setup();
  absl::Status Advertise();
  absl::Status Share();
  absl::Status Mask();
  absl::Status Unmask();
  absl::Status Finish();
  bool Completes() const { return o_.masking_sites == 0 || o_.masking_sites >= Survivors(); }
  RoundReport TakeReport() { return std::move(report_); }

 private:
  int Survivors() const { return o_.sites - o_.dropouts; }
  void FillInput(int site, std::vector<double>& x) const;
  absl::Status AddExpected(const std::vector<double>& x);
  absl::Status MaskOne(int site, std::vector<double>& x, Cost& receive);

  RoundOptions o_;
  std::vector<std::string> ids_;
  std::optional<sa::SecAggRoster> roster_;
  std::optional<sa::SecAggServer> server_;
  std::vector<sa::SecAggClient> clients_;
  sa::AdvertList list_;
  std::map<std::string, sa::ShareBundle> bundles_;
  std::map<std::string, sa::UnmaskRequest> requests_;
  std::vector<uint64_t> expected_;
  RoundReport report_;
};

int DefaultThreshold(int sites, int neighbours) {
  const int group = (neighbours == 0 ? sites - 1 : neighbours) + 1;
  return group / 2 + 1;
}

absl::Status Round::Setup() {
  if (o_.dropouts < 0 || o_.dropouts >= o_.sites) {
    return absl::InvalidArgumentError(
        absl::StrCat("bench_secagg: ", o_.dropouts, " dropouts of ", o_.sites, " sites"));
  }
  sa::SecAggConfig config;
  config.study_id = "bench-study";
  config.round = 1;
  config.threshold = o_.threshold > 0 ? o_.threshold : DefaultThreshold(o_.sites, o_.neighbours);
  config.vector_length = o_.elements;
  config.neighbours = o_.neighbours;
  config.graph_seed = 7;
  std::vector<sa::test_sites::TestSite> sites;
  for (int i = 0; i < o_.sites; ++i) {
    ids_.push_back(absl::StrFormat("site-%03d", i));
    sites.push_back(sa::test_sites::MakeTestSite(ids_.back()));
    config.sites.push_back({ids_.back(), sites.back().cert_pem});
  }
  SCV_ASSIGN_OR_RETURN(roster_, sa::SecAggRoster::Create(config));
  SCV_ASSIGN_OR_RETURN(server_, sa::SecAggServer::Create(config));
  for (int i = 0; i < o_.sites; ++i) {
    SCV_ASSIGN_OR_RETURN(sa::SecAggClient client,
                         sa::SecAggClient::Create(config, ids_[i], sites[i].key_pem));
    clients_.push_back(std::move(client));
  }
  report_.threshold = config.threshold;
  report_.survivors = Survivors();
  if (Completes()) expected_.assign(o_.elements, 0);
  return Calibrate(roster_->codec(), o_.elements, report_);
}

absl::Status Round::Advertise() {
  SiteStep step{"AdvertiseKeys", {}};
  WireRow advert{"KeyAdvert", "site -> server", {}};
  Cost receive;
  for (sa::SecAggClient& client : clients_) {
    Stopwatch s;
    absl::StatusOr<sa::KeyAdvert> a = client.AdvertiseKeys();
    step.costs.push_back(s.Elapsed());
    if (!a.ok()) return a.status();
    advert.bytes.push_back(a->Serialize().size());
    Stopwatch r;
    SCV_RETURN_IF_ERROR(server_->ReceiveAdvert(*a));
    AddTo(receive, r.Elapsed());
  }
  Stopwatch c;
  SCV_ASSIGN_OR_RETURN(list_, server_->CloseAdvertising());
  report_.server_steps.push_back({"ReceiveAdvert (all sites)", o_.sites, receive});
  report_.server_steps.push_back({"CloseAdvertising", 1, c.Elapsed()});
  report_.site_steps.push_back(std::move(step));
  report_.wire.push_back(std::move(advert));
  report_.wire.push_back(
      {"AdvertList", "server -> site", std::vector<size_t>(o_.sites, list_.Serialize().size())});
  return absl::OkStatus();
}

absl::Status Round::Share() {
  SiteStep step{"ShareKeys", {}};
  WireRow sent{"ShareKeysMessage", "site -> server", {}};
  Cost receive;
  for (sa::SecAggClient& client : clients_) {
    Stopwatch s;
    absl::StatusOr<sa::ShareKeysMessage> m = client.ShareKeys(list_);
    step.costs.push_back(s.Elapsed());
    if (!m.ok()) return m.status();
    sent.bytes.push_back(m->Serialize().size());
    Stopwatch r;
    SCV_RETURN_IF_ERROR(server_->ReceiveShares(*m));
    AddTo(receive, r.Elapsed());
  }
  Stopwatch c;
  SCV_ASSIGN_OR_RETURN(std::vector<sa::ShareBundle> bundles, server_->CloseSharing());
  report_.server_steps.push_back({"ReceiveShares (all sites)", o_.sites, receive});
  report_.server_steps.push_back({"CloseSharing", 1, c.Elapsed()});
  WireRow bundle_row{"ShareBundle", "server -> site", {}};
  for (sa::ShareBundle& b : bundles) {
    bundle_row.bytes.push_back(b.Serialize().size());
    bundles_.emplace(b.recipient, std::move(b));
  }
  report_.site_steps.push_back(std::move(step));
  report_.wire.push_back(std::move(sent));
  report_.wire.push_back(std::move(bundle_row));
  return absl::OkStatus();
}

void Round::FillInput(int site, std::vector<double>& x) const {
  uint64_t state = o_.input_seed * 1000003 + static_cast<uint64_t>(site);
  for (double& v : x) v = static_cast<double>(SplitMix64(state) >> 11) * 0x1p-52 - 1.0;
}

absl::Status Round::AddExpected(const std::vector<double>& x) {
  SCV_ASSIGN_OR_RETURN(std::vector<uint64_t> encoded, roster_->codec().Encode(x));
  for (size_t i = 0; i < encoded.size(); ++i) expected_[i] += encoded[i];
  return absl::OkStatus();
}

absl::Status Round::MaskOne(int site, std::vector<double>& x, Cost& receive) {
  const std::string& id = ids_[site];
  FillInput(site, x);
  if (Completes()) SCV_RETURN_IF_ERROR(AddExpected(x));
  Stopwatch s;
  absl::StatusOr<sa::MaskedInput> y = clients_[site].MaskInput(bundles_.at(id), x);
  report_.site_steps.back().costs.push_back(s.Elapsed());
  if (!y.ok()) return y.status();
  report_.wire.back().bytes.push_back(y->Serialize().size());
  report_.mask_streams += roster_->Neighbours(id).size() + 1;
  ++report_.masked;
  if (!Completes()) return absl::OkStatus();
  Stopwatch r;
  SCV_RETURN_IF_ERROR(server_->ReceiveMaskedInput(*std::move(y)));
  AddTo(receive, r.Elapsed());
  return absl::OkStatus();
}

absl::Status Round::Mask() {
  report_.site_steps.push_back({"MaskInput", {}});
  report_.wire.push_back({"MaskedInput", "site -> server", {}});
  const int masking = Completes() ? Survivors() : o_.masking_sites;
  std::vector<double> x(o_.elements);
  Cost receive;
  for (int i = 0; i < masking; ++i) SCV_RETURN_IF_ERROR(MaskOne(i, x, receive));
  for (int gone = Survivors(); gone < o_.sites; ++gone) {
    for (int i = 0; i < Survivors(); ++i) {
      report_.finish_streams += roster_->AreNeighbours(ids_[i], ids_[gone]) ? 1 : 0;
    }
  }
  report_.finish_streams += Survivors();
  if (!Completes()) return absl::OkStatus();
  report_.server_steps.push_back({"ReceiveMaskedInput (survivors)", masking, receive});
  Stopwatch c;
  SCV_ASSIGN_OR_RETURN(std::vector<sa::UnmaskRequest> requests, server_->CloseMasking());
  report_.server_steps.push_back({"CloseMasking", 1, c.Elapsed()});
  WireRow row{"UnmaskRequest", "server -> site", {}};
  for (sa::UnmaskRequest& r : requests) {
    row.bytes.push_back(r.Serialize().size());
    requests_.emplace(r.recipient, std::move(r));
  }
  report_.wire.push_back(std::move(row));
  return absl::OkStatus();
}

absl::Status Round::Unmask() {
  SiteStep step{"Unmask", {}};
  WireRow sent{"UnmaskResponse", "site -> server", {}};
  Cost receive;
  for (int i = 0; i < Survivors(); ++i) {
    Stopwatch s;
    absl::StatusOr<sa::UnmaskResponse> r = clients_[i].Unmask(requests_.at(ids_[i]));
    step.costs.push_back(s.Elapsed());
    if (!r.ok()) return r.status();
    sent.bytes.push_back(r->Serialize().size());
    Stopwatch v;
    SCV_RETURN_IF_ERROR(server_->ReceiveUnmaskResponse(*r));
    AddTo(receive, v.Elapsed());
  }
  report_.server_steps.push_back({"ReceiveUnmaskResponse (survivors)", Survivors(), receive});
  report_.site_steps.push_back(std::move(step));
  report_.wire.push_back(std::move(sent));
  return absl::OkStatus();
}

absl::Status Round::Finish() {
  Stopwatch f;
  SCV_ASSIGN_OR_RETURN(sa::SecAggResult result, server_->Finish());
  report_.server_steps.push_back({"Finish", 1, f.Elapsed()});
  if (result.ring_sum != expected_ || result.included.size() != static_cast<size_t>(Survivors()) ||
      result.dropped.size() != static_cast<size_t>(o_.dropouts)) {
    return absl::InternalError(
        "bench_secagg: the server's sum is not the sum of the survivors' encodings");
  }
  report_.completed = true;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RoundReport> RunRound(const RoundOptions& options) {
  Round round(options);
  SCV_RETURN_IF_ERROR(round.Setup());
  SCV_RETURN_IF_ERROR(round.Advertise());
  SCV_RETURN_IF_ERROR(round.Share());
  SCV_RETURN_IF_ERROR(round.Mask());
  if (round.Completes()) {
    SCV_RETURN_IF_ERROR(round.Unmask());
    SCV_RETURN_IF_ERROR(round.Finish());
  }
  return round.TakeReport();
}

}  // namespace scancov::bench::secagg
