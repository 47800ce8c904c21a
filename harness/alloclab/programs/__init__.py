"""The real-programs suite: Debian programs run as their own processes under each allocator.

  catalog   what a program of the suite is (inputs, command, output check)
  suite/    the programs, one module each; scripts/ the scripts written for them
  launch    one measured process: rusage, RSS over time, timeout, no process left behind
  records   programs.csv, programs/plan.json, programs/raw/ (reading and writing)
  summary   ratios to glibc with intervals, geometric means across programs
  __main__  the command line: run, merge, list
"""
