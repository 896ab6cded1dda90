// Records: how a job is stored in layout 2 (docs/ARCHITECTURE.md, "Records").
//
// A job that is pending, scheduled, retrying, active or dead is one field of its queue's
// `jobs` hash, id -> record:
//
//   2|<pri>|<attempts>|<recoveries>|<lost>|<max_retries>|<run_at>|<name_len>:<name>
//     <body_len>:<body><errors>
//
// The header (up to the name) is what Lua reads and edits, off the hot path only (record.lua):
// priority, the run counters, the one uncharged loss, and when the job became due. The body
// is opaque to Lua: `<timeout_ms>|<created>|<len>:<payload><len>:<description><len>:<unique>`.
// `errors` is the error history as a JSON array, empty when the job never failed; fail.lua
// and recover_expired.lua append to it.
//
// A completed or cancelled job is a field of a time-bucketed `done` hash, id -> final record:
//
//   <c|x><finished>|<started>|<charged>|<result_len>:<result><record>
//
// `charged` (0 or 1) is added to the record's attempts: a worker completing a job sends the
// record it leased, unchanged, so the ack stays a concatenation (no decoding on the hot path).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "bananas/job.h"
#include "bananas/status.h"

namespace bananas::queue {

struct Record {
  Priority priority = Priority::kNormal;
  int attempts = 0;
  int recoveries = 0;
  bool lost = false;
  int max_retries = 0;
  int64_t run_at_unix_ms = 0;
  std::string name;
  int64_t timeout_ms = 0;
  int64_t created_unix_ms = 0;
  std::string payload;
  std::string description;
  std::string unique_key;
  std::string errors_json;  // "" = no failure yet
};

// The record of a new job created at `now`, due at `run_at` (0 = now).
Record NewRecord(const JobSpec& spec, int64_t now, int64_t run_at);

std::string EncodeRecord(const Record& record);
// Corruption naming what is wrong for bytes that are not a record.
Result<Record> DecodeRecord(std::string_view bytes);

// The header's `<name>` alone, without decoding the rest (dequeue's type filter does the
// same in Lua); empty for bytes that are not a record.
std::string_view RecordName(std::string_view bytes);

// The final record of a job its worker completed: `record` as leased, the result, and when
// the run started and ended. One allocation, no decoding.
std::string EncodeCompleted(std::string_view record, int64_t started_unix_ms,
                            int64_t finished_unix_ms, std::string_view result);

struct FinalRecord {
  JobState state = JobState::kCompleted;  // kCompleted or kCancelled
  int64_t finished_unix_ms = 0;
  int64_t started_unix_ms = 0;
  std::string result;
  Record record;  // attempts include the final run when it was charged
};
Result<FinalRecord> DecodeFinal(std::string_view bytes);

// The public view of a job from its record (state and times as given).
Job JobFromRecord(std::string_view id, std::string_view queue, Record record, JobState state);

}  // namespace bananas::queue
