// scancov-aggregator: the consortium's aggregator server.
#include <malloc.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <fstream>
#include <iostream>

#include "aggregator/server/grpc_service.h"
#include "aggregator/studies/registry.h"
#include "core/cli.h"
#include "core/logging.h"

int main(int argc, char** argv) {
  CLI::App app{
      "scancov-aggregator: averages models and combines per-site statistics for the consortium.\n"
      "Nodes and the coordinator connect over gRPC with mutual TLS; identities come from their\n"
      "certificates. All state lives in the SQLite database, so a restart loses nothing."};
  scancov::AddVersionAndExitCodes(app, "scancov-aggregator");
  std::string listen = "127.0.0.1:7443";
  std::string db = "aggregator.db";
  std::string ca, cert, key, crl, port_file;
  std::string log_level = "info";
  double wait_seconds = 2;
  std::string uploads;
  uint64_t max_upload_mb = 4096;
  double idle_timeout_s = 60;
  int streams_per_site = 2;
  int transport_memory_mb = 64;
  uint32_t keep_checkpoints = 3;
  app.add_option("--listen", listen, "host:port to listen on (port 0: pick a free port)")
      ->capture_default_str();
  app.add_option("--db", db, "SQLite database with all aggregator state")->capture_default_str();
  app.add_option("--ca", ca, "consortium CA certificate (PEM)")->required();
  app.add_option("--cert", cert, "aggregator certificate (PEM)")->required();
  app.add_option("--key", key, "aggregator private key (PEM)")->required();
  app.add_option("--crl", crl,
                 "CRL signed by the consortium CA (scancov-pki crl): revoked certificates are "
                 "refused on every call; the file is reloaded when it changes");
  app.add_option("--port-file", port_file, "write the bound port to this file once listening");
  app.add_option("--wait-seconds", wait_seconds, "how long idle nodes are told to wait")
      ->capture_default_str();
  app.add_option("--uploads", uploads,
                 "folder for uploads in progress and not yet aggregated (default: <db>.uploads)");
  app.add_option("--max-upload-mb", max_upload_mb, "largest weights upload accepted, in MiB")
      ->capture_default_str();
  app.add_option("--idle-timeout", idle_timeout_s,
                 "seconds a weights transfer may go without progress before it is cut (one that "
                 "moves is never cut)")
      ->capture_default_str();
  app.add_option("--streams-per-site", streams_per_site,
                 "weights transfers one site may have open at once")
      ->capture_default_str();
  app.add_option("--transport-memory-mb", transport_memory_mb,
                 "memory gRPC may hold for all connections' buffers together, in MiB (transfers "
                 "slow down instead of the aggregator growing; 0: unlimited)")
      ->capture_default_str();
  app.add_option("--keep-checkpoints", keep_checkpoints,
                 "models kept per study: those of the last this many rounds (0: every round's)")
      ->capture_default_str();
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error")->capture_default_str();
  if (std::optional<int> done = scancov::ParseCommandLine(app, argc, argv)) return *done;
  // Models pass through in buffers of tens of megabytes, a few per round. glibc raises its mmap
  // threshold after each such buffer is freed and then keeps them in its heap, so the resident
  // memory ratchets up round after round; a fixed threshold returns every large buffer to the
  // kernel when it is freed.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  mallopt(M_TRIM_THRESHOLD, 8 << 20);
  mallopt(M_ARENA_MAX, 2);  // per-thread arenas (gRPC has many threads) each keep freed chunks

  // Block SIGINT/SIGTERM in every thread (gRPC's inherit the mask); main waits for them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  if (absl::Status s = scancov::SetupLogging("aggregator", log_level); !s.ok()) {
    std::cerr << s.message() << "\n";
    return 2;
  }
  auto store = scancov::aggregator::AggregatorStore::Open(db);
  if (!store.ok()) {
    spdlog::critical("{}", std::string(store.status().message()));
    return 1;
  }
  scancov::aggregator::FederationOptions options;
  options.studies = &scancov::aggregator::AllStudyLogics();
  options.wait = absl::Seconds(wait_seconds);
  options.keep_checkpoints = keep_checkpoints;
  scancov::protocol::ManifestLimits limits;
  limits.max_payload_bytes = max_upload_mb << 20;
  if (uploads.empty()) uploads = db + ".uploads";
  auto spool = scancov::aggregator::UploadSpool::Open(uploads, limits);
  if (!spool.ok()) {
    spdlog::critical("{}", std::string(spool.status().message()));
    return 1;
  }
  auto federation = std::make_unique<scancov::aggregator::Federation>(std::move(*store), options,
                                                                      std::move(*spool));
  scancov::aggregator::AggregatorServerOptions server_options;
  server_options.crl = crl;
  server_options.idle_timeout = absl::Seconds(idle_timeout_s);
  server_options.streams_per_site = streams_per_site;
  server_options.transport_memory_mb = transport_memory_mb;
  auto server = scancov::aggregator::AggregatorServer::Start(listen, {ca, cert, key},
                                                             std::move(federation), server_options);
  if (!server.ok()) {
    spdlog::critical("{}", std::string(server.status().message()));
    return 1;
  }
  spdlog::info("listening on port {} (mutual TLS{}), state in {}", (*server)->port(),
               crl.empty() ? "" : ", CRL " + crl, db);
  if (!port_file.empty()) {
    std::ofstream(port_file) << (*server)->port() << "\n";
  }
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  spdlog::info("signal {}: shutting down", signal_number);
  (*server)->Shutdown();
  return 0;
}
