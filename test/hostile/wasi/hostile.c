// A hostile WASI program for test/hostile/wasi-abuse.test.ts: what it does is chosen by
// the request's path. Each tries to take more than its share through a WASI call.
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *env_or(const char *name, const char *fallback) {
  const char *v = getenv(name);
  return v ? v : fallback;
}

int main(void) {
  const char *path = env_or("PATH_INFO", "/");
  if (strcmp(path, "/stdout-flood") == 0) {
    // Writes 1 MiB chunks to stdout without end, until a write fails.
    static char chunk[1 << 20];
    memset(chunk, 'x', sizeof chunk);
    for (size_t total = 0;; total += sizeof chunk) {
      if (write(1, chunk, sizeof chunk) < 0) {
        fprintf(stderr, "write failed after %zu MiB: errno %d\n", total >> 20, errno);
        return 3;
      }
    }
  }
  if (strcmp(path, "/fd-flood") == 0) {
    // Opens files without closing them, until an open fails.
    for (int n = 0;; n++) {
      char name[64];
      snprintf(name, sizeof name, "/tmp/f%d", n % 4);
      int fd = open(name, O_CREAT | O_WRONLY, 0644);
      if (fd < 0) {
        printf("open failed after %d files: errno %d\n", n, errno);
        return 0;
      }
    }
  }
  if (strcmp(path, "/pwrite-far") == 0) {
    // One byte written a terabyte into a file.
    int fd = open("/tmp/far", O_CREAT | O_RDWR, 0644);
    if (fd < 0) { printf("open failed: errno %d\n", errno); return 0; }
    ssize_t n = pwrite(fd, "x", 1, (off_t)1 << 40);
    printf("pwrite returned %zd, errno %d\n", n, n < 0 ? errno : 0);
    n = pwrite(fd, "y", 1, 0x7ffffffffffffff0LL);
    printf("pwrite returned %zd, errno %d\n", n, n < 0 ? errno : 0);
    int r = ftruncate(fd, (off_t)1 << 40);
    printf("ftruncate returned %d, errno %d\n", r, r < 0 ? errno : 0);
    return 0;
  }
  printf("Status: 404 Not Found\n\nno such path: %s\n", path);
  return 0;
}
