// bench_federation_load: the aggregator under load (issue 13). scancov-aggregator runs as a child
// process (its memory measured alone, /proc/<pid>/status); N simulated sites run in this process
// as threads, each a real node client over mutual TLS with its own certificate, pulling with the
// node agent's loop and uploading synthetic U-Net updates (bench/federation_load/). One fedavg
// training study: an INIT round, `--rounds` training rounds, the final evaluation round.
//
//   bench_federation_load --mode rounds --sites 100 --rounds 10 --model-mb 30   # load
//   bench_federation_load --mode rounds --sites 10 --rounds 10 --model-mb 30    # round overhead
//   bench_federation_load --mode wire --sites 10 --rounds 3 --model-mb 30       # bytes on the wire
//   bench_federation_load --mode rounds --sites 3 --rounds 2 --model-mb 250     # a large model
//   bench_federation_load --mode slow_link                                      # 750 MB, 10 Mbit/s
//   bench_federation_load --mode soak                                           # 300 rounds, RSS
//
// Modes only change defaults: wire puts the TCP proxy (tests/throttle_proxy.h) between the sites
// and the aggregator and counts the bytes at the socket; slow_link also throttles the sites'
// uploads from round 1 on (the INIT upload goes at full speed); soak samples the aggregator's
// RSS at every round. Every mode prints Markdown tables; times are wall-clock seconds, MB are
// 10^6 bytes. See docs/benchmarks.md, "Federation under load (issue 13)".
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/federation_load/load_run.h"

