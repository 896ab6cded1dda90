#include "queue/keys.h"


namespace bananas::queue {

std::string Keys::Tagged(std::string_view queue, std::string_view suffix) const {
  std::string key;
  key.reserve(prefix_.size() + queue.size() + suffix.size() + 4);
  key += prefix_;
  key += ":{";
  key += queue;
  key += "}:";
  key += suffix;
  return key;
}

std::string Keys::Pending(std::string_view queue, Priority priority) const {
  std::string suffix = "pending:";
  suffix += PriorityName(priority);
  return Tagged(queue, suffix);
}

std::string Keys::LegacyJob(std::string_view queue, std::string_view id) const {
  std::string key = Tagged(queue, "job:");
  key += id;
  return key;
}

std::string Keys::EndedChannel(std::string_view queue, std::string_view id) const {
  std::string key = EndedPrefix(queue);
  key += id;
  return key;
}

std::string Keys::Schedule(std::string_view id) const {
  std::string key = Tagged("cron", "schedule:");
  key += id;
  return key;
}

std::string Keys::QueueKeyPattern() const {
  // The prefix is literal: escape the glob characters SCAN's MATCH would interpret.
  std::string out;
  for (char c : prefix_) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
    out += c;
  }
  return out + ":{*}:*";
}

std::string Keys::QueueOfKey(std::string_view key) const {
  std::string head = prefix_ + ":{";
  if (key.substr(0, head.size()) != head) return {};
  size_t close = key.find("}:", head.size());
  if (close == std::string_view::npos) return {};
  std::string queue(key.substr(head.size(), close - head.size()));
  if (queue == "cron" || !ValidateQueueName(queue).ok()) return {};
  return queue;
}

}  // namespace bananas::queue
