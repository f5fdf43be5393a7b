#include "protocol/grpc_util.h"

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>

#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "core/status_macros.h"
#include "protocol/weights_codec.h"

namespace scancov::protocol {
namespace {

struct Pems {
  std::string ca, cert, key;
};

absl::StatusOr<Pems> ReadPems(const TlsFiles& files) {
  Pems p;
  SCV_ASSIGN_OR_RETURN(p.ca, ReadFileToString(files.ca_cert));
  SCV_ASSIGN_OR_RETURN(p.cert, ReadFileToString(files.cert));
  SCV_ASSIGN_OR_RETURN(p.key, ReadFileToString(files.key));
  for (const auto& [path, pem] : {std::pair{files.ca_cert, p.ca}, std::pair{files.cert, p.cert}}) {
    if (pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      return absl::InvalidArgumentError(path + ": not a PEM certificate");
    }
  }
  if (p.key.find("PRIVATE KEY-----") == std::string::npos) {
    return absl::InvalidArgumentError(files.key + ": not a PEM private key");
  }
  return p;
}

// Runs gRPC's own host name check, then `check`, synchronously inside the handshake. (gRPC
// verifies the chain against the root certificates before calling a verifier; a verifier set
// on TlsChannelCredentialsOptions replaces the default host name check, hence its call here.)
class CheckingVerifier : public grpc::experimental::ExternalCertificateVerifier {
 public:
  explicit CheckingVerifier(ServerCertificateCheck check)
      : check_(std::move(check)),
        host_name_(std::make_shared<grpc::experimental::HostNameCertificateVerifier>()) {}

  bool Verify(grpc::experimental::TlsCustomVerificationCheckRequest* request,
              std::function<void(grpc::Status)> /*callback*/, grpc::Status* sync_status) override {
    grpc::Status host_status;
    if (!host_name_->Verify(
            request, [](grpc::Status) {}, &host_status)) {
      host_name_->Cancel(request);
      *sync_status = grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                  "server host name check did not complete");
      return true;
    }
    if (!host_status.ok()) {
      *sync_status = host_status;
      return true;
    }
    const grpc::string_ref pem = request->peer_cert();
    *sync_status = ToGrpcStatus(check_(absl::string_view(pem.data(), pem.size())));
    return true;
  }

  void Cancel(grpc::experimental::TlsCustomVerificationCheckRequest* /*request*/) override {}

 private:
  ServerCertificateCheck check_;
  std::shared_ptr<grpc::experimental::CertificateVerifier> host_name_;
};

std::shared_ptr<grpc::ChannelCredentials> CheckedChannelCredentials(const Pems& pems,
                                                                    ServerCertificateCheck check) {
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(
      std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
          pems.ca, std::vector<grpc::experimental::IdentityKeyCertPair>{{pems.key, pems.cert}}));
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_verify_server_certs(true);
  options.set_certificate_verifier(
      grpc::experimental::ExternalCertificateVerifier::Create<CheckingVerifier>(std::move(check)));
  return grpc::experimental::TlsCredentials(options);
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

absl::Status FromGrpcStatus(const grpc::Status& status, const std::string& where) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(where, ": ", status.error_message()));
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeMtlsChannel(const std::string& target,
                                                               const TlsFiles& files,
                                                               const std::string& server_name,
                                                               int max_receive_bytes,
                                                               ServerCertificateCheck check) {
  SCV_ASSIGN_OR_RETURN(Pems pems, ReadPems(files));
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (check) {
    credentials = CheckedChannelCredentials(pems, std::move(check));
  } else {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = pems.ca;
    options.pem_cert_chain = pems.cert;
    options.pem_private_key = pems.key;
    credentials = grpc::SslCredentials(options);
  }
  grpc::ChannelArguments args;
  if (!server_name.empty()) args.SetSslTargetNameOverride(server_name);
  // Reconnect quickly after an aggregator restart; the node adds its own backoff on top.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  // (Not GRPC_ARG_MIN_RECONNECT_BACKOFF_MS: gRPC also uses it as the connect and TLS handshake
  // timeout, and a handshake over a slow or busy link must not be cut at a fraction of a second.)
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  if (max_receive_bytes > 0) args.SetMaxReceiveMessageSize(max_receive_bytes);
  return grpc::CreateCustomChannel(target, credentials, args);
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeMtlsServerCredentials(
    const TlsFiles& files) {
  SCV_ASSIGN_OR_RETURN(Pems pems, ReadPems(files));
  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = pems.ca;
  options.pem_key_cert_pairs.push_back({pems.key, pems.cert});
  return grpc::SslServerCredentials(options);
}

absl::StatusOr<TensorSet> ReadWeightsStream(
    grpc::ClientReaderInterface<v1::WeightsMessage>* reader) {
  WeightsAssembler assembler;
  v1::WeightsMessage message;
  absl::Status failure;
  while (reader->Read(&message)) {
    if (failure.ok()) failure = assembler.Feed(message);  // else drain, keep the first error
  }
  const grpc::Status status = reader->Finish();
  SCV_RETURN_IF_ERROR(FromGrpcStatus(status, "weights download"));
  SCV_RETURN_IF_ERROR(failure);
  return assembler.Finish();
}

}  // namespace scancov::protocol