namespace {

using scancov::bench::LoadOptions;
using scancov::bench::LoadResult;
using scancov::bench::SiteTask;

double Mb(double bytes) { return bytes / 1e6; }
double KbToMb(uint64_t kb) { return static_cast<double>(kb) * 1024 / 1e6; }

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

// What the sites lived through in one round, and what the aggregator held meanwhile.
struct RoundRow {
  uint32_t round = 0;
  int tasks = 0;
  double wall = 0;        // first task of this round -> first task of the next
  double results_in = 0;  // first task -> last UploadResult answered
  double to_next = 0;     // last UploadResult answered -> next round's first task
  double work = 0, download = 0, upload = 0;  // the slowest site's
  double rss_open_mb = 0, rss_peak_mb = 0;
  uint64_t raw_up = 0, raw_down = 0;  // raw tensor bytes the round's tasks moved
  bool complete = false;              // the next round opened
};

std::vector<RoundRow> Rounds(const LoadResult& r) {
  std::vector<RoundRow> rows;
  for (const auto& [round, opened] : r.opened) {
    RoundRow row;
    row.round = round;
    double last = opened;
    for (const SiteTask& t : r.tasks) {
      if (t.round != round) continue;
      ++row.tasks;
      last = std::max(last, t.uploaded);
      row.work = std::max(row.work, t.worked - t.downloaded);
      row.download = std::max(row.download, t.downloaded - t.pulled);
      row.upload = std::max(row.upload, t.uploaded - t.worked);
      row.raw_up += t.upload_bytes;
      row.raw_down += t.download_bytes;
    }
    auto next = r.opened.find(round + 1);
    row.complete = next != r.opened.end();
    const double end = row.complete ? next->second : r.finished;
    row.wall = end - opened;
    row.results_in = last - opened;
    row.to_next = row.complete ? next->second - last : 0;
    auto memory = r.memory_at_open.find(round);
    if (memory != r.memory_at_open.end()) row.rss_open_mb = KbToMb(memory->second.rss_kb);
    uint64_t peak = 0;
    for (const auto& s : r.samples) {
      if (s.t >= opened && s.t <= end) peak = std::max(peak, s.rss_kb);
    }
    row.rss_peak_mb = KbToMb(peak);
    rows.push_back(row);
  }
  return rows;
}

const char* RoundName(uint32_t round, int rounds) {
  if (round == 0) return "init";
  return static_cast<int>(round) > rounds ? "eval" : "train";
}

void PrintHeader(const std::string& command, const LoadOptions& o, const LoadResult& r,
                 const std::string& load_start) {
  std::printf("## `%s`\n\n", command.c_str());
  std::printf("- machine: %u hardware threads; load average %s at the start, %s at the end\n",
              std::thread::hardware_concurrency(), load_start.c_str(), LoadAverage().c_str());
  std::printf("- model: U-Net, base width %d, %zu float32 tensors, %.1f MB raw per update\n",
              r.layout.base_channels, r.layout.tensors.size(), Mb(r.layout.bytes));
  std::printf("- %d sites, %d rounds, fedavg, min_sites %d; aggregator --wait-seconds %g%s\n",
              o.sites, o.rounds, o.sites, o.wait_seconds,
              o.proxy ? "; sites through the TCP proxy" : "");
  std::printf("- %d certificates issued in %.2f s; coordinator GetStudyStatus: %s\n", o.sites + 2,
              r.pki_s,
              o.status_poll_s > 0 ? absl::StrCat("every ", o.status_poll_s, " s").c_str()
                                  : "once, when the sites are done");
  for (const std::string& e : o.aggregator_env) {
    std::printf("- aggregator environment: %s\n", e.c_str());
  }
  std::printf("- study: %s after %.1f s%s%s\n", r.state.c_str(), r.finished - r.created,
              r.message.empty() ? "" : ": ", r.message.c_str());
  const double before = KbToMb(r.before_study.rss_kb);
  const double peak = KbToMb(r.at_end.hwm_kb);
  std::printf(
      "- aggregator RSS: %.1f MB started, %.1f MB with the sites registered and polling (before "
      "the study), **peak %.1f MB** (VmHWM), %.1f MB at the end; peak - before = %.1f MB = "
      "**%.2fx the model**\n",
      KbToMb(r.started.rss_kb), before, peak, KbToMb(r.at_end.rss_kb), peak - before,
      (peak - before) / Mb(r.layout.bytes));
  std::printf("- aggregator database at the end: %.1f MB; log: %s\n\n", Mb(r.db_bytes),
              r.log_path.c_str());
}

void PrintRounds(const std::vector<RoundRow>& rows, int rounds, size_t every) {
  std::printf(
      "| round | kind | tasks | wall s | all results in s | last result -> next task s | "
      "slowest site's work s | slowest download s | slowest upload s | overhead s (wall - work) "
      "| agg. RSS at open MB | agg. peak RSS in round MB |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (size_t i = 0; i < rows.size(); ++i) {
    const RoundRow& w = rows[i];
    const bool train = w.round >= 1 && static_cast<int>(w.round) <= rounds;
    if (train && every > 1 && w.round % every != 0 && w.round != 1 &&
        static_cast<int>(w.round) != rounds) {
      continue;
    }
    std::printf(
        "| %u | %s | %d | %.2f%s | %.2f | %.2f | %.3f | %.2f | %.2f | %.2f | %.1f | %.1f |\n",
        w.round, RoundName(w.round, rounds), w.tasks, w.wall, w.complete ? "" : " (to end)",
        w.results_in, w.to_next, w.work, w.download, w.upload, w.wall - w.work, w.rss_open_mb,
        w.rss_peak_mb);
  }
  std::vector<double> wall, overhead, to_next, peak;
  for (const RoundRow& w : rows) {
    if (w.round < 1 || static_cast<int>(w.round) > rounds || !w.complete) continue;
    wall.push_back(w.wall);
    overhead.push_back(w.wall - w.work);
    to_next.push_back(w.to_next);
    peak.push_back(w.rss_peak_mb);
  }
  if (!wall.empty()) {
    std::printf(
        "\nTraining rounds (%zu): median wall %.2f s (min %.2f, max %.2f); median overhead %.2f s; "
        "median last result -> next task %.2f s; highest RSS sampled in a round %.1f MB.\n\n",
        wall.size(), Median(wall), *std::min_element(wall.begin(), wall.end()),
        *std::max_element(wall.begin(), wall.end()), Median(overhead), Median(to_next),
        *std::max_element(peak.begin(), peak.end()));
  }
}

void PrintWire(const LoadResult& r, const std::vector<RoundRow>& rows, int rounds) {
  std::printf(
      "Bytes at the socket (the proxy's counters between one round's first task and the next's; "
      "they include polls, TLS, HTTP/2 and protobuf framing, manifests and chunk hashes) against "
      "the raw tensor bytes the round's uploads and downloads carried:\n\n");
  std::printf(
      "| round | kind | up (sites -> agg.) MB | raw uploads MB | up / raw | down MB | raw "
      "downloads MB | down / raw | (up + down) / raw |\n|---|---|---|---|---|---|---|---|---|\n");
  uint64_t up = 0, down = 0, raw = 0;
  for (const RoundRow& w : rows) {
    auto a = r.wire_at_open.find(w.round);
    auto b = r.wire_at_open.find(w.round + 1);
    if (a == r.wire_at_open.end()) continue;
    const auto end = b != r.wire_at_open.end() ? b->second : r.wire_at_end;
    const uint64_t u = end.up - a->second.up, d = end.down - a->second.down;
    auto ratio = [](uint64_t x, uint64_t y) { return y == 0 ? 0.0 : double(x) / double(y); };
    std::printf("| %u | %s | %.2f | %.2f | %.4f | %.2f | %.2f | %.4f | %.4f |\n", w.round,
                RoundName(w.round, rounds), Mb(u), Mb(w.raw_up), ratio(u, w.raw_up), Mb(d),
                Mb(w.raw_down), ratio(d, w.raw_down), ratio(u + d, w.raw_up + w.raw_down));
    if (w.round >= 1 && static_cast<int>(w.round) <= rounds) {
      up += u;
      down += d;
      raw += w.raw_up + w.raw_down;
    }
  }
  if (raw > 0) {
    std::printf(
        "\nTraining rounds together: %.1f MB on the wire for %.1f MB of raw tensors: "
        "**%.4fx**.\n\n",
        Mb(up + down), Mb(raw), double(up + down) / double(raw));
  }
}

void PrintLog(const LoadResult& r, int rounds) {
  std::printf(
      "From the aggregator's log (its own timestamps, ms): results accepted per round; the mean "
      "gap between consecutive \"accepted\" lines (the last excluded) is the time per submission "
      "when uploads queue for the federation's lock (validation against the input model, store, "
      "fold), an upper bound otherwise; \"last submission + close\" is from the previous "
      "\"accepted\" line to \"round closed\": the last upload's submission, the fedavg Finish, the "
      "new checkpoint stored, the round's weights pruned, the next round opened.\n\n");
  std::printf(
      "| round | accepted | first -> last accepted s | mean gap s | MB/s of updates at that gap | "
      "last submission + close s | rebuilt from store |\n|---|---|---|---|---|---|---|\n");
  for (const auto& [round, w] : r.log) {
    if (round < 1 || static_cast<int>(round) > rounds) continue;
    const size_t n = w.accepted.size();
    const double span = n > 1 ? w.accepted.back() - w.accepted.front() : 0;
    const double gap = n > 2 ? (w.accepted[n - 2] - w.accepted.front()) / double(n - 2) : 0;
    const double close = n > 1 && w.closed >= 0 ? w.closed - w.accepted[n - 2] : 0;
    std::printf("| %u | %zu | %.3f | %.3f | %.0f | %.3f | %s |\n", round, n, span, gap,
                gap > 0 ? Mb(r.layout.bytes) / gap : 0.0, close, w.rebuilt ? "yes" : "no");
  }
  std::printf("\n");
}

void PrintSoak(const LoadResult& r, const std::vector<RoundRow>& rows, int rounds) {
  const RoundRow* at10 = nullptr;
  const RoundRow* last = nullptr;
  for (const RoundRow& w : rows) {
    if (w.round == 10) at10 = &w;
    if (static_cast<int>(w.round) <= rounds && w.rss_open_mb > 0) last = &w;
  }
  if (at10 == nullptr || last == nullptr) {
    std::printf("Soak: fewer than 10 rounds opened; no growth figure.\n\n");
    return;
  }
  const double growth = (last->rss_open_mb - at10->rss_open_mb) / at10->rss_open_mb;
  std::printf(
      "Soak: aggregator RSS at the open of round 10 %.1f MB, of round %u %.1f MB: **%+.2f%%** "
      "(target < 5%%); VmHWM %.1f MB; database %.1f MB.\n\n",
      at10->rss_open_mb, last->round, last->rss_open_mb, 100 * growth, KbToMb(r.at_end.hwm_kb),
      Mb(r.db_bytes));
}

void PrintErrors(const LoadResult& r) {
  size_t failed = 0, shown = 0;
  for (const SiteTask& t : r.tasks) {
    if (t.errors.empty()) continue;
    ++failed;
    for (const std::string& e : t.errors) {
      if (shown++ < 8) std::printf("- %s round %u: %s\n", t.site_id.c_str(), t.round, e.c_str());
    }
  }
  for (const std::string& e : r.site_errors) std::printf("- %s\n", e.c_str());
  if (failed > 0 || !r.site_errors.empty()) {
    std::printf("\n%zu tasks met errors (first ones above); %zu sites ended with an error.\n\n",
                failed, r.site_errors.size());
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_federation_load: scancov-aggregator under load from simulated sites"};
  std::string mode = "rounds";
  LoadOptions o;
  o.aggregator_binary = SCANCOV_AGGREGATOR_BIN;
  double up_mbit = 0, down_mbit = 0;
  bool keep = false;
  std::string dir = "/tmp/scancov_bench_load";
  app.add_option("--mode", mode, "rounds | wire | slow_link | soak")
      ->check(CLI::IsMember({"rounds", "wire", "slow_link", "soak"}))
      ->capture_default_str();
  auto* sites = app.add_option("--sites", o.sites, "simulated sites (threads)");
  auto* rounds = app.add_option("--rounds", o.rounds, "training rounds");
  auto* model = app.add_option("--model-mb", o.model_mb, "model size, MB of raw float32");
  app.add_option("--wait-seconds", o.wait_seconds, "the aggregator's --wait-seconds")
      ->capture_default_str();
  app.add_flag("--proxy", o.proxy, "sites through the TCP proxy (counts the bytes)");
  auto* up = app.add_option("--up-mbit", up_mbit, "proxy: sites -> aggregator, Mbit/s (0: none)");
  app.add_option("--down-mbit", down_mbit, "proxy: aggregator -> sites, Mbit/s (0: none)");
  app.add_option("--throttle-from-round", o.throttle_from_round, "proxy limits from this round")
      ->capture_default_str();
  app.add_option("--idle-timeout-s", o.idle_timeout_s,
                 "seconds a node client's stream may go without progress (node default: 60)")
      ->capture_default_str();
  auto* attempts =
      app.add_option("--attempts", o.attempts_per_call, "attempts per call, as the node agent (6)");
  auto* timeout = app.add_option("--timeout-s", o.timeout_s, "the whole run");
  app.add_option("--round-timeout-s", o.round_timeout_s, "the study's round deadline")
      ->capture_default_str();
  app.add_option("--dir", dir, "working folder (removed first)")->capture_default_str();
  app.add_option("--aggregator", o.aggregator_binary, "scancov-aggregator")->capture_default_str();
  app.add_flag("--keep", keep, "keep the aggregator's database");
  app.add_option("--status-poll-s", o.status_poll_s,
                 "coordinator GetStudyStatus every this many seconds while it runs (0: at the end)")
      ->capture_default_str();
  app.add_option("--aggregator-env", o.aggregator_env,
                 "KEY=value for the aggregator's environment (repeatable)");
  app.add_option("--max-aggregator-rss-mb", o.max_aggregator_rss_mb,
                 "kill the aggregator past this RSS (a shared machine)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  struct Defaults {
    int sites, rounds;
    double model_mb, up_mbit, timeout_s;
    int attempts;
  };
  const Defaults d = mode == "soak"        ? Defaults{10, 300, 1, 0, 1800, 6}
                     : mode == "slow_link" ? Defaults{1, 1, 750, 10, 2400, 1}
                     : mode == "wire"      ? Defaults{10, 3, 30, 0, 1800, 6}
                                           : Defaults{10, 3, 30, 0, 1800, 6};
  if (sites->count() == 0) o.sites = d.sites;
  if (rounds->count() == 0) o.rounds = d.rounds;
  if (model->count() == 0) o.model_mb = d.model_mb;
  if (up->count() == 0) up_mbit = d.up_mbit;
  if (timeout->count() == 0) o.timeout_s = d.timeout_s;
  if (attempts->count() == 0) o.attempts_per_call = d.attempts;
  o.proxy = o.proxy || mode == "wire" || mode == "slow_link";
  o.end_on_failed_upload = mode == "slow_link";
  o.up_bytes_per_s = up_mbit * 1e6 / 8;
  o.down_bytes_per_s = down_mbit * 1e6 / 8;
  o.sample_interval_s = mode == "soak" ? 0.25 : 0.1;
  o.dir = dir + "/" + mode;

  std::string command = "bench_federation_load";
  for (int i = 1; i < argc; ++i) command += std::string(" ") + argv[i];
  const std::string load_start = LoadAverage();
  absl::StatusOr<LoadResult> result = scancov::bench::RunLoad(o);
  if (!result.ok()) {
    std::fprintf(stderr, "bench_federation_load: %s\n", result.status().ToString().c_str());
    return 1;
  }
  PrintHeader(command, o, *result, load_start);
  if (o.up_bytes_per_s > 0 || o.down_bytes_per_s > 0) {
    std::printf(
        "Proxy limits from round %u: up %g Mbit/s, down %g Mbit/s (0: none); node "
        "stream idle timeout %g s, %d attempt(s) per call.\n\n",
        o.throttle_from_round, up_mbit, down_mbit, o.idle_timeout_s, o.attempts_per_call);
  }
  const std::vector<RoundRow> rows = Rounds(*result);
  PrintRounds(rows, o.rounds, mode == "soak" ? std::max(1, o.rounds / 10) : 1);
  if (o.proxy) PrintWire(*result, rows, o.rounds);
  if (mode == "soak") PrintSoak(*result, rows, o.rounds);
  PrintLog(*result, mode == "soak" ? std::min(o.rounds, 12) : o.rounds);
  PrintErrors(*result);
  if (!keep) {
    std::error_code ec;
    for (const char* f : {"/aggregator.db", "/aggregator.db-wal", "/aggregator.db-shm"}) {
      std::filesystem::remove(o.dir + f, ec);
    }
  }
  return result->state == "done" ? 0 : 1;
}
