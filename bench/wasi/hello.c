// The WASI hello world of `npm run bench`: stdout is the body.
#include <stdio.h>

int main(void) {
  printf("Hello from WASI!\n");
  return 0;
}
