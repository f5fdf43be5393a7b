#include "protocol/grpc_util.h"

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
                                                               int max_receive_bytes) {
  SCV_ASSIGN_OR_RETURN(Pems pems, ReadPems(files));
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = pems.ca;
  options.pem_cert_chain = pems.cert;
  options.pem_private_key = pems.key;
  grpc::ChannelArguments args;
  if (!server_name.empty()) args.SetSslTargetNameOverride(server_name);
  // Reconnect quickly after an aggregator restart; the node adds its own backoff on top.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
  if (max_receive_bytes > 0) args.SetMaxReceiveMessageSize(max_receive_bytes);
  return grpc::CreateCustomChannel(target, grpc::SslCredentials(options), args);
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
  bool begun = false;
  absl::Status failure;
  while (reader->Read(&message)) {
    if (!failure.ok()) continue;  // drain the stream, keep the first error
    if (!begun) {
      failure = message.has_manifest()
                    ? assembler.Begin(message.manifest())
                    : absl::InvalidArgumentError("weights stream: missing manifest");
      begun = true;
    } else if (message.has_chunk()) {
      failure = assembler.Add(message.chunk());
    } else {
      failure = absl::InvalidArgumentError("weights stream: second manifest");
    }
  }
  const grpc::Status status = reader->Finish();
  SCV_RETURN_IF_ERROR(FromGrpcStatus(status, "weights download"));
  SCV_RETURN_IF_ERROR(failure);
  return assembler.Finish();
}

}  // namespace scancov::protocol
