// The cost of a malloc(16)/free pair without ProfBench's interposition, to
// compare with the Malloc/size=16 example benchmark (same loop, counted).
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(void) {
  enum { N = 20000000 };
  void *volatile sink;
  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (int i = 0; i < N; i++) {
    void *p = malloc(16);
    sink = p;
    free(p);
  }
  clock_gettime(CLOCK_MONOTONIC, &end);
  double ns = (end.tv_sec - start.tv_sec) * 1e9 + (end.tv_nsec - start.tv_nsec);
  printf("%.2f\n", ns / N);
  return 0;
}
