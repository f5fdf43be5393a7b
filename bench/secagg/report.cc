#include "bench/secagg/report.h"

#include <sched.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace scancov::bench::secagg {
namespace {

template <typename T, typename F>
double Stat(const std::vector<T>& v, F field, bool max) {
  std::vector<double> x;
  for (const T& e : v) x.push_back(field(e));
  std::sort(x.begin(), x.end());
  if (x.empty()) return 0;
  return max ? x.back() : x[x.size() / 2];
}

std::string Header(const std::string& command, const RoundOptions& o, const RoundReport& r,
                   const Machine& m) {
  const std::string graph =
      o.neighbours == 0 ? "complete graph" : absl::StrCat("SecAgg+ k = ", o.neighbours);
  std::string out = absl::StrFormat(
      "## bench_secagg: n = %d, %s, %d dropouts, %d elements\n\n"
      "- command: `%s`\n- machine: %u CPUs, %s; load average %s at start, %s at end\n"
      "- date: %s\n- threshold t = %d; %d survivors of %d sites; ",
      o.sites, graph, o.dropouts, o.elements, command, m.cpus, m.cpu_model, m.load_start,
      m.load_end, m.date_utc, r.threshold, r.survivors, o.sites);
  if (r.completed) {
    absl::StrAppend(&out, "every survivor masked; Finish ran and its ring sum equals the sum of ",
                    "the survivors' encodings exactly\n");
  } else {
    absl::StrAppendFormat(&out,
                          "**partial run**: MaskInput ran for %d of %d survivors, then the "
                          "round stopped (no CloseMasking, Unmask or Finish)\n",
                          r.masked, r.survivors);
  }
  const double mb = 8.0 * static_cast<double>(o.elements) / 1e6;
  absl::StrAppendFormat(
      &out,
      "- measured over the full vector (%.1f MB as ring elements; medians of 3): one ChaCha20 "
      "mask stream (ApplyMask) %.3f ms wall, %.3f ms CPU (%.2f GB/s of keystream); allocating a "
      "fresh ring vector (first touch) %.3f ms; encoding the input %.3f ms; adding one ring "
      "vector into a sum %.3f ms; decoding a sum %.3f ms\n\n",
      mb, 1e3 * r.stream.wall_s, 1e3 * r.stream.cpu_s, mb / 1e3 / r.stream.wall_s,
      1e3 * r.fresh_vector.wall_s, 1e3 * r.encode.wall_s, 1e3 * r.add_pass.wall_s,
      1e3 * r.decode.wall_s);
  return out;
}

std::string SiteTable(const RoundReport& r) {
  std::string out =
      "| site step | sites | wall median (ms) | wall max (ms) | CPU median (ms) | CPU max (ms) |\n"
      "|---|---:|---:|---:|---:|---:|\n";
  auto wall = [](const Cost& c) { return 1e3 * c.wall_s; };
  auto cpu = [](const Cost& c) { return 1e3 * c.cpu_s; };
  for (const SiteStep& s : r.site_steps) {
    absl::StrAppendFormat(&out, "| %s | %d | %.3f | %.3f | %.3f | %.3f |\n", s.name, s.costs.size(),
                          Stat(s.costs, wall, false), Stat(s.costs, wall, true),
                          Stat(s.costs, cpu, false), Stat(s.costs, cpu, true));
  }
  if (r.masked > 0) {
    const double streams = static_cast<double>(r.mask_streams) / r.masked;
    absl::StrAppendFormat(
        &out,
        "| MaskInput, *computed* for comparison: fresh vector + encode + %.1f streams x %.3f ms "
        "| | %.3f | | | |\n",
        streams, 1e3 * r.stream.wall_s,
        1e3 * (r.fresh_vector.wall_s + r.encode.wall_s + streams * r.stream.wall_s));
  }
  return out + "\n";
}

std::string ServerTable(const RoundReport& r) {
  std::string out = "| server step | calls | wall (ms) | CPU (ms) |\n|---|---:|---:|---:|\n";
  for (const ServerStep& s : r.server_steps) {
    absl::StrAppendFormat(&out, "| %s | %d | %.3f | %.3f |\n", s.name, s.calls, 1e3 * s.cost.wall_s,
                          1e3 * s.cost.cpu_s);
  }
  const double finish = r.fresh_vector.wall_s +
                        static_cast<double>(r.survivors) * r.add_pass.wall_s +
                        static_cast<double>(r.finish_streams) * r.stream.wall_s + r.decode.wall_s;
  absl::StrAppendFormat(
      &out,
      "| Finish, *computed*%s: fresh sum + %d adds + %d streams (%d self masks + %d "
      "dropped-pair masks) x %.3f ms + decode; Shamir rebuild not included | | %.3f | |\n",
      r.completed ? " for comparison" : " (not run)", r.survivors, r.finish_streams, r.survivors,
      r.finish_streams - r.survivors, 1e3 * r.stream.wall_s, 1e3 * finish);
  return out + "\n";
}

std::string WireTable(const RoundOptions& o, const RoundReport& r) {
  const double plain = 4.0 * static_cast<double>(o.elements);
  std::string out = absl::StrFormat(
      "| message | direction | bytes per site (median) | max | x plain float32 update (%.0f "
      "B) |\n|---|---|---:|---:|---:|\n",
      plain);
  auto bytes = [](size_t b) { return static_cast<double>(b); };
  double total = 0;
  for (const WireRow& w : r.wire) {
    const double median = Stat(w.bytes, bytes, false);
    total += median;
    absl::StrAppendFormat(&out, "| %s | %s | %.0f | %.0f | %.4g |\n", w.message, w.direction,
                          median, Stat(w.bytes, bytes, true), median / plain);
  }
  absl::StrAppendFormat(&out, "| all of the above | both | %.0f | | %.4g |\n\n", total,
                        total / plain);
  return out;
}

}  // namespace

std::string RenderReport(const std::string& command, const RoundOptions& options,
                         const RoundReport& report, const Machine& machine) {
  return Header(command, options, report, machine) + SiteTable(report) + ServerTable(report) +
         WireTable(options, report);
}

}  // namespace scancov::bench::secagg
