#include "bench/federation_load/load_run.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/file_util.h"
#include "core/status_macros.h"
#include "protocol/grpc_util.h"
#include "protocol/scancov.grpc.pb.h"
#include "sites/pki/certificate_authority.h"
#include "tests/process_harness.h"
#include "tests/throttle_proxy.h"

namespace scancov::bench {
namespace {

using protocol::TlsFiles;
using testing_process::ThrottleProxy;
using testing_process::WaitUntil;

constexpr char kStudyId[] = "bench-load";

double KbToMb(uint64_t kb) { return static_cast<double>(kb) * 1024 / 1e6; }

struct Pki {
  TlsFiles aggregator, coordinator;
  std::vector<std::string> site_ids;
  std::vector<TlsFiles> sites;
};

absl::StatusOr<TlsFiles> IssueTo(const sites::CertificateAndKey& ca, const std::string& dir,
                                 sites::Role role, const std::string& id) {
  sites::IssueOptions options;
  options.role = role;
  options.id = id;
  SCV_ASSIGN_OR_RETURN(sites::CertificateAndKey issued, sites::IssueCertificate(ca, options));
  const std::string base = absl::StrCat(dir, "/", id);
  SCV_RETURN_IF_ERROR(WriteFileAtomic(base + ".crt", issued.certificate_pem));
  SCV_RETURN_IF_ERROR(WriteFileAtomic(base + ".key", issued.private_key_pem));
  return TlsFiles{dir + "/ca.crt", base + ".crt", base + ".key"};
}

// CA-side keys (IssueCertificate), as the tests' consortium: one EC P-256 key and signature
// per certificate, a few milliseconds each.
absl::StatusOr<Pki> MakePki(const std::string& dir, int sites) {
  SCV_RETURN_IF_ERROR(MakeDirs(dir));
  SCV_ASSIGN_OR_RETURN(sites::CertificateAndKey ca,
                       sites::CreateCertificateAuthority({"Bench Consortium"}));
  SCV_RETURN_IF_ERROR(WriteFileAtomic(dir + "/ca.crt", ca.certificate_pem));
  Pki pki;
  SCV_ASSIGN_OR_RETURN(pki.aggregator, IssueTo(ca, dir, sites::Role::kAggregator, "aggregator"));
  SCV_ASSIGN_OR_RETURN(pki.coordinator, IssueTo(ca, dir, sites::Role::kCoordinator, "bench"));
  for (int i = 0; i < sites; ++i) {
    pki.site_ids.push_back(absl::StrFormat("site%03d", i));
    SCV_ASSIGN_OR_RETURN(TlsFiles tls, IssueTo(ca, dir, sites::Role::kSite, pki.site_ids.back()));
    pki.sites.push_back(std::move(tls));
  }
  return pki;
}

// The coordinator's calls, over the Coordinator stub with the coordinator certificate.
class Coordinator {
 public:
  static absl::StatusOr<Coordinator> Connect(const std::string& target, const TlsFiles& tls) {
    SCV_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel,
                         protocol::MakeMtlsChannel(target, tls, "", 256 << 20));
    return Coordinator(v1::Coordinator::NewStub(channel));
  }
  absl::Status Enroll(const std::string& site_id) {
    v1::EnrollSiteRequest request;
    request.set_site_id(site_id);
    v1::SiteInfo info;
    return Call(&v1::Coordinator::Stub::EnrollSite, request, &info, "EnrollSite");
  }
  absl::StatusOr<v1::StudyStatus> Create(const v1::StudySpec& spec) {
    v1::CreateStudyRequest request;
    *request.mutable_spec() = spec;
    v1::StudyStatus status;
    SCV_RETURN_IF_ERROR(Call(&v1::Coordinator::Stub::CreateStudy, request, &status, "CreateStudy"));
    return status;
  }
  absl::StatusOr<v1::StudyStatus> Status(const std::string& study_id) {
    v1::GetStudyStatusRequest request;
    request.set_study_id(study_id);
    v1::StudyStatus status;
    SCV_RETURN_IF_ERROR(
        Call(&v1::Coordinator::Stub::GetStudyStatus, request, &status, "GetStudyStatus"));
    return status;
  }

 private:
  explicit Coordinator(std::unique_ptr<v1::Coordinator::Stub> stub) : stub_(std::move(stub)) {}
  template <typename Method, typename Request, typename Response>
  absl::Status Call(Method method, const Request& request, Response* response, const char* what) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return protocol::FromGrpcStatus((stub_.get()->*method)(&context, request, response), what);
  }
  std::unique_ptr<v1::Coordinator::Stub> stub_;
};

