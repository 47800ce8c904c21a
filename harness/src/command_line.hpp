// Strict parsing of what a user types, shared by `alloclab` (main.cpp) and `alloclab-trace`
// (trace_tool/main.cpp): whole numbers and seconds without leniency (no sign, no whitespace,
// no 1_0, no hex, no nan or inf, no overflow), a small argv scanner that reports every
// problem as one line, and the checks on an output file made before any work is done.
// Header-only: both executables include it, neither links the other's sources.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace alloclab::harness::command_line {

// A decimal whole number in [lo, hi]: digits only (no sign, space, '_' or 0x), no overflow.
inline std::optional<std::uint64_t> whole_number(std::string_view text, std::uint64_t lo, std::uint64_t hi) {
  if (text.empty() || text.size() > 40) return std::nullopt;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  if (value < lo || value > hi) return std::nullopt;
  return value;
}

// A decimal number: digits with an optional fraction and exponent (0.5, 1e-3, .25), finite.
// No sign in front, no space, no nan or inf, no hex.
inline std::optional<double> decimal(std::string_view text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  if (!((text[0] >= '0' && text[0] <= '9') || text[0] == '.')) return std::nullopt;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-')) return std::nullopt;
  }
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) return std::nullopt;
  return value + 0.0;
}

// Text shown inside quotes in a one-line message: control characters (a newline would make a
// second line) and bytes that are not printable ASCII as \xNN, long values cut.
inline std::string shown(std::string_view text, std::size_t most = 200) {
  static const char hex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (out.size() >= most) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// Flattens a message to one line (CLI11 and the reader may hold newlines).
inline std::string one_line(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

// The command line, scanned against the options a program knows: `--name VALUE`,
// `--name=VALUE` or a bare `--flag`; `-h`/`--help` anywhere asks for help. Every problem (an
// unknown option, a value missing, a value given to a flag, an option given twice, a stray
// argument) is one line in `error`, naming the argument and the valid options.
struct OptionSpec {
  std::string name;   // "--iterations"
  bool takes_value;   // false: a flag
  std::string valid;  // the valid values, for "needs a value (valid: ...)"
};

struct Scanned {
  std::vector<std::pair<std::string, std::string>> given;  // name, value ("" for a flag)
  std::vector<std::string> positional;
  bool help = false;

  bool has(std::string_view name) const {
    for (const auto& [n, v] : given)
      if (n == name) return true;
    return false;
  }
  const std::string* value(std::string_view name) const {
    for (const auto& [n, v] : given)
      if (n == name) return &v;
    return nullptr;
  }
};

inline std::string option_names(const std::vector<OptionSpec>& specs) {
  std::string out;
  for (const OptionSpec& s : specs) out += (out.empty() ? "" : ", ") + s.name;
  return out;
}

// `max_positional` arguments not starting with '-' are allowed (after `--`, any argument is
// positional). `extra_valid` is appended to the list of options in messages.
inline bool scan(const std::vector<std::string>& args, const std::vector<OptionSpec>& specs,
                 std::size_t max_positional, const std::string& extra_valid, Scanned& out, std::string& error) {
  out = {};
  const std::string valid_options = "valid: " + option_names(specs) + extra_valid;
  bool options_done = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (!options_done && (arg == "-h" || arg == "--help")) {
      out.help = true;
      continue;
    }
    if (!options_done && arg == "--") {
      options_done = true;
      continue;
    }
    if (options_done || arg.empty() || arg[0] != '-' || arg == "-") {
      if (out.positional.size() >= max_positional) {
        error = "unexpected argument '" + shown(arg) + "' (" +
                (max_positional == 0 ? std::string("no arguments besides options; ")
                                     : std::to_string(max_positional) + " at most; ") +
                valid_options + ")";
        return false;
      }
      out.positional.push_back(arg);
      continue;
    }
    const std::size_t eq = arg.find('=');
    const std::string name = arg.substr(0, eq);
    const OptionSpec* spec = nullptr;
    for (const OptionSpec& s : specs)
      if (s.name == name) spec = &s;
    if (spec == nullptr) {
      error = "unknown option '" + shown(name) + "' (" + valid_options + ")";
      return false;
    }
    if (out.has(name)) {
      error = name + " given twice (valid: once)";
      return false;
    }
    if (!spec->takes_value) {
      if (eq != std::string::npos) {
        error = name + " takes no value, got '" + shown(arg.substr(eq + 1)) + "' (valid: " + name + " alone)";
        return false;
      }
      out.given.emplace_back(name, "");
      continue;
    }
    if (eq != std::string::npos) {
      out.given.emplace_back(name, arg.substr(eq + 1));
      continue;
    }
    // The next argument is the value unless it is another option (a value may start with one
    // dash, such as -1, which is then refused for what it is).
    if (i + 1 >= args.size() || args[i + 1].rfind("--", 0) == 0) {
      error = name + " needs a value (valid: " + spec->valid + ")";
      return false;
    }
    out.given.emplace_back(name, args[++i]);
  }
  return true;
}

// A file a command is about to write (by a temporary file beside it and a rename): empty, an
// existing folder or a non-regular file, a missing or non-folder parent, an unwritable parent.
// "" when it can be written, else the problem (without the path).
inline std::string output_problem(const std::string& path) {
  if (path.empty()) return "an empty path";
  // "-" means standard output to most tools; the results are written by rename, which a
  // stream cannot take, so it is refused rather than made a file named "-" (./- names one).
  if (path == "-") return "'-' (standard output) cannot take an atomic write; name a file (./- for one called -)";
  if (path.find('\0') != std::string::npos) return "a path with a NUL byte";
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return "is a folder";
    if (!S_ISREG(st.st_mode)) return "exists and is not a regular file";
  } else if (errno != ENOENT) {
    return std::strerror(errno);
  }
  const std::filesystem::path p(path);
  if (!p.has_filename() || path.back() == '/') return "names a folder, not a file";
  std::filesystem::path parent = p.parent_path();
  if (parent.empty()) parent = ".";
  struct stat pst {};
  if (::stat(parent.c_str(), &pst) != 0) {
    return errno == ENOENT ? "its folder " + parent.string() + " does not exist"
                           : "its folder " + parent.string() + ": " + std::strerror(errno);
  }
  if (!S_ISDIR(pst.st_mode)) return "its parent " + parent.string() + " is not a folder";
  if (::access(parent.c_str(), W_OK | X_OK) != 0) {
    return "its folder " + parent.string() + " is not writable (" + std::strerror(errno) + ")";
  }
  return "";
}

// True when both paths name the same existing file (hard links and symbolic links included).
inline bool same_file(const std::string& a, const std::string& b) {
  struct stat sa {}, sb {};
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

// A file a command reads: "" when it is a readable regular file (or a pipe when `pipes`),
// else the problem. The reader itself then says whether its content is right.
inline std::string input_problem(const std::string& path, bool pipes) {
  if (path.empty()) return "an empty path";
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::strerror(errno);
  if (S_ISDIR(st.st_mode)) return "is a folder, not a file";
  if (!S_ISREG(st.st_mode) && !(pipes && S_ISFIFO(st.st_mode))) return "is not a regular file";
  if (::access(path.c_str(), R_OK) != 0) return std::string("cannot be read (") + std::strerror(errno) + ")";
  return "";
}

}  // namespace alloclab::harness::command_line
