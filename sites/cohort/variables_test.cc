#include "sites/cohort/variables.h"

#include <set>
#include <string>

#include "absl/strings/match.h"
#include "core/file_util.h"
#include "gtest/gtest.h"

namespace scancov::sites {
namespace {

TEST(VariablesTest, FiftyEightSeedVariablesWithUniqueNames) {
  int seed = 0;
  std::set<std::string> names;
  for (const VariableSpec& s : AdmissionVariables()) {
    seed += s.seed_variable;
    EXPECT_TRUE(names.insert(s.name).second) << s.name;
    EXPECT_LT(s.min, s.max) << s.name;
    if (s.HasMedianCheck()) {
      EXPECT_GE(s.median_lo, s.min) << s.name;
      EXPECT_LE(s.median_hi, s.max) << s.name;
    }
  }
  EXPECT_EQ(seed, 58);
  for (const VariableSpec& s : OutcomeVariables()) EXPECT_TRUE(names.insert(s.name).second);
  for (const char* n : {"severe", "death", "icu", "time_to_event_days", "event"}) {
    ASSERT_NE(FindVariable(n), nullptr) << n;
  }
}

TEST(VariablesTest, SeedUnitsAndLimits) {
  EXPECT_EQ(FindVariable("urea")->unit, "mmol/L");
  EXPECT_EQ(FindVariable("platelets")->unit, "G/L");
  EXPECT_EQ(FindVariable("ldh")->unit, "U/L");
  EXPECT_EQ(FindVariable("crp")->unit, "mg/L");
  EXPECT_EQ(FindVariable("spo2")->unit, "%");
  EXPECT_TRUE(FindVariable("spo2")->Accepts(95));
  EXPECT_FALSE(FindVariable("spo2")->Accepts(150));
  EXPECT_FALSE(FindVariable("platelets")->Accepts(250000));
  EXPECT_FALSE(FindVariable("sex")->Accepts(0.5));
  EXPECT_FALSE(FindVariable("disease_extent")->Accepts(6));
  EXPECT_EQ(FindVariable("disease_extent")->type, VariableType::kOrdinal);
  EXPECT_EQ(FindVariable("ggo")->type, VariableType::kCategorical);
}

TEST(VariablesTest, ResolvesHeadersWithUnitSuffixes) {
  EXPECT_EQ(ResolveHeader("urea").spec, FindVariable("urea"));
  EXPECT_EQ(ResolveHeader("urea_mmol_L").spec, FindVariable("urea"));
  EXPECT_EQ(ResolveHeader("urea_mmol_L").alternative, nullptr);
  const ResolvedHeader mgdl = ResolveHeader("urea_mg_dL");
  ASSERT_NE(mgdl.alternative, nullptr);
  EXPECT_EQ(mgdl.alternative->unit, "mg/dL");
  EXPECT_NEAR(mgdl.alternative->ToCanonical(36), 6.0, 0.01);
  const ResolvedHeader f = ResolveHeader("temperature_degF");
  ASSERT_NE(f.alternative, nullptr);
  EXPECT_NEAR(f.alternative->ToCanonical(98.6), 37.0, 1e-9);
  EXPECT_EQ(ResolveHeader("lymphocyte_percent").spec, FindVariable("lymphocyte_percent"));
  EXPECT_EQ(ResolveHeader("urea_furlongs").spec, nullptr);
  EXPECT_EQ(ResolveHeader("favourite_colour").spec, nullptr);
  EXPECT_EQ(ResolveUnit(*FindVariable("platelets"), "10^9/L").alternative->IsSynonym(), true);
  EXPECT_EQ(ResolveUnit(*FindVariable("urea"), "mmol/L").spec, FindVariable("urea"));
  EXPECT_EQ(ResolveUnit(*FindVariable("urea"), "stone").spec, nullptr);
}

TEST(VariablesTest, DirectIdentifierColumns) {
  EXPECT_TRUE(IsDirectIdentifierColumn("name"));
  EXPECT_TRUE(IsDirectIdentifierColumn(" Birth_Date "));
  EXPECT_FALSE(IsDirectIdentifierColumn("age"));
  // What European exports call them.
  for (const char* header :
       {"Nom", "Prénom", "PRÉNOM", "Date de naissance", "date-de-naissance", "Nachname", "Vorname",
        "Geburtsdatum", "Apellidos", "Cognome", "Téléphone", "Adresse"}) {
    EXPECT_TRUE(IsDirectIdentifierColumn(header)) << header;
  }
  for (const char* header : {"Âge", "Température", "Créatinine (µmol/L)", "Sexe"}) {
    EXPECT_FALSE(IsDirectIdentifierColumn(header)) << header;
  }
  EXPECT_FALSE(IsDirectIdentifierColumn(kPatientIdColumn));
}

// VARIABLES.md carries the generated table; regenerate it with
// `scancov-synth-cohort --dictionary` when the dictionary changes.
TEST(VariablesTest, DocumentationCarriesTheCurrentTable) {
  absl::StatusOr<std::string> doc = ReadFileToString("sites/cohort/VARIABLES.md");
  ASSERT_TRUE(doc.ok()) << doc.status() << " (tests run from the repository root)";
  EXPECT_TRUE(absl::StrContains(*doc, DictionaryMarkdown()));
}

}  // namespace
}  // namespace scancov::sites
