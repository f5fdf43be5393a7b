// The machine a benchmark ran on, for its report: CPUs this process may use (as nproc), the CPU
// model, the date, and the load average at the start and the end (other work on a shared
// machine shows there).
#ifndef SCANCOV_BENCH_MACHINE_H_
#define SCANCOV_BENCH_MACHINE_H_

#include <string>

namespace scancov::bench {

struct Machine {
  unsigned cpus = 0;
  std::string cpu_model;   // /proc/cpuinfo "model name"
  std::string load_start;  // /proc/loadavg, first three fields
  std::string load_end;
  std::string date_utc;  // "YYYY-MM-DD HH:MM:SS UTC"
};

// CPUs, model, date and the load average now (as load_start).
Machine ReadMachine();
// The load average now ("unknown" without /proc/loadavg).
std::string LoadAverage();

}  // namespace scancov::bench

#endif  // SCANCOV_BENCH_MACHINE_H_
