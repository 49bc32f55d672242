#include "progress.hpp"

#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

#include "protocol.hpp"

namespace mpconform {

ProgressStyle progress_style_from_env() {
  const char* v = std::getenv("MPCONFORM_PROGRESS");
  const std::string s = v ? v : "";
  if (s.empty() || s == "auto") return isatty(1) ? ProgressStyle::Tty : ProgressStyle::Lines;
  if (s == "tty") return ProgressStyle::Tty;
  if (s == "lines") return ProgressStyle::Lines;
  if (s == "off") return ProgressStyle::Off;
  if (s == "gtest") return ProgressStyle::GTest;
  throw std::invalid_argument("MPCONFORM_PROGRESS is auto, tty, lines, off or gtest, not '" + excerpt(s, 40) + "'");
}

Progress::Progress(std::ostream& out, ProgressStyle style, int width)
    : out_(out), style_(style), width_(width < 20 ? 20 : width) {}

void Progress::planned(int tests) {
  std::lock_guard lock(mutex_);
  total_ += tests;
}

void Progress::started(const std::string& slot, const std::string& test, Clock::time_point at) {
  std::lock_guard lock(mutex_);
  running_[slot] = {test, at};
}

void Progress::finished(const std::string& slot, bool failed) {
  std::lock_guard lock(mutex_);
  running_.erase(slot);
  ++done_;
  if (failed) ++failed_;
  finished_since_line_ = true;
}

std::string Progress::line(Clock::time_point now) const {
  std::string out = std::to_string(done_);
  if (total_ > 0) out += " of " + std::to_string(total_);
  out += done_ == 1 && total_ <= 1 ? " case done, " : " cases done, ";
  out += std::to_string(failed_) + " failed";
  const Running* longest = nullptr;
  for (const auto& [slot, r] : running_)
    if (!longest || r.since < longest->since) longest = &r;
  if (longest) {
    const long s = std::chrono::duration_cast<std::chrono::seconds>(now - longest->since).count();
    out += running_.size() > 1 ? ", running longest: " : ", running: ";
    out += longest->test + " (" + std::to_string(s < 0 ? 0 : s) + " s)";
  }
  return out;
}

void Progress::tick(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (style_ == ProgressStyle::Tty) {
    std::string text = "mpconform: " + line(now);
    // Cut to the terminal (a wrapped line cannot be rewritten by \r), on a code point boundary.
    if (text.size() > static_cast<std::size_t>(width_ - 1)) text = excerpt(text, width_ - 4);
    if (shown_ && text == drawn_) return;
    out_ << "\r" << text << "\x1b[K" << std::flush;
    drawn_ = text;
    shown_ = true;
  } else if (style_ == ProgressStyle::Lines) {
    const auto since = now - (last_line_ ? *last_line_ : created_);
    const bool due =
        (finished_since_line_ && (!last_line_ || since >= kLogEvery)) || (since >= kLogQuiet && done_ < total_);
    if (!due) return;
    out_ << "mpconform: " << line(now) << std::endl;
    last_line_ = now;
    finished_since_line_ = false;
  }
}

void Progress::clear_locked() {
  if (!shown_) return;
  out_ << "\r\x1b[K" << std::flush;
  shown_ = false;
}

void Progress::say(const std::string& text) {
  std::lock_guard lock(mutex_);
  clear_locked();
  out_ << text << std::flush;  // the next tick draws the line again
}

void Progress::finish() {
  std::lock_guard lock(mutex_);
  clear_locked();
}

}  // namespace mpconform
