#include "redis/errors.h"

#include <string>

namespace bananas::redis {

ErrorClass ClassifyError(std::string_view error) {
  // The first word is the class; compared whole, so BUSYKEY or BUSYGROUP (permanent) are not
  // taken for BUSY.
  std::string_view word = error.substr(0, error.find(' '));
  if (word == "OOM") return ErrorClass::kFull;
  if (word == "LOADING" || word == "BUSY" || word == "READONLY" || word == "MASTERDOWN" ||
      word == "TRYAGAIN" || word == "CLUSTERDOWN" || word == "NOREPLICAS" || word == "MISCONF") {
    return ErrorClass::kTransient;
  }
  // Sent before Redis closes a connection over maxclients: another try may find a slot.
  if (word == "ERR" && error.find("max number of clients reached") != std::string_view::npos) {
    return ErrorClass::kTransient;
  }
  return ErrorClass::kPermanent;
}

Status ErrorReplyStatus(std::string_view error) {
  switch (ClassifyError(error)) {
    case ErrorClass::kTransient:
      return Status::Unavailable(error);
    case ErrorClass::kFull:
      return Status::ResourceExhausted("Redis is full: " + std::string(error));
    case ErrorClass::kPermanent:
      break;
  }
  return Status::Internal(error);
}

bool IsRetryable(const Status& status) {
  return status.IsUnavailable() || status.IsResourceExhausted();
}

bool IsRedisFull(const Status& status) { return status.IsResourceExhausted(); }

}  // namespace bananas::redis
