/* The CFI walker's maps, shared by the BPF side (unwind.bpf.h) and TypeScript (src/unwind/layout.ts).
 * The row format itself is unwind.h (owned by the table generator). */
#ifndef BPFSCOPE_UNWIND_WALK_H
#define BPFSCOPE_UNWIND_WALK_H
#include "bpfscope.h"
#include "unwind.h"

/* executable mappings per process (sorted by start); more are left out (frame pointers there, counted) */
#define UNWIND_MAX_MAPPINGS 256
/* tables (ELF objects) per capture: index into the unwind_tables array of maps */
#define UNWIND_MAX_TABLES 4096
/* mapping.table = (generation << UNWIND_TABLE_BITS) | index: the generation tells a reused index
 * apart in the row cache */
#define UNWIND_TABLE_BITS 12
#define UNWIND_TABLE_INDEX(t) ((t) & (UNWIND_MAX_TABLES - 1))
/* mapping.table values that are not tables */
#define UNWIND_TABLE_FP 0xffffffffu      /* no CFI by design (JIT, anonymous code): frame pointers, not a loss */
#define UNWIND_TABLE_PENDING 0xfffffffeu /* table not loaded (yet, or not loadable): frame pointers, counted as "no table" */

struct unwind_mapping {
	__u64 start;    /* runtime address range [start, end) */
	__u64 end;
	__u64 bias;     /* ELF virtual address = runtime address - bias */
	__u32 table;    /* generation and index in unwind_tables, or UNWIND_TABLE_FP / UNWIND_TABLE_PENDING */
	__u32 rows;     /* rows in that table */
};

/* value of unwind_procs (key: tgid) */
struct unwind_proc {
	__u32 n;        /* mappings used */
	__u32 pad;
	struct unwind_mapping m[UNWIND_MAX_MAPPINGS];
};

/* flags of a walked user stack */
#define USTACK_TRUNCATED 1u     /* the depth limit was reached: the root part is missing */
#define USTACK_NO_TABLE 2u      /* some frames were walked by frame pointers for lack of a table */
#define USTACK_UNSUPPORTED 4u   /* ended at a pc without a usable rule */
#define USTACK_FAULT 8u         /* ended on a read fault */
#define USTACK_NO_RULE 16u      /* some frames had no rule in their table (no FDE): walked by frame pointers */
#define USTACK_COMPLETE 32u     /* ended at an outermost-frame (STOP) row */

/* key of the ustacks map (full-content key: two different stacks never share an id); value: __u32 id */
struct ustack_key {
	__u32 len;
	__u32 flags;
	__u64 pcs[MAX_STACK_DEPTH];
};

#endif
