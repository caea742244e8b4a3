/* bench workload: call bs_hot() as fast as possible for SECS seconds after a line on stdin, then
 * print the calls per second. noinline and an empty asm keep every call a real call to probe. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
__attribute__((noinline)) unsigned long bs_hot(unsigned long x) { __asm__ volatile(""); return x * 3 + 1; }
__attribute__((noinline)) unsigned long bs_loop(double secs) {
  struct timespec t0, t;
  unsigned long n = 0, acc = 0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (;;) {
    for (int i = 0; i < 1000; i++) acc += bs_hot(n + i);
    n += 1000;
    clock_gettime(CLOCK_MONOTONIC, &t);
    double el = (t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9;
    if (el >= secs) { printf("%.0f\n", n / el); return acc; }
  }
}
int main(int argc, char **argv) {
  char b[8];
  if (read(0, b, sizeof b) <= 0) return 1;
  return bs_loop(atof(argv[1])) == 42;
}
