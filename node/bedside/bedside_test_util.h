// Test helpers for bedside scoring: small chest phantoms written as DICOM under the test's temp
// dir (sites/ct), a site secret, and a request with plausible clinical values.
#ifndef SCANCOV_NODE_BEDSIDE_BEDSIDE_TEST_UTIL_H_
#define SCANCOV_NODE_BEDSIDE_BEDSIDE_TEST_UTIL_H_

#include <string>

#include "node/bedside/bedside_result.h"
#include "sites/ct/phantom_writer.h"

namespace scancov::node::testing {

// The fake identifiers every test phantom carries (PatientID, PatientName, PatientBirthDate):
// none of them may appear in any output.
inline constexpr char kFakePatientId[] = "KB-770123";
inline constexpr char kFakePatientName[] = "DUPONT^JEANNE";
inline constexpr char kFakeBirthDate[] = "19570312";

// A fresh, empty folder under the test temp dir.
std::string FreshDir(const std::string& name);

// A site secret file (created once per process).
const std::string& TestSecretPath();

// 128 x 128 pixels of 3 mm, 40 slices of 5 mm (a whole chest, about 4 L of lungs) with the
// given per-lung extents and a mixed lesion population, and some coronary calcium.
sites::PhantomSpec ChestSpec(uint64_t seed, double extent_right, double extent_left);

// Writes the phantom under FreshDir(name) and stamps the fake birth date into every file.
// Fails the test on error.
sites::PhantomFiles WriteChestPhantom(const sites::PhantomSpec& spec, const std::string& name);

// The same chest phantom (ChestSpec(7, 0.40, 0.30)) written once per process.
const sites::PhantomFiles& SharedPhantom();

// A request for `dicom_dir` with age 63, male, SpO2 91 %, platelets 210 G/L, urea 7.1 mmol/L
// and the test secret.
BedsideRequest DefaultRequest(const std::string& dicom_dir);

}  // namespace scancov::node::testing

#endif  // SCANCOV_NODE_BEDSIDE_BEDSIDE_TEST_UTIL_H_
