// alloclab-trace — inspects and distils allocation traces (workloads/TRACE_FORMAT.md) recorded
// by liballoclab_trace.so: `info` (info.cpp) says what a trace holds, `distill`
// (distill_command.cpp) writes its size distribution for the `empirical:` workload. Replaying a
// trace is the driver's job (`alloclab --workloads trace:FILE`), not this tool's.
// Bad input: one line "alloclab-trace: ..." on stderr, exit 2, nothing written.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <string>

#include "info.hpp"

namespace alloclab::trace_tool {
int run_distill(const std::string& trace_path, const std::string& out_path);  // distill_command.cpp
}

namespace {

int usage_error(std::string message) {
  // CLI11's messages may span lines; ours are one.
  for (char& c : message) {
    if (c == '\n') c = ' ';
  }
  while (!message.empty() && message.back() == ' ') message.pop_back();
  std::fprintf(stderr, "alloclab-trace: %s\n", message.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "alloclab-trace: inspects and distils allocation traces recorded by liballoclab_trace.so\n"
      "(record one with ./run_all.sh trace OUT.trace -- CMD [ARGS...]).",
      "alloclab-trace"};
  app.require_subcommand(1);
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
      "Exit status: 0 done, 2 bad input (nothing written).");

  std::string info_file;
  bool json = false;
  CLI::App* info = app.add_subcommand("info", "What a trace holds: program and machine, duration, file size and\n"
                                              "bytes per event, events by kind and by thread, truncated/dropped/untracked,\n"
                                              "size histogram, object lifetimes (events and seconds: p50 p90 p99 max),\n"
                                              "peak live bytes and objects, cross-thread frees, realloc growth");
  info->add_option("FILE", info_file, "The trace file")->required();
  info->add_flag("--json", json, "Print the figures as JSON (schema 1) instead of text");

  std::string distill_file, out;
  CLI::App* distill = app.add_subcommand("distill", "Write the trace's size distribution (per requested size: allocation\n"
                                                    "rate per event and mean live objects) as CSV, atomically");
  distill->add_option("FILE", distill_file, "The trace file")->required();
  distill->add_option("--out", out, "The CSV file to write (replaced atomically)")->required();

  // The command first, named as the user can fix it (CLI11 would say "A subcommand is required"
  // or "argument was not expected").
  const std::string command = argc > 1 ? argv[1] : "";
  if (command.empty() || (command[0] != '-' && command != "info" && command != "distill")) {
    return usage_error((command.empty() ? std::string("no command") : "unknown command '" + command + "'") +
                       " (valid: info FILE [--json], distill FILE --out DIST.csv; --help explains)");
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();  // the selected subcommand's, after `info --help`
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    std::cout << app.help("", CLI::AppFormatMode::All);
    return 0;
  } catch (const CLI::ParseError& e) {
    return usage_error(e.what());
  }
  if (info->parsed()) return alloclab::trace_tool::run_info(info_file, json);
  return alloclab::trace_tool::run_distill(distill_file, out);
}
