/** The -O2 -g workload of the DWARF and debuginfod tests: main → il_outer → il_mid (inlined) → il_leaf (inlined). */
import { GATE } from './helpers.js';

/** Source lines are counted from 1; the markers name the lines the test expects. */
export const INLINE_SRC = `#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <time.h>
volatile unsigned long sink;
static long now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000L + t.tv_nsec / 1000000; }
static inline __attribute__((always_inline)) unsigned long il_leaf(unsigned long x) {
  for (int i = 0; i < 4000; i++) x = x * 6364136223846793005UL + 1442695040888963407UL; /* LEAF_LINE */
  return x;
}
static inline __attribute__((always_inline)) unsigned long il_mid(unsigned long x) {
  return il_leaf(x) ^ (x >> 7); /* MID_LINE */
}
__attribute__((noipa)) unsigned long il_outer(unsigned long n) {
  unsigned long x = n;
  for (unsigned long i = 0; i < n; i++) x += il_mid(x + i); /* OUTER_LINE */
  return x;
}
int main(int argc, char **argv) {
  ${GATE}
  long end = now_ms() + (argc > 1 ? atol(argv[1]) : 1500);
  while (now_ms() < end) sink += il_outer(64);
  return 0;
}
`;
