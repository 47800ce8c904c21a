// alloclab-trace — inspects and distils allocation traces (workloads/TRACE_FORMAT.md) recorded
// by liballoclab_trace.so: `info` (info.cpp) says what a trace holds, `distill`
// (distill_command.cpp) writes its size distribution for the `empirical:` workload. Replaying a
// trace is the driver's job (`alloclab --workloads trace:FILE`), not this tool's.
// Bad input: one line "alloclab-trace: ..." on stderr, exit 2, nothing written.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string>

#include "../command_line.hpp"
#include "info.hpp"

namespace alloclab::trace_tool {
int run_distill(const std::string& trace_path, const std::string& out_path);  // distill_command.cpp
}

namespace {

namespace command_line = alloclab::harness::command_line;

const char* const commands_valid = "valid: info FILE [--json], distill FILE --out DIST.csv; --help explains";

int usage_error(std::string message) {
  // CLI11's and the reader's messages may span lines; ours are one.
  std::fprintf(stderr, "alloclab-trace: %s\n", command_line::one_line(std::move(message)).c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "alloclab-trace: inspects and distils allocation traces recorded by liballoclab_trace.so\n"
      "(record one with ./run_all.sh trace OUT.trace -- CMD [ARGS...]).",
      "alloclab-trace"};
  app.footer(
      "\nExamples:\n"
      "  alloclab-trace info run.trace            events, threads, sizes, lifetimes, peak live bytes\n"
      "  alloclab-trace info run.trace --json     the same figures as JSON (schema 1)\n"
      "  alloclab-trace distill run.trace --out run.csv\n"
      "                                           size,rate,mean_live per requested size, for\n"
      "                                           alloclab --workloads empirical:run.csv\n"
      "  alloclab --workloads trace:run.trace     replays the trace against every allocator\n"
      "\nA truncated trace (the program was killed or crashed: no end record) is read as the\n"
      "prefix its complete chunks hold, and said so. A corrupt one, a newer format version or a\n"
      "file that is not a trace is refused with one line naming the file and the problem.\n"
      "Bad input (a missing or extra argument, an unknown command or option, a file that is missing,\n"
      "a folder, unreadable or not a trace; an --out that is empty, a folder, the trace itself or in\n"
      "a folder that does not exist) is one line on stderr naming it and the valid choices.\n"
      "Exit status: 0 done, 1 standard output could not be written, 2 bad input (nothing written).");

  std::string info_file;
  bool json = false;
  CLI::App* info = app.add_subcommand("info", "What a trace holds: program and machine, duration, file size and\n"
                                              "bytes per event, events by kind and by thread, truncated/dropped/untracked,\n"
                                              "size histogram, object lifetimes (events and seconds: p50 p90 p99 max),\n"
                                              "peak live bytes and objects, cross-thread frees, realloc growth");
  info->add_option("FILE", info_file, "The trace file (a regular file or a pipe)");
  info->add_flag("--json", json, "Print the figures as JSON (schema 1) instead of text");

  std::string distill_file, out;
  CLI::App* distill = app.add_subcommand("distill", "Write the trace's size distribution (per requested size: allocation\n"
                                                    "rate per event and mean live objects) as CSV, atomically");
  distill->add_option("FILE", distill_file, "The trace file (a regular file or a pipe)");
  distill->add_option("--out", out,
                      "The CSV file to write (replaced atomically; a new or regular file in an existing, writable "
                      "folder, not the trace)");

  // CLI11 renders --help; the command line itself is read by command_line::scan, which names
  // every problem in one line (the command first, as the user can fix it).
  std::vector<std::string> args(argv + 1, argv + argc);
  const bool help = std::find(args.begin(), args.end(), "--help") != args.end() ||
                    std::find(args.begin(), args.end(), "-h") != args.end();
  const std::string command = args.empty() ? "" : args.front();
  if (help && (command == "info" || command == "distill")) {
    std::cout << (command == "info" ? info : distill)->help();
    return 0;
  }
  if (help) {
    std::cout << app.help("", CLI::AppFormatMode::All);
    return 0;
  }
  if (args.empty()) return usage_error(std::string("no command (") + commands_valid + ")");
  if (command != "info" && command != "distill") {
    return usage_error((!command.empty() && command[0] == '-' ? "option '" + command_line::shown(command) + "' before the command"
                                          : "unknown command '" + command_line::shown(command) + "'") +
                       " (" + commands_valid + ")");
  }
  const bool is_info = command == "info";
  const std::vector<command_line::OptionSpec> specs =
      is_info ? std::vector<command_line::OptionSpec>{{"--json", false, ""}}
              : std::vector<command_line::OptionSpec>{{"--out", true, "the CSV file to write"}};
  const std::string usage = is_info ? "info FILE [--json]" : "distill FILE --out DIST.csv";
  command_line::Scanned given;
  std::string problem;
  if (!command_line::scan(std::vector<std::string>(args.begin() + 1, args.end()), specs, 1,
                          "; usage: " + usage, given, problem)) {
    return usage_error(command + ": " + problem);
  }
  if (given.positional.empty()) return usage_error(command + " needs a trace FILE (valid: " + usage + ")");
  const std::string& file = given.positional.front();
  const std::string trace_valid = "valid: a trace recorded by liballoclab_trace.so, see workloads/TRACE_FORMAT.md";
  if (const std::string bad = command_line::input_problem(file, true); !bad.empty())
    return usage_error(command_line::shown(file) + ": " + bad + " (" + trace_valid + ")");
  if (is_info) return alloclab::trace_tool::run_info(file, given.has("--json"));
  const std::string* out_path = given.value("--out");
  if (out_path == nullptr) return usage_error("distill needs --out DIST.csv (valid: " + usage + ")");
  if (command_line::same_file(file, *out_path))
    return usage_error(command_line::shown(*out_path) + ": is the trace itself (valid: another file for the CSV)");
  if (const std::string bad = command_line::output_problem(*out_path); !bad.empty())
    return usage_error("cannot write --out '" + command_line::shown(*out_path) + "': " + bad +
                       " (valid: a new or regular file in an existing, writable folder)");
  return alloclab::trace_tool::run_distill(file, *out_path);
}
