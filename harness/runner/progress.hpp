// The one live progress line of a run (issue 10): cases done of the total, failures so far, and
// the case that has been running longest, across every shard.
//
// On a terminal the line is rewritten in place (\r) a few times a second, cut to the terminal's
// width so that it never wraps. Elsewhere (a pipe, a CI log) it is a plain line, printed when a
// case has finished and kLogEvery has passed since the last line, or when kLogQuiet has passed
// with none finished (so that a hang shows, naming the case): a log gets at most a line per 5 s.
// MPCONFORM_PROGRESS=tty|lines|off chooses; `gtest` keeps GoogleTest's own printer instead.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>

namespace mpconform {

enum class ProgressStyle { Tty, Lines, Off, GTest };

// From MPCONFORM_PROGRESS (auto when unset or empty: Tty when stdout is a terminal, else Lines).
// Throws std::invalid_argument naming the values it takes.
ProgressStyle progress_style_from_env();

class Progress {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kLogEvery{5};
  static constexpr std::chrono::seconds kLogQuiet{30};

  // `width`: the terminal's columns (Tty only).
  Progress(std::ostream& out, ProgressStyle style, int width = 100);

  // Events, from any thread. A slot runs one case at a time: a shard, or the one process.
  void planned(int tests);
  void started(const std::string& slot, const std::string& test, Clock::time_point at);
  void finished(const std::string& slot, bool failed);

  // Prints the line if it is due (see above); call it often.
  void tick(Clock::time_point now);
  // Prints `text` (whole lines) without breaking the live line.
  void say(const std::string& text);
  // Takes the live line off a terminal, for what the run prints next.
  void finish();

  // "12 of 150 cases done, 2 failed, running longest: cpython.queue.x (14 s)".
  std::string line(Clock::time_point now) const;

 private:
  void clear_locked();

  mutable std::mutex mutex_;
  std::ostream& out_;
  ProgressStyle style_;
  int width_;
  int total_ = 0, done_ = 0, failed_ = 0;
  struct Running {
    std::string test;
    Clock::time_point since;
  };
  std::map<std::string, Running> running_;  // by slot
  bool shown_ = false;                      // a Tty line is on the screen
  bool finished_since_line_ = false;
  std::string drawn_;  // the Tty line on the screen
  std::optional<Clock::time_point> last_line_;
  Clock::time_point created_ = Clock::now();
};

}  // namespace mpconform
