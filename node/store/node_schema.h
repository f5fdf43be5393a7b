// The tables of the node's store, created in one place: NodeStore::Open calls CreateNodeSchema
// on every open, so a store of an older node gains the tables it lacks and the modules never
// create a table themselves. Each table is described beside the code that reads and writes it:
//   clinical_import, clinical_patient, clinical_value  node/clinical/clinical_store.h, SCHEMA.md
//   ct_series                                          node/imaging/imaging_store.h
//   ct_features                                        node/imaging/ct_features.h
//   ai_severity_scores                                 node/ai_severity_scores.h
//   task_log                                           node/task_log.h
//   tercile_rounds                                     node/tasks/tercile_budget.h
//   egress                                             privacy/egress_ledger.h (its own DDL)
// Every statement is CREATE ... IF NOT EXISTS: creating twice changes nothing.
#ifndef SCANCOV_NODE_STORE_NODE_SCHEMA_H_
#define SCANCOV_NODE_STORE_NODE_SCHEMA_H_

#include "absl/status/status.h"

namespace SQLite {
class Database;
}

namespace scancov::node {

absl::Status CreateNodeSchema(SQLite::Database& db);

}  // namespace scancov::node

#endif  // SCANCOV_NODE_STORE_NODE_SCHEMA_H_
