// tests/trace/recorder_late_library.cpp — a shared library the recorder's scenarios link
// against, whose ELF destructor frees a block: glibc runs it from _dl_fini, late in exit, and
// the recorder's end must still come after it (recorder_preload.cpp, late_frees).
#include <cstddef>
#include <cstdlib>

namespace {
void* kept = nullptr;
[[gnu::destructor]] void free_at_unload() { std::free(kept); }
}  // namespace

extern "C" [[gnu::visibility("default")]] void recorder_late_library_keep(std::size_t size) {
  kept = std::malloc(size);
}
