// `scancov-pki kit`: everything a participant needs to join, made where it will run, so that its
// private key never leaves the machine (docs/install.md, "The kit").
//
// For a site (role "site"), in `out`:
//   <state>/<id>.key   the private key, 0600, in a 0700 folder (<state> is `state_dir`, by
//                      default <out>/state, beside the store and the pseudonymisation secret)
//   <id>.csr           the certificate request, for the CA (`scancov-pki sign`)
//   pki/ca.crt         a copy of the consortium CA certificate
//   site.json          the site file (sites/config/site_config.h), checked by ParseSiteConfig
//                      before it is written; the certificate is expected at pki/<id>.crt
//   start-node.sh      runs `scancov-node check`, and `run` only when no check FAILed
//   NEXT-STEPS.txt     what to do next, at the site and at the CA, with the commands
// For an aggregator (role "aggregator"): the key, the request (with the host of `aggregator` as
// a name the certificate covers), pki/ca.crt, aggregator.env for scancov-aggregator.service and
// NEXT-STEPS.txt.
//
// Nothing is written when any of these files exists, unless `force`; nor when the CA file is
// not a CA certificate, the id is invalid (ValidateId) or `aggregator` is not HOST:PORT.
//
// Thread safety: thread-compatible (two kits in the same folder at once race on its files).
#ifndef SCANCOV_SITES_PKI_SITE_KIT_H_
#define SCANCOV_SITES_PKI_SITE_KIT_H_

#include <ostream>
#include <string>

#include "absl/status/status.h"

namespace scancov::sites {

struct SiteKitOptions {
  std::string role = "site";  // site or aggregator
  std::string id;
  // HOST:PORT: the aggregator a site dials, or the address an aggregator is reached at (it
  // listens on PORT, on every interface).
  std::string aggregator;
  std::string aggregator_tls_name;  // site only: the name checked on the aggregator's certificate
  std::string ca;                   // the consortium CA certificate to copy (PEM)
  std::string out;                  // the kit's folder (created)
  std::string state_dir;            // empty: <out>/state; else an absolute path is recorded
  std::string data_dir;             // site only; empty: <out>/data
  // What start-node.sh runs (e.g. /usr/local/bin/scancov-node); empty: scancov-node on PATH.
  std::string node_program;
  bool force = false;  // replace an existing kit, key included (the old request is void then)
};

// Makes the kit and prints what is where and what to do next.
absl::Status PkiKit(const SiteKitOptions& options, std::ostream& out);

}  // namespace scancov::sites

#endif  // SCANCOV_SITES_PKI_SITE_KIT_H_