v1::StudySpec LoadStudy(const Pki& pki, const LoadOptions& options) {
  v1::StudySpec spec;
  spec.set_name(kStudyId);
  spec.set_kind(v1::STUDY_KIND_TRAINING);
  spec.set_study_kind("tabular_training");  // the aggregator does not look at the model
  for (const std::string& s : pki.site_ids) spec.add_sites(s);
  spec.set_rounds(options.rounds);
  spec.set_min_sites(options.sites);
  spec.set_round_timeout_s(options.round_timeout_s);
  spec.set_strategy("fedavg");
  spec.mutable_plan()->set_model("bench");
  spec.mutable_plan()->set_local_epochs(1);
  spec.mutable_plan()->set_batch_size(32);
  spec.mutable_plan()->set_learning_rate(0.01);
  spec.mutable_plan()->set_seed(7);
  return spec;
}

// The site threads. Joined on every way out: first they are told to stop (they check between
// calls), then, if a call holds one past `grace`, the aggregator is killed so that it fails.
class SiteThreads {
 public:
  SiteThreads(AggregatorProcess* aggregator, std::atomic<bool>* stop)
      : aggregator_(aggregator), stop_(stop) {}
  ~SiteThreads() { JoinAll(absl::Seconds(30)); }
  void Start(SimSite* site) {
    threads_.emplace_back([this, site] {
      site->Run();
      ++finished_;
    });
  }
  int finished() const { return finished_.load(); }
  void JoinAll(absl::Duration grace) {
    *stop_ = true;
    const size_t n = threads_.size();
    if (!WaitUntil([&] { return finished_.load() == static_cast<int>(n); }, grace)) {
      aggregator_->Stop(absl::Seconds(1)).IgnoreError();
    }
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  AggregatorProcess* aggregator_;
  std::atomic<bool>* stop_;
  std::atomic<int> finished_{0};
  std::vector<std::thread> threads_;
};

std::string StateName(v1::StudyState state) {
  switch (state) {
    case v1::STUDY_STATE_DONE:
      return "done";
    case v1::STUDY_STATE_FAILED:
      return "failed";
    default:
      return "running";
  }
}

}  // namespace

