// One WASI preview 1 program for the WASI tests: what it does is chosen by the request's
// path (PATH_INFO). Built with Debian's clang for wasm32-wasi (test/support/wasi-build.ts).
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

// Where allocations go so that the optimizer keeps them.
char *volatile kept;

static const char *env_or(const char *name, const char *fallback) {
  const char *v = getenv(name);
  return v ? v : fallback;
}

static int hello(void) {
  printf("hello from C\n");
  return 0;
}

// A CGI response: status and headers, then what the program was given.
static int cgi(int argc, char **argv) {
  size_t in = 0;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) in += n;
  printf("Status: 201 Created\r\nContent-Type: application/json\r\nX-Prog: c\r\n\r\n");
  printf("{\"argc\":%d,\"argv1\":\"%s\",\"argv2\":\"%s\",\"method\":\"%s\",\"path\":\"%s\",\"query\":\"%s\",\"header\":\"%s\",\"var\":\"%s\",\"stdin\":%zu}\n",
         argc, argc > 1 ? argv[1] : "", argc > 2 ? argv[2] : "", env_or("REQUEST_METHOD", ""), env_or("PATH_INFO", ""),
         env_or("QUERY_STRING", ""), env_or("HTTP_X_TEST", ""), env_or("GREETING", ""), in);
  return 0;
}

// stdin to stdout, byte for byte (large bodies).
static int echo(void) {
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) fwrite(buf, 1, n, stdout);
  return 0;
}

static int files(void) {
  FILE *f = fopen("/data/greeting.txt", "r");
  char line[256] = "";
  if (!f || !fgets(line, sizeof line, f)) { fprintf(stderr, "cannot read /data/greeting.txt: %s\n", strerror(errno)); return 3; }
  fclose(f);
  printf("read: %s", line);
  struct stat st;
  printf("out.txt before: %s\n", stat("/data/out.txt", &st) == 0 ? "present" : "absent");
  f = fopen("/data/out.txt", "w");
  if (!f) { fprintf(stderr, "cannot write /data/out.txt: %s\n", strerror(errno)); return 4; }
  fprintf(f, "written by this request\n");
  fclose(f);
  if (mkdir("/data/made", 0755) != 0) { fprintf(stderr, "mkdir: %s\n", strerror(errno)); return 5; }
  if (rename("/data/out.txt", "/data/made/moved.txt") != 0) { fprintf(stderr, "rename: %s\n", strerror(errno)); return 6; }
  f = fopen("/data/made/moved.txt", "r");
  if (!f || !fgets(line, sizeof line, f)) { fprintf(stderr, "cannot read back: %s\n", strerror(errno)); return 7; }
  fclose(f);
  printf("read back: %s", line);
  if (unlink("/data/greeting.txt") != 0) { fprintf(stderr, "unlink: %s\n", strerror(errno)); return 8; }
  DIR *d = opendir("/data");
  if (!d) { fprintf(stderr, "opendir: %s\n", strerror(errno)); return 9; }
  struct dirent *e;
  printf("listing:");
  while ((e = readdir(d)) != NULL) printf(" %s", e->d_name);
  printf("\n");
  closedir(d);
  printf("escape: %s\n", fopen("/data/../etc/passwd", "r") ? "opened" : strerror(errno));
  return 0;
}

static int clocks(void) {
  struct timespec real, mono1, mono2;
  clock_gettime(CLOCK_REALTIME, &real);
  clock_gettime(CLOCK_MONOTONIC, &mono1);
  sleep(2);
  clock_gettime(CLOCK_MONOTONIC, &mono2);
  unsigned char r[16];
  if (getentropy(r, sizeof r) != 0) return 10;
  printf("realtime %lld\nslept_ms %lld\nrandom ", (long long)real.tv_sec,
         (long long)((mono2.tv_sec - mono1.tv_sec) * 1000 + (mono2.tv_nsec - mono1.tv_nsec) / 1000000));
  for (int i = 0; i < 16; i++) printf("%02x", r[i]);
  printf("\n");
  return 0;
}

// What a run left in memory: the next run must not see it (each run starts as a new process would).
static char note[64];
static int leftover(void) {
  const char *query = env_or("QUERY_STRING", "");
  unsigned char *heap = malloc(4096);
  if (!heap) return 11;
  size_t dirty = 0;
  for (size_t i = 0; i < sizeof note; i++) dirty += note[i] != 0;
  for (size_t i = 0; i < 4096; i++) dirty += heap[i] != 0;
  printf("found %zu non-zero bytes\n", dirty);
  strncpy(note, query, sizeof note - 1);
  memset(heap, 0xab, 4096);
  kept = (char *)heap;
  return 0;
}

int main(int argc, char **argv) {
  const char *path = env_or("PATH_INFO", "/");
  if (strcmp(path, "/hello") == 0) return hello();
  if (strcmp(path, "/cgi") == 0) return cgi(argc, argv);
  if (strcmp(path, "/echo") == 0) return echo();
  if (strcmp(path, "/files") == 0) return files();
  if (strcmp(path, "/clocks") == 0) return clocks();
  if (strcmp(path, "/leftover") == 0) return leftover();
  if (strncmp(path, "/exit/", 6) == 0) {
    fprintf(stderr, "exiting with %s\n", path + 6);
    printf("partial output\n");
    return atoi(path + 6);
  }
  if (strcmp(path, "/trap") == 0) __builtin_trap();
  if (strcmp(path, "/loop") == 0) { volatile uint64_t i = 0; for (;;) i++; }
  if (strcmp(path, "/oom") == 0) {
    for (size_t total = 0;; total += 1 << 20) {
      char *p = malloc(1 << 20);
      if (!p) { printf("malloc failed after %zu MiB\n", total >> 20); return 0; }
      memset(p, 1, 1 << 20);
      kept = p; // escapes: the compiler may not drop the allocation
    }
  }
  printf("Status: 404 Not Found\n\nno such path: %s\n", path);
  return 0;
}
