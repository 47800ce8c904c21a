"""alloclab's charts and reports, drawn from results folders only (never running anything).

  python3 -m plots DIR [DIR ...]    (run_all.sh plot)

Modules: analysis (the numbers every chart and table shows, computed from a results.Run),
style (one look per allocator, keyed by its kind and registration order), charts (drawing),
report (the report and comparison as alloclab.document models), program_charts and
program_report (the real-programs suite's charts and report section, from
alloclab.programs.summary's numbers), __main__ (the command line).
"""
