// bench_secagg: the cost of secure aggregation (privacy/secagg) for one round, per site and at
// the server, in time and in bytes on the wire, against the plain float32 update.
//
//   bench_secagg                                  # n = 10, complete graph, 7.5 M elements
//   bench_secagg --sites 10 --dropouts 2          # 2 sites share keys, then send no input
//   bench_secagg --sites 100 --neighbours 14      # SecAgg+ (Bell et al. 2020)
//   bench_secagg --sites 100 --masking-sites 1    # complete graph: one site masks, no Finish
//
// The whole protocol runs in one process on one thread (bench/secagg/round.h): every site's
// AdvertiseKeys, ShareKeys, MaskInput and Unmask, and every server step, timed one after the
// other (wall clock and CPU time), and every message's Serialize() size. The server's sum is
// checked exactly. Figures marked computed are derived from the per-stream cost measured in the
// same run and say so; the rest are measured. Output: Markdown on stdout.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "bench/secagg/report.h"
#include "bench/secagg/round.h"

int main(int argc, char** argv) {
  namespace bs = scancov::bench::secagg;
  bs::RoundOptions o;
  CLI::App app{"Secure aggregation: time and bytes per site and at the server for one round"};
  app.add_option("--elements", o.elements, "model elements (7.5 M float32 = 30 MB)");
  app.add_option("--sites", o.sites, "sites n");
  app.add_option("--neighbours", o.neighbours, "SecAgg+ neighbourhood k (even; 0 = complete)");
  app.add_option("--dropouts", o.dropouts, "sites that share keys, then send no input");
  app.add_option("--threshold", o.threshold, "t (0 = the smallest majority of a neighbourhood)");
  app.add_option("--masking-sites", o.masking_sites,
                 "only this many survivors run MaskInput and the round stops before "
                 "CloseMasking (0 = all, and the round completes)");
  app.add_option("--seed", o.input_seed, "seed of the sites' input vectors");
  CLI11_PARSE(app, argc, argv);

  std::string command = "bench_secagg";
  for (int i = 1; i < argc; ++i) command += std::string(" ") + argv[i];
  bs::Machine machine = bs::ReadMachine();
  absl::StatusOr<bs::RoundReport> report = bs::RunRound(o);
  if (!report.ok()) {
    std::fprintf(stderr, "bench_secagg: %s\n", report.status().ToString().c_str());
    return 1;
  }
  machine.load_end = bs::LoadAverage();
  std::fputs(bs::RenderReport(command, o, *report, machine).c_str(), stdout);
  return 0;
}
