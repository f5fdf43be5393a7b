// The coordinator's live page (`scancov-coord ui`): an HTTP server on 127.0.0.1 only that
// serves a page (ui_page.h) which polls GET /api/state (ui_state.h) every 2 s, and each
// study's report at GET /studies/<id>/report. Fed through a CoordinatorApi (in production the
// coordinator's mutual-TLS client to the aggregator).
//
// Access, as Jupyter does it: Start draws a random 128-bit token and Url() carries it
// (http://127.0.0.1:PORT/?token=...). A request with the token in its query gets an HttpOnly,
// SameSite=Strict cookie (named after the port; the page is then reloaded without the token in
// its address); every other request needs that cookie. Refused with 403 whatever the path: a
// request without a valid token or cookie, a request whose Host header is not
// 127.0.0.1:PORT or localhost:PORT (DNS rebinding), a peer that is not the loopback address.
// Tokens are compared in constant time. Responses forbid framing, sniffing, referrers and any
// script or connection to another origin (Content-Security-Policy).
//
// Thread safety: the HTTP server's threads share the CoordinatorApi under one mutex; Stop may be
// called from any thread. The CoordinatorApi must outlive the server.
#ifndef SCANCOV_AGGREGATOR_COORDINATOR_UI_SERVER_H_
#define SCANCOV_AGGREGATOR_COORDINATOR_UI_SERVER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "aggregator/coordinator/coordinator_api.h"
#include "aggregator/coordinator/ui_state.h"
#include "core/env.h"

namespace scancov::aggregator {

struct UiServerOptions {
  int port = 0;            // 0: any free port
  AuditReader read_audit;  // optional: failures from the audit log too
  Clock* clock = Clock::Real();
};

// A study's report as the UI serves it: the body and its Content-Type.
struct UiReport {
  std::string body;
  std::string content_type;
};
UiReport RenderUiReport(const v1::StudyStatus& status);

class UiServer {
 public:
  // Binds 127.0.0.1:<port> and serves on a thread of its own until Stop or destruction.
  static absl::StatusOr<std::unique_ptr<UiServer>> Start(CoordinatorApi* api,
                                                         UiServerOptions options);
  ~UiServer();
  UiServer(const UiServer&) = delete;
  UiServer& operator=(const UiServer&) = delete;

  int port() const;
  // 32 lowercase hex digits.
  const std::string& token() const;
  // http://127.0.0.1:PORT/?token=TOKEN
  std::string Url() const;
  // Stops serving and joins the server's thread. Idempotent.
  void Stop();

 private:
  struct Impl;
  explicit UiServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// 128 random bits from OpenSSL's RAND_bytes, as 32 hex digits.
absl::StatusOr<std::string> NewUiToken();

}  // namespace scancov::aggregator

#endif  // SCANCOV_AGGREGATOR_COORDINATOR_UI_SERVER_H_
