#include "aggregator/coordinator/ui_server.h"

#include <httplib.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "aggregator/coordinator/report.h"
#include "aggregator/coordinator/ui_page.h"

namespace scancov::aggregator {
namespace {

using Handled = httplib::Server::HandlerResponse;

bool TokensEqual(const std::string& given, const std::string& token) {
  return given.size() == token.size() &&
         CRYPTO_memcmp(given.data(), token.data(), token.size()) == 0;
}

// The value of cookie `name` in a Cookie header ("" when absent).
std::string CookieValue(const std::string& header, const std::string& name) {
  for (absl::string_view part : absl::StrSplit(header, ';')) {
    part = absl::StripAsciiWhitespace(part);
    if (absl::ConsumePrefix(&part, name + "=")) return std::string(part);
  }
  return "";
}

void Refuse(httplib::Response& res, const std::string& why) {
  res.status = 403;
  res.set_content(absl::StrCat("403 Forbidden: ", why,
                               ".\nOpen the address that `scancov-coord ui` printed "
                               "(http://127.0.0.1:PORT/?token=...).\n"),
                  "text/plain; charset=utf-8");
}

}  // namespace

UiReport RenderUiReport(const v1::StudyStatus& status) {
  return {StudyReportHtml(status), "text/html; charset=utf-8"};
}

absl::StatusOr<std::string> NewUiToken() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    return absl::InternalError("ui: RAND_bytes could not draw a token");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  for (unsigned char b : bytes) {
    token.push_back(kHex[b >> 4]);
    token.push_back(kHex[b & 15]);
  }
  return token;
}

struct UiServer::Impl {
  Impl(CoordinatorApi* api, UiServerOptions options)
      : state(api, std::move(options.read_audit), options.clock) {}

  // Access control for every request (the pre-routing handler): Unhandled lets it through.
  Handled Check(const httplib::Request& req, httplib::Response& res);
  void Routes();

  httplib::Server server;
  std::string token;
  std::string cookie_name;
  int port = 0;
  std::thread thread;
  std::atomic<bool> listen_returned{false};
  absl::Mutex mu;
  UiState state ABSL_GUARDED_BY(mu);
};

Handled UiServer::Impl::Check(const httplib::Request& req, httplib::Response& res) {
  if (!absl::StartsWith(req.remote_addr, "127.")) {
    Refuse(res, "only this machine may connect");
    return Handled::Handled;
  }
  const std::string host = absl::AsciiStrToLower(req.get_header_value("Host"));
  const std::string port_suffix = absl::StrCat(":", port);
  if (host != "127.0.0.1" + port_suffix && host != "localhost" + port_suffix) {
    Refuse(res, "wrong Host header (the page answers 127.0.0.1 and localhost only)");
    return Handled::Handled;
  }
  if (req.has_param("token")) {
    if (!TokensEqual(req.get_param_value("token"), token)) {
      Refuse(res, "wrong token");
      return Handled::Handled;
    }
    res.set_header("Set-Cookie",
                   absl::StrCat(cookie_name, "=", token, "; Path=/; HttpOnly; SameSite=Strict"));
    if (req.method == "GET" && req.path == "/") {  // the token out of the address bar
      res.set_redirect("/", 303);
      return Handled::Handled;
    }
    return Handled::Unhandled;
  }
  if (!TokensEqual(CookieValue(req.get_header_value("Cookie"), cookie_name), token)) {
    Refuse(res, "no access token");
    return Handled::Handled;
  }
  return Handled::Unhandled;
}

void UiServer::Impl::Routes() {
  server.set_default_headers({
      {"Cache-Control", "no-store"},
      {"X-Content-Type-Options", "nosniff"},
      {"X-Frame-Options", "DENY"},
      {"Referrer-Policy", "no-referrer"},
      {"Content-Security-Policy",
       "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
       "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"},
  });
  server.set_pre_routing_handler(
      [this](const httplib::Request& req, httplib::Response& res) { return Check(req, res); });
  server.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(UiPageHtml()), "text/html; charset=utf-8");
  });
  server.Get("/ui.js", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(UiPageScript()), "text/javascript; charset=utf-8");
  });
  server.Get("/ui.css", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(UiPageStyle()), "text/css; charset=utf-8");
  });
  server.Get("/api/state", [this](const httplib::Request&, httplib::Response& res) {
    nlohmann::json snapshot;
    {
      absl::MutexLock lock(&mu);
      snapshot = state.Snapshot();
    }
    // Invalid UTF-8 from the aggregator is replaced, not thrown on.
    res.set_content(snapshot.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                    "application/json; charset=utf-8");
  });
  server.Get(R"(/studies/([^/]+)/report)", [this](const httplib::Request& req,
                                                  httplib::Response& res) {
    absl::StatusOr<v1::StudyStatus> status;
    {
      absl::MutexLock lock(&mu);
      status = state.Study(req.matches[1].str());
    }
    if (!status.ok()) {
      res.status = status.status().code() == absl::StatusCode::kNotFound ? 404 : 502;
      res.set_content(std::string(status.status().message()) + "\n", "text/plain; charset=utf-8");
      return;
    }
    UiReport report = RenderUiReport(*status);
    // The report page (report_html.h) has its CSS inline and no script: its own policy instead
    // of the page's (two policies would both apply, and the stricter one blocks the CSS).
    res.headers.erase("Content-Security-Policy");
    res.set_header("Content-Security-Policy",
                   "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                   "base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
    res.set_content(report.body, report.content_type);
  });
}

absl::StatusOr<std::unique_ptr<UiServer>> UiServer::Start(CoordinatorApi* api,
                                                          UiServerOptions options) {
  const int wanted = options.port;
  auto impl = std::make_unique<Impl>(api, std::move(options));
  absl::StatusOr<std::string> token = NewUiToken();
  if (!token.ok()) return token.status();
  impl->token = *token;
  impl->Routes();
  if (wanted == 0) {
    impl->port = impl->server.bind_to_any_port("127.0.0.1");
  } else if (impl->server.bind_to_port("127.0.0.1", wanted)) {
    impl->port = wanted;
  }
  if (impl->port <= 0) {
    return absl::UnavailableError(absl::StrCat("ui: cannot listen on 127.0.0.1:", wanted));
  }
  impl->cookie_name = absl::StrCat("scancov_ui_", impl->port);
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] {
    raw->server.listen_after_bind();
    raw->listen_returned = true;
  });
  // httplib's stop() does nothing until the server runs: a Stop right after Start would leave
  // the thread in accept() for ever. Wait for it to run (or to have failed).
  while (!impl->server.is_running() && !impl->listen_returned) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return std::unique_ptr<UiServer>(new UiServer(std::move(impl)));
}

UiServer::UiServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

UiServer::~UiServer() { Stop(); }

int UiServer::port() const { return impl_->port; }

const std::string& UiServer::token() const { return impl_->token; }

std::string UiServer::Url() const {
  return absl::StrCat("http://127.0.0.1:", impl_->port, "/?token=", impl_->token);
}

void UiServer::Stop() {
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace scancov::aggregator
