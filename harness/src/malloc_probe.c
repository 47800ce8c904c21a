/* liballoclab_probe.so: proof that an allocator took effect in a program alloclab runs.
 *
 * The programs runner preloads it after the allocator under test (LD_PRELOAD="lib.so probe")
 * with ALLOCLAB_PROBE_FILE set. At load, in every process of the program (children inherit
 * the environment), it appends one line to that file:
 *     <pid> TAB <file that defines the malloc this process calls> TAB <executable>
 * so the runner can check that each process's malloc resolves into the library it preloaded,
 * not merely that the library is mapped. free, calloc and realloc must resolve into the same
 * file, or the line says "mixed: ..." (a library that replaces malloc but not realloc would
 * run the program on two allocators). The probe calls no allocation function itself (dlopen
 * may allocate inside ld.so) and defines no symbol a program could call. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

/* The object whose malloc this process's calls reach. The global lookup starts at the
 * executable, and a non-PIE executable that takes malloc's address (python3) holds a
 * canonical PLT stub for it: dlsym then answers with the stub, inside the executable. Unless
 * the executable really defines malloc, the definition that wins is the first one in load
 * order, which is what the link map walk finds. */
static const char* owner_of(const char* name) {
  void* symbol = dlsym(RTLD_DEFAULT, name);
  Dl_info info;
  const ElfW(Sym)* entry = NULL;
  if (symbol == NULL || dladdr1(symbol, &info, (void**)&entry, RTLD_DL_SYMENT) == 0 || info.dli_fname == NULL)
    return "?";
  struct link_map* map = NULL;
  void* self = dlopen(NULL, RTLD_LAZY);
  if (self == NULL || dlinfo(self, RTLD_DI_LINKMAP, &map) != 0 || map == NULL) return info.dli_fname;
  Dl_info executable;  // the executable's program headers lie in its first mapping
  const int in_executable = dladdr((void*)getauxval(AT_PHDR), &executable) != 0 &&
                            executable.dli_fbase == info.dli_fbase;
  const int defined_there = entry != NULL && info.dli_sname != NULL && strcmp(info.dli_sname, name) == 0 &&
                            entry->st_shndx != SHN_UNDEF;
  if (!in_executable || defined_there) return info.dli_fname;
  for (struct link_map* object = map->l_next; object != NULL; object = object->l_next) {
    if (object->l_name == NULL || object->l_name[0] == '\0') continue;
    void* handle = dlopen(object->l_name, RTLD_LAZY | RTLD_NOLOAD);
    if (handle == NULL) continue;
    void* own = dlsym(handle, name);  // this object's, else one of its dependencies'
    Dl_info own_info;
    const int defines = own != NULL && dladdr(own, &own_info) != 0 && own_info.dli_fname != NULL &&
                        strcmp(own_info.dli_fname, object->l_name) == 0;
    dlclose(handle);
    if (defines) return object->l_name;
  }
  return info.dli_fname;
}

__attribute__((constructor)) static void alloclab_probe_report(void) {
  const char* path = getenv("ALLOCLAB_PROBE_FILE");
  if (path == NULL || path[0] == '\0') return;
  const char* library = owner_of("malloc");
  static const char* const partners[] = {"free", "calloc", "realloc"};
  char mixed[2048];
  for (size_t i = 0; i < sizeof partners / sizeof partners[0]; ++i) {
    const char* other = owner_of(partners[i]);
    if (strcmp(other, library) != 0) {
      snprintf(mixed, sizeof mixed, "mixed: malloc from %s, %s from %s", library, partners[i], other);
      library = mixed;
      break;
    }
  }
  char exe[1024];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  exe[n > 0 ? n : 0] = '\0';
  char line[3072];
  int length = snprintf(line, sizeof line, "%ld\t%s\t%s\n", (long)getpid(), library, exe);
  if (length <= 0) return;
  if (length >= (int)sizeof line) length = (int)sizeof line - 1;
  /* O_APPEND: the processes of one run write whole lines into one file without a lock. */
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;
  ssize_t written = write(fd, line, (size_t)length);
  (void)written;
  close(fd);
}
