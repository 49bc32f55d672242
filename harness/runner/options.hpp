#pragma once
// Reading a subcommand's options (`mpconform diff`, `mpconform page`): each is `--name VALUE` or
// `--name=VALUE`, as the runner's own are.

#include <stdexcept>
#include <string>
#include <vector>

namespace mpconform {

// True if `word` is the option `name`, alone or as `name=VALUE`.
inline bool is_option(const std::string& word, const std::string& name) {
  return word == name || word.starts_with(name + "=");
}

// The value of the option `name` at args[i]: what follows '=', or the next word (then i moves on
// to it). An option at the end with no value is an error that names it.
inline std::string option_value(const std::vector<std::string>& args, std::size_t& i, const std::string& name) {
  if (args[i].starts_with(name + "=")) return args[i].substr(name.size() + 1);
  if (i + 1 >= args.size()) throw std::invalid_argument(name + " needs a value");
  return args[++i];
}

}  // namespace mpconform
