"""The suite's real programs, in the order they are run and reported: one module each,
one Program subclass each (catalog.py says what a program is)."""

from __future__ import annotations

from alloclab.programs.catalog import Program
from alloclab.programs.suite.ghostscript import Ghostscript
from alloclab.programs.suite.gxx import Gxx
from alloclab.programs.suite.lld import Lld
from alloclab.programs.suite.lua import Lua
from alloclab.programs.suite.python import Python
from alloclab.programs.suite.redis import Redis
from alloclab.programs.suite.rocksdb import Rocksdb
from alloclab.programs.suite.sqlite import Sqlite
from alloclab.programs.suite.z3 import Z3

PROGRAMS: tuple[Program, ...] = (Redis(), Lua(), Python(), Z3(), Ghostscript(), Sqlite(),
                                 Gxx(), Rocksdb(), Lld())