absl::StatusOr<LoadResult> RunLoad(const LoadOptions& options) {
  LoadResult result;
  result.study_id = kStudyId;
  const absl::Time epoch = absl::Now();
  const absl::Time deadline = epoch + absl::Seconds(options.timeout_s);
  std::error_code ec;
  std::filesystem::remove_all(options.dir, ec);
  SCV_RETURN_IF_ERROR(MakeDirs(options.dir));
  result.layout = UNetLayout(static_cast<uint64_t>(options.model_mb * 1e6));

  SCV_ASSIGN_OR_RETURN(Pki pki, MakePki(options.dir + "/pki", options.sites));
  result.pki_s = SecondsSince(epoch);

  AggregatorProcessOptions aggregator_options;
  aggregator_options.binary = options.aggregator_binary;
  aggregator_options.dir = options.dir;
  aggregator_options.tls = pki.aggregator;
  aggregator_options.wait_seconds = options.wait_seconds;
  aggregator_options.env = options.aggregator_env;
  SCV_ASSIGN_OR_RETURN(std::unique_ptr<AggregatorProcess> aggregator,
                       AggregatorProcess::Start(aggregator_options));
  result.log_path = aggregator->log_path();
  const pid_t pid = aggregator->pid();
  const std::string direct = absl::StrCat("127.0.0.1:", aggregator->port());
  std::unique_ptr<ThrottleProxy> proxy;
  if (options.proxy) {
    ThrottleProxy::Options proxy_options;
    proxy_options.target_port = aggregator->port();
    SCV_ASSIGN_OR_RETURN(proxy, ThrottleProxy::Start(proxy_options));
  }
  const std::string site_target =
      proxy ? absl::StrCat("127.0.0.1:", proxy->port()) : direct;  // the aggregator's name: SAN
  MemorySampler sampler(pid, epoch, absl::Seconds(options.sample_interval_s));
  SCV_ASSIGN_OR_RETURN(result.started, ReadMemory(pid, epoch));

  SCV_ASSIGN_OR_RETURN(Coordinator coordinator, Coordinator::Connect(direct, pki.coordinator));
  for (const std::string& site : pki.site_ids) SCV_RETURN_IF_ERROR(coordinator.Enroll(site));

  // Runs under RoundMarks' lock, once per round; read after the sites are joined.
  RoundMarks marks(epoch, [&](uint32_t round) {
    absl::StatusOr<MemorySample> memory = ReadMemory(pid, epoch);
    if (memory.ok()) result.memory_at_open[round] = *memory;
    if (!proxy) return;
    result.wire_at_open[round] = {proxy->upstream_bytes(), proxy->downstream_bytes()};
    if (round == options.throttle_from_round) {
      proxy->SetRates(options.up_bytes_per_s, options.down_bytes_per_s);
    }
  });
  std::atomic<bool> created{false}, stop{false};
  std::atomic<int> registered{0};
  std::vector<std::unique_ptr<SimSite>> sites;
  SiteThreads threads(aggregator.get(), &stop);
  for (int i = 0; i < options.sites; ++i) {
    SimSiteOptions site;
    site.site_id = pki.site_ids[i];
    site.tls = pki.sites[i];
    site.target = site_target;
    site.num_samples = 100 + (37 * static_cast<uint64_t>(i)) % 901;  // 100..1000
    site.seed = i + 1;
    site.init_layout = &result.layout;
    site.client.idle_timeout = absl::Seconds(options.idle_timeout_s);
    site.attempts_per_call = options.attempts_per_call;
    site.end_on_failed_upload = options.end_on_failed_upload;
    site.epoch = epoch;
    site.deadline = deadline;
    site.marks = &marks;
    site.study_created = &created;
    site.stop = &stop;
    site.registered = &registered;
    sites.push_back(std::make_unique<SimSite>(std::move(site)));
    threads.Start(sites.back().get());
  }
  const bool all_registered = WaitUntil(
      [&] { return registered.load() + threads.finished() >= options.sites; }, absl::Minutes(2));
  if (!all_registered || registered.load() < options.sites) {
    threads.JoinAll(absl::Seconds(10));
    std::string why;
    for (const auto& s : sites) {
      if (!s->error().empty()) why = absl::StrCat(s->error(), " (and others)");
    }
    return absl::UnavailableError(
        absl::StrCat(registered.load(), " of ", options.sites, " sites registered: ", why));
  }
  absl::SleepFor(absl::Seconds(1));  // every site polling, none with a study
  SCV_ASSIGN_OR_RETURN(result.before_study, ReadMemory(pid, epoch));

  SCV_RETURN_IF_ERROR(coordinator.Create(LoadStudy(pki, options)).status());
  result.created = SecondsSince(epoch);
  created = true;
  result.state = "timed out";
  // The study is over when every site has been told it is idle (or gave up); the coordinator
  // asks for its status then, and meanwhile only every status_poll_s when set.
  absl::Time next_poll = absl::Now() + absl::Seconds(options.status_poll_s);
  while (absl::Now() < deadline && aggregator->Running()) {
    absl::StatusOr<MemorySample> now = ReadMemory(pid, epoch);
    if (now.ok() && KbToMb(now->rss_kb) > options.max_aggregator_rss_mb) {
      result.at_end = *now;
      aggregator->Stop(absl::Seconds(1)).IgnoreError();
      result.state = "aggregator killed by the benchmark";
      result.message = absl::StrFormat("RSS %.0f MB > --max-aggregator-rss-mb %.0f",
                                       KbToMb(now->rss_kb), options.max_aggregator_rss_mb);
      break;
    }
    const bool sites_ended = threads.finished() == options.sites;
    const bool poll = options.status_poll_s > 0 && absl::Now() >= next_poll;
    if (!sites_ended && !poll) {
      absl::SleepFor(absl::Milliseconds(200));
      continue;
    }
    next_poll = absl::Now() + absl::Seconds(options.status_poll_s);
    absl::StatusOr<v1::StudyStatus> status = coordinator.Status(kStudyId);
    if (status.ok() && status->state() != v1::STUDY_STATE_RUNNING) {
      result.state = StateName(status->state());
      result.message = status->message();
      break;
    }
    result.message = status.ok() ? status->message() : status.status().ToString();
    if (sites_ended) {
      result.state = "every site ended";  // nobody will finish it
      break;
    }
  }
  if (result.state == "timed out" && !aggregator->Running()) result.state = "aggregator exited";
  result.finished = SecondsSince(epoch);
  absl::StatusOr<MemorySample> at_end = ReadMemory(pid, epoch);
  if (at_end.ok()) result.at_end = *at_end;

  // The sites leave once told they are idle (one more poll); bounded.
  WaitUntil([&] { return threads.finished() == options.sites; },
            absl::Seconds(options.wait_seconds + 30));
  threads.JoinAll(absl::Seconds(30));
  for (const auto& s : sites) {
    result.tasks.insert(result.tasks.end(), s->tasks().begin(), s->tasks().end());
    if (!s->error().empty()) result.site_errors.push_back(s->site_id() + ": " + s->error());
  }
  result.opened = marks.opened();
  if (proxy) result.wire_at_end = {proxy->upstream_bytes(), proxy->downstream_bytes()};
  proxy.reset();
  result.samples = sampler.samples();
  aggregator->Stop().IgnoreError();
  absl::StatusOr<std::map<uint32_t, LoggedRound>> log =
      ReadAggregatorLog(result.log_path, kStudyId, epoch);
  if (log.ok()) result.log = std::move(*log);
  for (const char* suffix : {"", "-wal"}) {
    const std::string db = absl::StrCat(options.dir, "/aggregator.db", suffix);
    if (std::filesystem::exists(db, ec)) result.db_bytes += std::filesystem::file_size(db, ec);
  }
  return result;
}

}  // namespace scancov::bench
