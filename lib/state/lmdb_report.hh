// The DMARC reporting operations (report_ops.hh) on the LMDB store, inside the write
// transaction of LmdbStore::run(). Each Redis hash of report_keys() is a range of LMDB entries
// named KEY:FIELD, so an interval's domains and a domain's rows are read with one cursor walk
// over their prefix:
//   dmarc:n:I:DH      rows of the domain        dmarc:n:I:total   rows of the interval
//   dmarc:d:I:DH      "DOMAIN\nPOLICY"          dmarc:r:I:DH:RH   "COUNT\nROW"
//   dmarc:c:I:DH      the claim ("claimed OWNER UNTIL", "sending OWNER AT", "sent AT")
//   dmarc:fq:TTTTTTTTTTTTTTTTSSSSSSSS  a queued failure report "DOMAIN\nREPORT" (time, sequence)
//   dmarc:fn          "COUNT" of queued reports  dmarc:fr:HOUR:DH  reports queued this hour
// Values carry their expiry like every entry (lmdb_value.hh). Returns an LMDB error code;
// MDB_SUCCESS with the outcome set.
#pragma once

#include "state/store.hh"

#include <lmdb.h>

#include <functional>

namespace mailwarden::state {

// make_room: called before a new entry is written; non-zero when the file is at its entry
// limit (the batch then fails, as for any other operation).
int run_report_operation(MDB_txn* txn, MDB_dbi database, const ReportOperation& operation,
                         Millis now, const std::function<int()>& make_room, Outcome& outcome);

} // namespace mailwarden::state
