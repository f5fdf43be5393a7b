#include "bench/federation_load/aggregator_process.h"

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace scancov::bench {

absl::StatusOr<std::unique_ptr<AggregatorProcess>> AggregatorProcess::Start(
    const AggregatorProcessOptions& options) {
  auto process = std::unique_ptr<AggregatorProcess>(new AggregatorProcess());
  const std::string port_file = options.dir + "/aggregator.port";
  std::remove(port_file.c_str());
  testing_process::ProcessOptions child;
  child.name = "scancov-aggregator";
  child.argv = {options.binary,
                "--listen",
                "127.0.0.1:0",
                "--db",
                options.dir + "/aggregator.db",
                "--ca",
                options.tls.ca_cert,
                "--cert",
                options.tls.cert,
                "--key",
                options.tls.key,
                "--port-file",
                port_file,
                "--wait-seconds",
                absl::StrCat(options.wait_seconds),
                "--log-level",
                options.log_level};
  child.log_path = options.dir + "/aggregator.log";
  child.env = options.env;
  absl::StatusOr<std::unique_ptr<testing_process::ChildProcess>> started =
      testing_process::ChildProcess::Start(child);
  if (!started.ok()) return started.status();
  process->child_ = std::move(*started);
  absl::StatusOr<int> port = testing_process::ReadPortFile(port_file, absl::Seconds(30));
  if (!port.ok()) {
    return absl::UnavailableError(
        absl::StrCat("scancov-aggregator did not start: ", port.status().message(), "\n",
                     process->child_->LogTail()));
  }
  process->port_ = *port;
  return process;
}

absl::Status AggregatorProcess::Stop(absl::Duration grace) {
  absl::StatusOr<int> code = child_->Stop(grace);
  return code.status();
}

absl::StatusOr<MemorySample> ReadMemory(pid_t pid, absl::Time epoch) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  if (!in) return absl::NotFoundError(absl::StrCat("no /proc/", pid, "/status"));
  MemorySample sample;
  sample.t = absl::ToDoubleSeconds(absl::Now() - epoch);
  std::string line;
  while (std::getline(in, line)) {
    uint64_t* field = absl::StartsWith(line, "VmRSS:")   ? &sample.rss_kb
                      : absl::StartsWith(line, "VmHWM:") ? &sample.hwm_kb
                                                         : nullptr;
    if (field == nullptr) continue;
    std::vector<std::string> parts = absl::StrSplit(line, ' ', absl::SkipWhitespace());
    if (parts.size() < 2 || !absl::SimpleAtoi(parts[1], field)) {
      return absl::DataLossError(absl::StrCat("cannot read '", line, "'"));
    }
  }
  return sample;
}

MemorySampler::MemorySampler(pid_t pid, absl::Time epoch, absl::Duration interval)
    : pid_(pid), epoch_(epoch), interval_(interval), thread_([this] { Loop(); }) {}

MemorySampler::~MemorySampler() {
  stop_ = true;
  thread_.join();
}

void MemorySampler::Loop() {
  while (!stop_) {
    absl::StatusOr<MemorySample> s = ReadMemory(pid_, epoch_);
    if (s.ok()) {
      absl::MutexLock lock(&mu_);
      samples_.push_back(*s);
    }
    absl::SleepFor(interval_);
  }
}

std::vector<MemorySample> MemorySampler::samples() const {
  absl::MutexLock lock(&mu_);
  return samples_;
}

uint64_t MemorySampler::PeakRssKb(double from, double to) const {
  absl::MutexLock lock(&mu_);
  uint64_t peak = 0;
  for (const MemorySample& s : samples_) {
    if (s.t >= from && s.t <= to) peak = std::max(peak, s.rss_kb);
  }
  return peak;
}

}  // namespace scancov::bench
