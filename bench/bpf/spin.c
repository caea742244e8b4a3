/* CPU-bound workload for the profile overhead benchmark: one spinning thread per online CPU for a
 * fixed duration; prints the total loop iterations per second. Built with frame pointers so every
 * profiler sees the same stacks (main -> run_thread -> spin_work). */
#include <pthread.h>
#include <sys/resource.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static atomic_int stop_flag;
static uint64_t totals[256];

__attribute__((noinline)) static uint64_t spin_work(uint64_t x) {
  for (int i = 0; i < 1000; i++) x = x * 6364136223846793005ULL + 1442695040888963407ULL;
  return x;
}

static void *run_thread(void *arg) {
  long idx = (long)arg;
  uint64_t x = (uint64_t)idx + 1, n = 0;
  while (!atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
    x = spin_work(x);
    n++;
  }
  totals[idx] = n + (x == 42); /* keep x alive */
  return NULL;
}

int main(int argc, char **argv) {
  double secs = argc > 1 ? atof(argv[1]) : 10;
  long nthreads = argc > 2 ? atol(argv[2]) : sysconf(_SC_NPROCESSORS_ONLN);
  if (nthreads < 1 || nthreads > 256 || secs <= 0) {
    fprintf(stderr, "usage: spin [seconds] [threads]\n");
    return 2;
  }
  pthread_t th[256];
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long i = 0; i < nthreads; i++) pthread_create(&th[i], NULL, run_thread, (void *)i);
  struct timespec d = {(time_t)secs, (long)((secs - (time_t)secs) * 1e9)};
  nanosleep(&d, NULL);
  atomic_store(&stop_flag, 1);
  uint64_t sum = 0;
  for (long i = 0; i < nthreads; i++) {
    pthread_join(th[i], NULL);
    sum += totals[i];
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double el = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  /* per wall second (what the brief measures) and per CPU second of the workload (robust to other
   * load sharing the CPUs; the sampling handler's time is charged to the interrupted task) */
  printf("iterations_per_sec %.1f\n", sum / el);
  printf("iterations_per_cpu_sec %.1f\n", cpu > 0 ? sum / cpu : 0);
  return 0;
}
