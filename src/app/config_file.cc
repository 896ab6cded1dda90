#include "app/config_file.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <fstream>
#include <set>
#include <sstream>
#include <toml++/toml.h>

#include "api/schedule_json.h"
#include "base/clock.h"

namespace bananas::app {
namespace {

namespace json = boost::json;

// A TOML value as the JSON the API would have been sent. Dates and times become their TOML
// text (a payload may carry them; nothing in a schedule's own fields is a date).
json::value ToJson(const toml::node& node) {
  if (const auto* table = node.as_table()) {
    json::object o;
    for (auto&& [key, value] : *table) o[std::string(key.str())] = ToJson(value);
    return o;
  }
  if (const auto* array = node.as_array()) {
    json::array a;
    for (const auto& value : *array) a.push_back(ToJson(value));
    return a;
  }
  if (const auto* s = node.as_string()) return json::value(s->get());
  if (const auto* i = node.as_integer()) return json::value(i->get());
  if (const auto* f = node.as_floating_point()) return json::value(f->get());
  if (const auto* b = node.as_boolean()) return json::value(b->get());
  std::ostringstream text;
  if (const auto* d = node.as_date()) text << d->get();
  if (const auto* t = node.as_time()) text << t->get();
  if (const auto* dt = node.as_date_time()) text << dt->get();
  return json::value(text.str());
}

}  // namespace

Result<ConfigFile> ParseConfigFile(std::string_view text, std::string_view name,
                                   int max_retries) {
  const std::string where(name);
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(where));
  } catch (const toml::parse_error& e) {
    const auto& at = e.source().begin;
    return Status::InvalidArgument(where + ":" + std::to_string(at.line) + ":" +
                                   std::to_string(at.column) + ": " +
                                   std::string(e.description()));
  }
  ConfigFile out;
  for (auto&& [key, value] : root) {
    if (key.str() != "schedules") {
      return Status::InvalidArgument(where + ": unknown key \"" + std::string(key.str()) +
                                     "\" (the file holds [[schedules]] entries)");
    }
  }
  const toml::node* schedules = root.get("schedules");
  if (schedules == nullptr) return out;
  const toml::array* entries = schedules->as_array();
  if (entries == nullptr) {
    return Status::InvalidArgument(where + ": schedules must be an array of tables ([[schedules]])");
  }
  api::SubmitDefaults defaults;
  defaults.max_retries = max_retries;
  std::set<std::string> ids;
  const int64_t now = NowUnixMs();
  for (size_t i = 0; i < entries->size(); ++i) {
    const toml::node& entry = *entries->get(i);
    std::string label = where + ": schedules[" + std::to_string(i) + "]";
    if (!entry.is_table()) return Status::InvalidArgument(label + ": must be a table");
    if (const auto* id = entry.as_table()->get("id"); id != nullptr && id->is_string()) {
      label += " (" + id->as_string()->get() + ")";
    }
    auto parsed = api::ParseScheduleBody(ToJson(entry), defaults, now);
    if (!parsed.ok()) {
      const api::ApiError& error = parsed.error();
      return Status::InvalidArgument(label + ": " + (error.field.empty() ? "" : error.field + ": ") +
                                     error.message);
    }
    if (!ids.insert(parsed->spec.id).second) {
      return Status::InvalidArgument(label + ": id \"" + parsed->spec.id + "\" is used twice");
    }
    parsed->spec.source = "config";
    out.schedules.push_back(std::move(parsed->spec));
  }
  return out;
}

Result<ConfigFile> LoadConfigFile(const std::string& path, int max_retries) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument("--config: cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return ParseConfigFile(text.str(), path, max_retries);
}

}  // namespace bananas::app
