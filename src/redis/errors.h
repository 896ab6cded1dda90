// What a Redis error reply means for the caller: the one place that decides it.
//
// An error reply is one of three classes, by its first word:
//   kTransient  Redis cannot serve the command now and did not run it: LOADING (a restart
//               reading its data), BUSY (a script runs too long), READONLY (a replica, e.g.
//               during a failover), MASTERDOWN, TRYAGAIN and CLUSTERDOWN (Cluster), NOREPLICAS
//               (min-replicas-to-write), MISCONF (a failing RDB save stops writes), and
//               "ERR max number of clients reached". Retry later.
//   kFull       OOM: maxmemory reached under noeviction; the write did not run. Retry later
//               too (space frees as jobs complete and expire), but it stays distinguishable
//               (IsRedisFull) so that a caller can tell a client "Redis is full", not "down".
//   kPermanent  everything else (ERR, WRONGTYPE, NOSCRIPT, NOAUTH, BUSYKEY, a script's own
//               error): the same command gets the same answer; retrying cannot help.
//
// Connection applies it to every reply (connection.h): a transient or full reply comes back
// as a non-OK Status, Unavailable or ResourceExhausted, exactly where a connection failure
// would, so every loop that retries "Redis is down" retries these too. Callers decide
// "retry later" with IsRetryable(), never by looking at error text.
#pragma once

#include <string_view>

#include "bananas/status.h"

namespace bananas::redis {

enum class ErrorClass { kPermanent, kTransient, kFull };

// `error` is the reply's text without the leading '-' ("LOADING Redis is loading ...").
ErrorClass ClassifyError(std::string_view error);

// The Status for an error reply of class kTransient (Unavailable: "<error>") or kFull
// (ResourceExhausted: "Redis is full: <error>"); Internal("<error>") for a permanent one.
Status ErrorReplyStatus(std::string_view error);

// True for what a caller should retry later rather than record as a failure: Redis down or
// slow (Unavailable, which transient error replies are too) or full (ResourceExhausted).
bool IsRetryable(const Status& status);

// True when Redis refused a write because it is out of memory (an OOM reply).
bool IsRedisFull(const Status& status);

}  // namespace bananas::redis
